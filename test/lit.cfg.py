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

with open("/proc/cpuinfo") as f:
    if "avx512f" in f.read():
        config.available_features.add("avx512")
