"""pytest setup for the ssm_mlir package: import it from the build tree
(SSM_PYTHON_DIR, default build/python) and the float64 references from
test/lib. Run by utils/run-tests.sh; alone:

    /usr/bin/python3 -m pytest -q test/python
"""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYTHON_DIR = os.environ.get("SSM_PYTHON_DIR", os.path.join(ROOT, "build", "python"))
TOOLS_DIR = os.environ.get("SSM_TOOLS_DIR", os.path.join(ROOT, "build", "bin"))
sys.path.insert(0, os.path.join(ROOT, "test", "lib"))
sys.path.insert(0, PYTHON_DIR)
os.environ.setdefault("SSM_TOOLS_DIR", TOOLS_DIR)
# Every test compiles what it runs (the compile cache is off, whatever the
# shell says; test_compile_cache.py turns it on in a directory of its own).
os.environ["SSM_CACHE_DIR"] = "off"
# The JIT verifies the IR after every pass (docs/compile-time.md; users get
# one verification, at the end of the pipeline).
os.environ["SSM_VERIFY_PASSES"] = "1"


@pytest.fixture
def rng(request):
    """A generator seeded from the test's name: every case is reproducible
    and cases do not share draws."""
    import zlib

    import numpy as np
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))
