# The gtest unit tests (build/unittests/*Tests), one lit test per gtest case.
import os

import lit.formats

config.name = "SSM-Unit"
config.suffixes = []
config.test_exec_root = os.path.join(config.ssm_obj_root, "unittests")
config.test_source_root = config.test_exec_root
config.test_format = lit.formats.GoogleTest(config.llvm_build_mode, "Tests")
