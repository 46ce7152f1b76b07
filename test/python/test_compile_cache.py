"""The on-disk compile cache (docs/compile-cache.md) from Python: a second
MambaLM of the same checkpoint and options, and a second compile of the
same program, load the code the first stored, and compute the same values
bit for bit. conftest.py turns the cache off; these tests turn it on in a
directory of their own."""
import glob
import os

import numpy as np

import mamba_reference as mr
import ssm_mlir
from ssm_reference import linear_scan, max_rel_err
from ssm_testing import TOL

SCAN = """
func.func @scan(%a: tensor<?x?xf32>, %b: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %h = ssm.scan %a, %b dim = 1 : tensor<?x?xf32>, tensor<?x?xf32> -> tensor<?x?xf32>
  return %h : tensor<?x?xf32>
}
"""


def entries(directory):
    return sorted(glob.glob(os.path.join(directory, "llvmcache-ssm-*")))


def test_mamba_lm_from_the_cache(tmp_path, monkeypatch, rng):
    cfg = mr.Config(d_model=12, n_layer=2, vocab=37, d_state=5, d_inner=22)
    ckpt = str(tmp_path / "ckpt")
    mr.write_checkpoint(ckpt, cfg.hf_json(), mr.random_weights(cfg, rng), "BF16")
    cache = str(tmp_path / "cache")
    monkeypatch.setenv("SSM_CACHE_DIR", cache)
    tokens = rng.integers(0, cfg.V, (2, 9))
    runs = []
    for loaded in (0, 2):
        lm = ssm_mlir.MambaLM.from_pretrained(ckpt, threads=2)
        logits, state = lm.prefill(tokens)
        generated = lm.generate(tokens, 4)
        runs.append((logits, state.conv, state.ssm, generated))
        # Two programs (every position's logits, the last one's), compiled
        # and stored by the first model, loaded by the second.
        assert lm.programs_from_cache == loaded
        assert len(entries(cache)) == 2
    for first, second in zip(*runs):
        np.testing.assert_array_equal(first, second)
    # Another thread count compiles (and stores) its own; with the cache
    # off nothing is loaded or stored.
    lm = ssm_mlir.MambaLM.from_pretrained(ckpt, threads=1)
    lm.prefill(tokens)
    assert lm.programs_from_cache == 0 and len(entries(cache)) == 3
    monkeypatch.setenv("SSM_CACHE_DIR", "off")
    lm = ssm_mlir.MambaLM.from_pretrained(ckpt, threads=2)
    lm.prefill(tokens)
    assert lm.programs_from_cache == 0 and len(entries(cache)) == 3


def test_compile_from_the_cache(tmp_path, monkeypatch, rng):
    monkeypatch.setenv("SSM_CACHE_DIR", str(tmp_path))
    a = rng.uniform(0.5, 1.0, (5, 300)).astype(np.float32)
    b = rng.standard_normal((5, 300)).astype(np.float32)
    ssm_mlir.clear_cache()
    first = ssm_mlir.compile(SCAN, threads=1).scan(a, b)
    assert len(entries(tmp_path)) == 1
    ssm_mlir.clear_cache()  # the process's own cache: the disk's remains
    second = ssm_mlir.compile(SCAN, threads=1).scan(a, b)
    assert len(entries(tmp_path)) == 1
    np.testing.assert_array_equal(first, second)
    assert max_rel_err(second, linear_scan(a, b, dim=1)) <= TOL
