import os

import lit.formats
from lit.llvm import llvm_config

config.name = "SSM"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".py", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.ssm_obj_root, "test")
# test/python holds pytest's tests of the ssm_mlir package, which
# utils/run-tests.sh runs after lit.
config.excludes = ["Inputs", "lib", "python", "CMakeLists.txt", "lit.cfg.py",
                   "lit.site.cfg.py"]

llvm_config.with_system_environment(["HOME", "TMP", "TEMP"])
llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

config.ssm_tools_dir = os.path.join(config.ssm_obj_root, "bin")
llvm_config.add_tool_substitutions(["ssm-opt", "ssm-run"],
                                   [config.ssm_tools_dir])
config.substitutions.append(("%python", config.python_executable))
config.substitutions.append(("%ssm_run", os.path.join(config.ssm_tools_dir, "ssm-run")))

# Python tests import the float64 references from test/lib.
llvm_config.with_environment(
    "PYTHONPATH", os.path.join(config.test_source_root, "lib"), append_path=True)
llvm_config.with_environment("SSM_TOOLS_DIR", config.ssm_tools_dir)
# Every test compiles what it runs: the compile cache (docs/compile-cache.md)
# is off unless a test sets SSM_CACHE_DIR itself (Tools/ssm-run/compile-cache.test).
config.environment["SSM_CACHE_DIR"] = "off"
# The JIT verifies the IR after every pass of its pipeline, not only once at
# the end as it does for users (docs/compile-time.md): a pass that breaks the
# IR fails the test that made it do so, by name.
config.environment["SSM_VERIFY_PASSES"] = "1"

with open("/proc/cpuinfo") as f:
    if "avx512f" in f.read():
        config.available_features.add("avx512")

# GPU code generation is tested without a GPU: ptxas (from the CUDA toolkit)
# checks the PTX, and the CUDA runtime is built against the toolkit's stub
# libcuda. The GPU execution tests need `cuda-gpu`: a driver that finds a
# device, asked through the runtime itself.
if config.cuda_root:
    ptxas = os.path.join(config.cuda_root, "bin", "ptxas")
    if os.path.exists(ptxas):
        config.available_features.add("ptxas")
        config.substitutions.append(("%ptxas", ptxas))
        config.substitutions.append(("%cuda_root", config.cuda_root))
    runtime = os.path.join(config.ssm_obj_root, "lib", "libssm_cuda_runtime.so")
    if os.path.exists(runtime):
        config.available_features.add("cuda-runtime")
        config.substitutions.append(("%cuda_runtime", runtime))
        config.substitutions.append(
            ("%cuda_stubs", os.path.join(config.cuda_root, "lib64", "stubs")))
        import ctypes
        try:
            lib = ctypes.CDLL(runtime)
            message = ctypes.create_string_buffer(256)
            if lib.ssmCudaInit(message, ctypes.c_size_t(256)) == 0:
                config.available_features.add("cuda-gpu")
                # The CPU integration tests' scan and conv cases then also
                # run with --target nvptx (test/lib/ssm_testing.py).
                llvm_config.with_environment("SSM_TEST_NVPTX", "1")
        except OSError:
            pass  # no libcuda.so.1: no driver, no GPU
