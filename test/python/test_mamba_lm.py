"""ssm_mlir.MambaLM on checkpoints written here (random weights) against
the float64 Hugging Face slow path (test/lib/mamba_reference.py) and
against `ssm-run model` on the same checkpoint: logits, states, chunked
prefill, decoding steps, generation, batches and errors."""
import os
import subprocess
import sys

import numpy as np
import pytest

import mamba_reference as mr
import ssm_mlir
from ssm_reference import max_rel_err
from ssm_testing import TOL

SSM_RUN = os.path.join(os.environ["SSM_TOOLS_DIR"], "ssm-run")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """(directory, config, float64 weights): odd sizes, untied head, biases."""
    cfg = mr.Config(d_model=12, n_layer=2, vocab=37, d_state=5, d_inner=22,
                    use_bias=True, tied=False)
    w = mr.random_weights(cfg, np.random.default_rng(11))
    d = str(tmp_path_factory.mktemp("mamba-ckpt"))
    mr.write_checkpoint(d, cfg.hf_json(), w, "F32")
    return d, cfg, {k: mr.stored(v, "F32") for k, v in w.items()}


@pytest.fixture(scope="module")
def lm(checkpoint):
    return ssm_mlir.MambaLM.from_pretrained(checkpoint[0])


def test_config(lm, checkpoint):
    cfg = checkpoint[1]
    assert lm.config["d_model"] == cfg.D and lm.config["n_layer"] == cfg.layers
    assert lm.vocab_size == cfg.V and lm.config["d_inner"] == cfg.E
    assert lm.config["tie_embeddings"] is False


@pytest.mark.parametrize("shape", [(1, 1), (1, 23), (3, 9)])
def test_forward_matches_float64(lm, checkpoint, shape, rng):
    _, cfg, w = checkpoint
    tokens = rng.integers(0, cfg.V, shape)
    ref, _, _ = mr.lm_forward(cfg, w, tokens)
    logits = lm.forward(tokens)
    assert logits.shape == shape + (cfg.V,) and logits.dtype == np.float32
    assert max_rel_err(logits, ref) <= TOL
    # One sequence as a 1-D array: (length, vocab).
    one = lm.forward(tokens[0].tolist())
    assert one.shape == (shape[1], cfg.V)
    assert max_rel_err(one, ref[0]) <= TOL


@pytest.mark.parametrize("shape", [(1, 1), (2, 17)])
def test_prefill_last_logits(lm, checkpoint, shape, rng):
    """last_only (generation's prefill): the last position's logits and the
    same states as a full prefill, against float64."""
    _, cfg, w = checkpoint
    tokens = rng.integers(0, cfg.V, shape)
    ref, ref_conv, ref_ssm = mr.lm_forward(cfg, w, tokens)
    logits, state = lm.prefill(tokens, last_only=True)
    assert logits.shape == (shape[0], 1, cfg.V)
    assert max_rel_err(logits, ref[:, -1:]) <= TOL
    assert max_rel_err(state.conv, ref_conv) <= TOL
    assert max_rel_err(state.ssm, ref_ssm) <= TOL
    one, _ = lm.prefill(tokens[0], last_only=True)
    assert one.shape == (1, cfg.V) and max_rel_err(one, ref[0, -1:]) <= TOL


def test_prefill_states_and_chunks(lm, checkpoint, rng):
    _, cfg, w = checkpoint
    tokens = rng.integers(0, cfg.V, (2, 14))
    ref, ref_conv, ref_ssm = mr.lm_forward(cfg, w, tokens)
    logits, state = lm.prefill(tokens)
    assert max_rel_err(logits, ref) <= TOL
    assert state.conv.shape == (cfg.layers, 2, cfg.E, cfg.K - 1)
    assert max_rel_err(state.conv, ref_conv) <= TOL
    assert max_rel_err(state.ssm, ref_ssm) <= TOL
    # Chunked prefill (5 + 1 + 8 tokens) equals the whole prompt's.
    first, chunked = lm.prefill(tokens[:, :5])
    same, again = lm.prefill(tokens[:, 5:6], chunked)
    assert again is chunked
    rest, _ = lm.prefill(tokens[:, 6:], chunked)
    assert max_rel_err(np.concatenate([first, same, rest], axis=1), ref) <= TOL
    assert max_rel_err(chunked.ssm, ref_ssm) <= TOL


def test_steps_and_branching(lm, checkpoint, rng):
    _, cfg, w = checkpoint
    prompt = rng.integers(0, cfg.V, 6)
    more = rng.integers(0, cfg.V, 3)
    ref, _, _ = mr.lm_forward(cfg, w, np.concatenate([prompt, more])[None])
    _, state = lm.prefill(prompt)
    branch = state.copy()
    arrays = state.conv, state.ssm
    for i, t in enumerate(more):
        logits, state = lm.step(int(t), state)
        assert logits.shape == (cfg.V,)
        assert max_rel_err(logits, ref[0, 6 + i]) <= TOL
    # The steps advanced the state's own arrays: no copy per token.
    assert state.conv is arrays[0] and state.ssm is arrays[1]
    # The copy was not advanced: stepping it gives the first step again.
    logits, _ = lm.step(np.array([more[0]]), branch)
    assert logits.shape == (1, cfg.V)
    assert max_rel_err(logits[0], ref[0, 6]) <= TOL


def run_model(checkpoint_dir, tokens, tmp_path, generate=None):
    out = tmp_path / "logits.npy"
    args = [SSM_RUN, "model", "--checkpoint", checkpoint_dir, "--tokens",
            ",".join(map(str, tokens)), "--logits", str(out)]
    if generate:
        args += ["--generate", str(generate)]
    proc = subprocess.run(args, capture_output=True, text=True, check=True)
    generated = [line.split("=", 1)[1] for line in proc.stdout.splitlines()
                 if line.startswith("generated=")]
    return np.load(out), generated


def test_same_as_ssm_run_model(lm, checkpoint, tmp_path, rng):
    d, cfg, _ = checkpoint
    prompt = rng.integers(0, cfg.V, 7).tolist()
    cli_logits, cli_generated = run_model(d, prompt, tmp_path, generate=6)
    np.testing.assert_array_equal(lm.forward(prompt), cli_logits)
    out = lm.generate(prompt, 6)
    assert out.dtype == np.int64 and out.shape == (13,)
    assert out[:7].tolist() == prompt
    assert ",".join(map(str, out[7:])) == cli_generated[0]


def test_generate_batches_and_greedy_chain(lm, checkpoint, rng):
    _, cfg, w = checkpoint
    prompts = rng.integers(0, cfg.V, (2, 4))
    out = lm.generate(prompts, 3)
    assert out.shape == (2, 7)
    # Each new token is the argmax of the reference logits before it.
    for b in range(2):
        ref, _, _ = mr.lm_forward(cfg, w, out[b:b + 1, :6])
        assert out[b, 4:].tolist() == np.argmax(ref[0, 3:6], axis=-1).tolist()
    assert lm.generate(prompts, 0).tolist() == prompts.tolist()


def splitmix64(seed):
    """The runtime's generator (ssm/Runtime/Sampling.h), for the draws."""
    mask = 2**64 - 1
    state = seed
    while True:
        state = (state + 0x9E3779B97F4A7C15) & mask
        z = ((state ^ (state >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        yield z ^ (z >> 31)


def reference_draw(logits, temperature, top_k, top_p, u):
    """The sampler's contract in float64: the tempered softmax's weights,
    the top_k largest logits kept (ties by token), then the top_p nucleus
    of those (most probable first, ties by token), then the first token in
    token order whose running sum of weights exceeds u times their total."""
    weights = np.exp((logits.astype(np.float64) - logits.max()) / temperature)
    order = range(len(weights))
    if top_k:
        order = sorted(order, key=lambda v: (-logits[v], v))[:top_k]
    order = sorted(order, key=lambda v: (-weights[v], v))
    if top_p < 1:
        total = weights[order].sum()
        n = int(np.searchsorted(np.cumsum(weights[order]), top_p * total)) + 1
        order = order[:n]
    kept = sorted(order)
    cumulative = np.cumsum(weights[kept])
    return kept[int(np.searchsorted(cumulative, u * cumulative[-1], side="right"))]


@pytest.mark.parametrize("temperature,top_k,top_p", [
    (1.0, 0, 1.0), (0.7, 5, 1.0), (1.3, 0, 0.6), (2.0, 8, 0.9)])
def test_generate_sampling_matches_the_reference(lm, checkpoint, temperature, top_k,
                                                 top_p, rng):
    """Sampled generation of a batch: every token is the reference sampler's
    draw from the float64 model's logits with the runtime's generator,
    sequence by sequence within each step."""
    _, cfg, w = checkpoint
    prompts = rng.integers(0, cfg.V, (2, 3))
    out = lm.generate(prompts, 6, temperature=temperature, top_k=top_k, top_p=top_p,
                      seed=1234)
    assert out.shape == (2, 9)
    assert out.tolist() == lm.generate(prompts, 6, temperature=temperature, top_k=top_k,
                                       top_p=top_p, seed=1234).tolist()
    draws = splitmix64(1234)
    refs = [mr.lm_forward(cfg, w, out[b:b + 1, :8])[0][0] for b in range(2)]
    for step in range(6):
        for b in range(2):
            u = (next(draws) >> 11) * 2.0**-53
            want = reference_draw(refs[b][2 + step], temperature, top_k, top_p, u)
            assert out[b, 3 + step] == want, (step, b)


def test_generate_sampling_options(lm, checkpoint, rng):
    _, cfg, _ = checkpoint
    prompt = rng.integers(0, cfg.V, 4)
    greedy = lm.generate(prompt, 5)
    assert lm.generate(prompt, 5, temperature=0.0).tolist() == greedy.tolist()
    # top_k = 1 is greedy at any temperature.
    assert lm.generate(prompt, 5, temperature=3.0, top_k=1, seed=9).tolist() == greedy.tolist()
    seeds = {tuple(lm.generate(prompt, 8, temperature=5.0, seed=s)) for s in range(4)}
    assert len(seeds) > 1
    with pytest.raises(ValueError, match="give a temperature above 0"):
        lm.generate(prompt, 2, top_k=3)
    with pytest.raises(ValueError, match=r"top-p must be in \(0, 1\]"):
        lm.generate(prompt, 2, temperature=1.0, top_p=0.0)
    with pytest.raises(ValueError, match="the temperature must be a finite number >= 0"):
        lm.generate(prompt, 2, temperature=-1.0)
    with pytest.raises(ValueError, match="seed must be an integer"):
        lm.generate(prompt, 2, temperature=1.0, seed=-1)


@pytest.fixture(scope="module")
def mamba2(tmp_path_factory):
    """(model, config, float64 weights) of a small Mamba-2 checkpoint: its
    ssm states are (layers, batch, heads, head_dim, d_state)."""
    cfg = mr.Config(d_model=8, n_layer=2, vocab=23, d_state=5, version=2,
                    headdim=4)
    w = mr.random_weights(cfg, np.random.default_rng(13))
    d = str(tmp_path_factory.mktemp("mamba2-ckpt"))
    mr.write_checkpoint(d, cfg.hf_json(), w, "F32")
    return (ssm_mlir.MambaLM.from_pretrained(d), cfg,
            {k: mr.stored(v, "F32") for k, v in w.items()})


@pytest.fixture(params=["mamba1", "mamba2"])
def model(request, lm, checkpoint):
    """(model, config, float64 weights) of each layer kind."""
    if request.param == "mamba1":
        return lm, checkpoint[1], checkpoint[2]
    return request.getfixturevalue("mamba2")


def test_prefill_prompts_of_different_lengths(model, rng):
    """A list of prompts of lengths 5, 1 and 9, each from its own part of a
    state that is not zeros: each sequence's last logits and states against
    float64."""
    lm, cfg, w = model
    _, conv0, ssm0 = mr.lm_forward(cfg, w, rng.integers(0, cfg.V, (3, 4)))
    state = ssm_mlir.MambaState(conv0, ssm0)
    prompts = [rng.integers(0, cfg.V, n) for n in (5, 1, 9)]
    logits, out = lm.prefill(prompts, state, last_only=True)
    assert out is state and logits.shape == (3, 1, cfg.V)
    for b, p in enumerate(prompts):
        ref, conv, ssm = mr.lm_forward(cfg, w, p[None], conv0[:, b:b + 1],
                                       ssm0[:, b:b + 1])
        assert max_rel_err(logits[b], ref[0, -1:]) <= TOL
        assert max_rel_err(state.conv[:, b:b + 1], conv) <= TOL
        assert max_rel_err(state.ssm[:, b:b + 1], ssm) <= TOL
    # Prompts of one length given as a list are an array of tokens.
    same, _ = lm.prefill([p[:1].tolist() for p in prompts])
    assert same.shape == (3, 1, cfg.V)
    with pytest.raises(ValueError, match="pass last_only=True"):
        lm.prefill(prompts)


def test_generate_prompts_of_different_lengths(model, rng):
    """A list of prompts gives a list back: each prompt and its greedy chain,
    each token the argmax of float64 logits before it."""
    lm, cfg, w = model
    prompts = [rng.integers(0, cfg.V, n) for n in (3, 7, 1, 2)]
    out = lm.generate(prompts, 4)
    assert isinstance(out, list) and [len(o) for o in out] == [7, 11, 5, 6]
    for p, o in zip(prompts, out):
        assert o.dtype == np.int64 and o[:len(p)].tolist() == p.tolist()
        ref, _, _ = mr.lm_forward(cfg, w, o[None, :-1])
        assert o[len(p):].tolist() == np.argmax(ref[0, len(p) - 1:], -1).tolist()
    # A list of prompts of one length also gives a list.
    same = lm.generate([p[:1] for p in prompts], 2)
    assert isinstance(same, list) and [len(o) for o in same] == [3] * 4
    assert [o.tolist() for o in lm.generate(prompts, 0)] == [p.tolist() for p in prompts]


def stop_within(tokens, other):
    """(k, token): a token of `tokens` at 0 < k < len - 1 that neither comes
    earlier in `tokens` nor anywhere in `other` (a stop token that ends
    `tokens` at k, and only it), or None."""
    for k in range(1, len(tokens) - 1):
        t = int(tokens[k])
        if t not in tokens[:k] and t not in other:
            return k, t
    return None


def test_generate_stop_tokens(model, rng):
    """Two sequences, one of which picks a stop token that the other never
    does: the first ends at it (and repeats it in a 2-D result), the other
    runs its 8 steps; each sequence's state is after all but its last token
    (for the first, before its stop token), against float64."""
    lm, cfg, w = model
    for _ in range(50):
        prompts = rng.integers(0, cfg.V, (2, 5))
        free = lm.generate(prompts, 8)[:, 5:]
        pick = stop_within(free[0], free[1])
        if pick:
            break
    else:
        pytest.fail("no prompts whose chains differ enough to test stop tokens")
    k, stop = pick
    state = lm.initial_state(2)
    out = lm.generate(prompts, 8, state=state, stop_tokens=stop)
    assert out.shape == (2, 13)
    assert out[0, 5:].tolist() == free[0, :k + 1].tolist() + [stop] * (7 - k)
    assert out[1, 5:].tolist() == free[1].tolist()
    for b, fed in ((0, free[0, :k]), (1, free[1, :7])):
        _, conv, ssm = mr.lm_forward(cfg, w, np.concatenate([prompts[b], fed])[None])
        assert max_rel_err(state.conv[:, b:b + 1], conv) <= TOL
        assert max_rel_err(state.ssm[:, b:b + 1], ssm) <= TOL
    # As a list, each sequence as long as it ran; one prompt, a 1-D array.
    # (With a second stop token that neither chain picks.)
    unused = min(set(range(cfg.V)) - set(free.ravel().tolist()))
    listed = lm.generate(list(prompts), 8, stop_tokens=[unused, stop])
    assert [o[5:].tolist() for o in listed] == [free[0, :k + 1].tolist(),
                                               free[1].tolist()]
    assert lm.generate(prompts[0], 8, stop_tokens=stop)[5:].tolist() == \
        free[0, :k + 1].tolist()
    # Every sequence stopping at its first token: no decoding call, the
    # state after the prompts.
    state = lm.initial_state(2)
    out = lm.generate(prompts, 8, state=state, stop_tokens=free[:, 0])
    assert out.shape == (2, 6) and out[:, 5].tolist() == free[:, 0].tolist()
    _, conv, ssm = mr.lm_forward(cfg, w, prompts)
    assert max_rel_err(state.conv, conv) <= TOL and max_rel_err(state.ssm, ssm) <= TOL


def log_softmax_at(logits, targets):
    """float64 log softmax of (..., V) logits at (...) targets."""
    m = logits.max(axis=-1, keepdims=True)
    lse = m[..., 0] + np.log(np.exp(logits - m).sum(axis=-1))
    return np.take_along_axis(logits, targets[..., None], -1)[..., 0] - lse


@pytest.mark.parametrize("chunk", [5, None])
def test_score_matches_float64(model, chunk, rng):
    """Each token's log-probability after the ones before it, against the
    float64 model's logits, in chunks of 5 positions (23 = 4 x 5 + 3) or
    one; the state after the last token; a list of prompts of different
    lengths, one of a single token (nothing to score)."""
    lm, cfg, w = model
    tokens = rng.integers(0, cfg.V, (2, 23))
    ref, conv, ssm = mr.lm_forward(cfg, w, tokens)
    state = lm.initial_state(2)
    got = lm.score(tokens, state, chunk=chunk)
    assert got.shape == (2, 22) and got.dtype == np.float64
    assert max_rel_err(got, log_softmax_at(ref[:, :-1], tokens[:, 1:])) <= TOL
    assert max_rel_err(state.conv, conv) <= TOL and max_rel_err(state.ssm, ssm) <= TOL
    prompts = [rng.integers(0, cfg.V, n) for n in (7, 1, 12)]
    scores = lm.score(prompts, chunk=chunk)
    assert [s.shape for s in scores] == [(6,), (0,), (11,)]
    for p, s in zip(prompts, scores):
        r, _, _ = mr.lm_forward(cfg, w, p[None])
        if len(p) > 1:
            assert max_rel_err(s, log_softmax_at(r[0, :-1], p[1:])) <= TOL


def test_score_same_as_ssm_run(lm, checkpoint, tmp_path, rng):
    d, cfg, _ = checkpoint
    tokens = rng.integers(0, cfg.V, 300)
    out = tmp_path / "logprobs.npy"
    proc = subprocess.run([SSM_RUN, "model", "--checkpoint", d, "--tokens",
                           ",".join(map(str, tokens)), "--score", "--logprobs",
                           str(out)], capture_output=True, text=True, check=True)
    cli = np.load(out)
    got = lm.score(tokens)
    np.testing.assert_array_equal(cli, got)
    line = [l for l in proc.stdout.splitlines() if l.startswith("log_prob=")]
    fields = dict(f.split("=") for f in line[0].split())
    assert int(fields["tokens"]) == 299
    assert abs(float(fields["log_prob"]) - got.sum()) <= 1e-6 * abs(got.sum())
    assert abs(float(fields["perplexity"]) - np.exp(-got.mean())) <= \
        1e-5 * np.exp(-got.mean())


def test_generate_callback(lm, checkpoint, rng):
    """The callback sees each step's tokens as they are picked; returning
    True ends generation after that step, the state after all but the last
    token (against float64); an exception ends it and propagates."""
    _, cfg, w = checkpoint
    prompts = rng.integers(0, cfg.V, (2, 4))
    seen = []
    out = lm.generate(prompts, 6, callback=lambda t: seen.append(t.copy()))
    assert len(seen) == 6 and all(t.dtype == np.int64 and t.shape == (2,) for t in seen)
    assert np.stack(seen, axis=1).tolist() == out[:, 4:].tolist()

    state = lm.initial_state(2)
    seen = []
    out = lm.generate(prompts, 6, state=state,
                      callback=lambda t: seen.append(t) or len(seen) == 3)
    assert out.shape == (2, 7) and len(seen) == 3
    _, conv, ssm = mr.lm_forward(cfg, w, out[:, :-1])
    assert max_rel_err(state.conv, conv) <= TOL and max_rel_err(state.ssm, ssm) <= TOL

    def fail(tokens):
        raise KeyError("from the callback")
    with pytest.raises(KeyError, match="from the callback"):
        lm.generate(prompts[0], 6, callback=fail)
    # The model is still usable.
    assert lm.generate(prompts[0], 2).shape == (6,)


@pytest.mark.parametrize("setting, warns", [("0", False), ("64", False),
                                             ("lots", True), ("-1", True)])
def test_buffer_cache_setting(checkpoint, tmp_path, setting, warns):
    """SSM_BUFFER_CACHE_MB: 0 turns the programs' buffer cache off, a size
    bounds it; the logits are the same either way. A value that is not a
    number of megabytes is named on stderr and the default kept."""
    d, cfg, w = checkpoint
    out = tmp_path / "logits.npy"
    code = ("import numpy as np, ssm_mlir; lm = ssm_mlir.MambaLM.from_pretrained(%r); "
            "np.save(%r, lm.forward(np.arange(9000) %% %d))" % (d, str(out), cfg.V))
    # The child imports ssm_mlir from where this process did (conftest.py
    # puts the build tree on sys.path, not on PYTHONPATH).
    package = os.path.dirname(os.path.dirname(ssm_mlir.__file__))
    env = dict(os.environ, SSM_BUFFER_CACHE_MB=setting,
               PYTHONPATH=os.pathsep.join(
                   [package] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env)
    assert proc.returncode == 0, proc.stderr
    logits = np.load(out)
    # 9000 positions: the logits (1.3 MB) go through the cache.
    ref, _, _ = mr.lm_forward(cfg, w, (np.arange(9000) % cfg.V)[None])
    assert max_rel_err(logits, ref[0]) <= TOL
    warning = "SSM_BUFFER_CACHE_MB='%s' is not a number of megabytes" % setting
    assert (warning in proc.stderr) == warns


def test_stop_at_eos(checkpoint, tmp_path, rng):
    """stop_tokens="eos" stops at config.json's eos_token_id (an id or a
    list), as the same ids given do."""
    d, cfg, _ = checkpoint
    lm = ssm_mlir.MambaLM.from_pretrained(d)
    assert lm.config["eos_token_ids"] == []
    with pytest.raises(ValueError, match="config.json has no eos_token_id"):
        lm.generate([1, 2], 3, stop_tokens="eos")
    prompt = rng.integers(0, cfg.V, 4)
    free = lm.generate(prompt, 8)[4:]
    eos = [int(free[2]), (int(free[2]) + 1) % cfg.V]
    config = cfg.hf_json()
    config["eos_token_id"] = eos
    mr.write_checkpoint(str(tmp_path), config,
                        {k: np.asarray(v) for k, v in checkpoint[2].items()}, "F32")
    with_eos = ssm_mlir.MambaLM.from_pretrained(tmp_path)
    assert with_eos.config["eos_token_ids"] == eos
    out = with_eos.generate(prompt, 8, stop_tokens="eos")
    assert out.tolist() == with_eos.generate(prompt, 8, stop_tokens=eos).tolist()
    assert out[-1] in eos and len(out) <= 4 + 3


def test_errors(lm, checkpoint, tmp_path):
    _, cfg, _ = checkpoint
    with pytest.raises(ValueError, match=r"token 37 at \(0, 1\) is outside the vocabulary"):
        lm.forward([1, 37])
    with pytest.raises(TypeError, match="tokens must be integer token ids"):
        lm.forward([1.0, 2.0])
    with pytest.raises(ValueError, match=r"\(length,\) or \(batch, length\)"):
        lm.forward(np.zeros((1, 1, 2), np.int64))
    with pytest.raises(ValueError, match="at least one token"):
        lm.forward(np.zeros((1, 0), np.int64))
    state = lm.initial_state(2)
    with pytest.raises(ValueError, match=r"the conv state .*\(2, 1, 22, 3\)"):
        lm.prefill([[1, 2]], ssm_mlir.MambaState(state.conv, state.ssm[:, :1]))
    with pytest.raises(ValueError, match=r"step takes one token per sequence: .*\(2, 1\)"):
        lm.step(np.zeros((2, 1), np.int64), state)
    with pytest.raises(ValueError, match="n must be a non-negative integer"):
        lm.generate([1], -1)
    # Scores: the chunk, and a target past the vocabulary in a later chunk
    # (checked before the first call, the state left as it was).
    with pytest.raises(ValueError, match="chunk must be a positive integer or None"):
        lm.score([1, 2], chunk=0)
    kept = lm.initial_state(1)
    with pytest.raises(ValueError, match=r"token 37 at \(0, 2\) is outside the vocabulary"):
        lm.score([1, 2, 37], kept, chunk=2)
    assert not kept.conv.any() and not kept.ssm.any()
    with pytest.raises(ValueError, match="not for a list of prompts"):
        lm.score([[1, 2], [3]], state=kept)
    # Lists of prompts and stop tokens.
    with pytest.raises(ValueError, match=r"prompt 1 must be a non-empty \(length,\)"):
        lm.generate([[1, 2], []], 2)
    with pytest.raises(TypeError, match="prompt 0 must be integer token ids"):
        lm.generate([[1.5], [2, 3]], 2)
    with pytest.raises(ValueError, match=r"token 40 at \(1, 1\) is outside the vocabulary"):
        lm.generate([[1], [2, 40]], 2)
    with pytest.raises(ValueError, match=r"the conv state .*\(2, 3, 22, 3\)"):
        lm.prefill([[1], [2, 3], [4]], state, last_only=True)
    with pytest.raises(ValueError, match=r"stop token 37 is outside the vocabulary \[0, 37\)"):
        lm.generate([1, 2], 2, stop_tokens=[0, 37])
    with pytest.raises(ValueError, match='stop_tokens must be a token id, a sequence of them or "eos"'):
        lm.generate([1, 2], 2, stop_tokens=0.5)
    with pytest.raises(ssm_mlir.Error, match=r"missing.*config\.json"):
        ssm_mlir.MambaLM.from_pretrained(tmp_path / "missing")
    broken = tmp_path / "broken"
    mr.write_checkpoint(str(broken), cfg.hf_json(), {"backbone.norm_f.weight": np.ones(cfg.D)})
    with pytest.raises(ssm_mlir.Error, match=r"model\.safetensors.*backbone\.(embeddings|embedding)"):
        ssm_mlir.MambaLM.from_pretrained(broken)


@pytest.mark.parametrize("gpu", [None, {"scan": "channels", "channel_threads": 2},
                                 {"all_kernels": True}])
def test_gpu_emulator_target(checkpoint, gpu, rng):
    """The GPU target's program (scans and convs as kernels, here run by the
    GPU emulator; projections on the host's fast paths, or with all_kernels
    as kernels too): prefill and a decoding step against float64."""
    d, cfg, w = checkpoint
    lm = ssm_mlir.MambaLM.from_pretrained(d, target="gpu-emulator", gpu=gpu)
    tokens = rng.integers(0, cfg.V, (2, 11))
    ref, ref_conv, ref_ssm = mr.lm_forward(cfg, w, tokens)
    logits, state = lm.prefill(tokens[:, :10])
    assert max_rel_err(logits, ref[:, :10]) <= TOL
    logits, state = lm.step(tokens[:, 10], state)
    assert max_rel_err(logits, ref[:, 10]) <= TOL
    assert max_rel_err(state.conv, ref_conv) <= TOL
    assert max_rel_err(state.ssm, ref_ssm) <= TOL


@pytest.mark.parametrize("dtype", ["BF16", "F16"])
@pytest.mark.parametrize("weights", ["stored", "float32"])
def test_sixteen_bit_checkpoint(tmp_path, dtype, weights, rng):
    """A BF16 or F16 checkpoint, its matrices kept 16-bit (weights="stored")
    or widened when loading ("float32"): prefill (the packed projection
    kernel) and decoding steps (the decoding kernel; d_inner 70 is not a
    multiple of its 32-wide bf16 pairs) against float64 on the stored
    values."""
    cfg = mr.Config(d_model=40, n_layer=2, vocab=45, d_state=6, d_inner=70,
                    tied=True)
    w = mr.random_weights(cfg, np.random.default_rng(12))
    mr.write_checkpoint(str(tmp_path), cfg.hf_json(), w, dtype)
    w = {k: mr.stored(v, dtype) for k, v in w.items()}
    lm = ssm_mlir.MambaLM.from_pretrained(tmp_path, weights=weights)
    tokens = rng.integers(0, cfg.V, (2, 12))
    ref, ref_conv, ref_ssm = mr.lm_forward(cfg, w, tokens)
    logits, state = lm.prefill(tokens[:, :9])
    assert max_rel_err(logits, ref[:, :9]) <= TOL
    for t in range(9, 12):
        logits, state = lm.step(tokens[:, t], state)
        assert max_rel_err(logits, ref[:, t]) <= TOL
    assert max_rel_err(state.conv, ref_conv) <= TOL
    assert max_rel_err(state.ssm, ref_ssm) <= TOL


def test_sixteen_bit_weights_option(checkpoint):
    with pytest.raises(ValueError, match="weights must be 'stored', 'float32' "
                       "or 'int8', got 'half'"):
        ssm_mlir.MambaLM.from_pretrained(checkpoint[0], weights="half")


def test_quantize_rows(rng):
    """ssm_mlir.quantize_rows is the definition: the same q and scales as
    the reference's, |q * scale - w| <= scale / 2, a zero row's scale 0;
    a non-finite weight is an error naming the element."""
    w = rng.standard_normal((7, 45)) * rng.uniform(0.01, 3, (7, 1))
    w[3] = 0
    w = w.astype(np.float32)
    q, scale = ssm_mlir.quantize_rows(w)
    rq, rscale = mr.quantize_rows(w)
    assert q.dtype == np.int8 and scale.dtype == np.float32
    assert np.array_equal(q, rq) and np.array_equal(scale, rscale)
    assert np.all(np.abs(q) <= 127) and scale[3] == 0
    err = np.abs(q * scale.astype(np.float64)[:, None] - w)
    assert np.all(err <= scale[:, None] * (0.5 + 1e-6))
    assert np.array_equal(np.abs(q).max(axis=1)[scale > 0], [127] * 6)
    w[2, 5] = np.inf
    with pytest.raises(ValueError, match=r"element \(2, 5\) is inf"):
        ssm_mlir.quantize_rows(w)


@pytest.fixture(params=["mamba1", "mamba2", "tied-bf16"])
def int8_model(request, checkpoint, tmp_path_factory):
    """(directory, config, float64 weights as stored) of each layer kind:
    the untied Mamba-1 with biases, the Mamba-2, and a tied BF16 Mamba-1
    whose d_inner (70) is not a multiple of the vector width."""
    if request.param == "mamba1":
        return checkpoint
    if request.param == "mamba2":
        cfg = mr.Config(d_model=8, n_layer=2, vocab=23, d_state=5, version=2,
                        headdim=4)
        seed, dtype = 13, "F32"
    else:
        cfg = mr.Config(d_model=40, n_layer=2, vocab=45, d_state=6, d_inner=70,
                        tied=True)
        seed, dtype = 12, "BF16"
    w = mr.random_weights(cfg, np.random.default_rng(seed))
    d = str(tmp_path_factory.mktemp("int8-" + request.param))
    mr.write_checkpoint(d, cfg.hf_json(), w, dtype)
    return d, cfg, {k: mr.stored(v, dtype) for k, v in w.items()}


def test_int8_weights_match_float64(int8_model, rng):
    """weights="int8": every matrix quantized to int8 rows and row scales.
    Prefill of 2 x 40 rows (from 64 rows: the packed projection kernel),
    decoding steps of 2 rows and a 5-token sequence (the decoding kernel's
    blocks of several rows and of one) against float64 with the same
    quantized weights (mr.quantized); and the quantization is what makes
    them differ from the float model."""
    d, cfg, w = int8_model
    lm = ssm_mlir.MambaLM.from_pretrained(d, weights="int8")
    tokens = rng.integers(0, cfg.V, (2, 43))
    ref, ref_conv, ref_ssm = mr.lm_forward(cfg, mr.quantized(w), tokens)
    logits, state = lm.prefill(tokens[:, :40])
    assert max_rel_err(logits, ref[:, :40]) <= TOL
    for t in range(40, 43):
        logits, state = lm.step(tokens[:, t], state)
        assert max_rel_err(logits, ref[:, t]) <= TOL
    assert max_rel_err(state.conv, ref_conv) <= TOL
    assert max_rel_err(state.ssm, ref_ssm) <= TOL
    assert max_rel_err(lm.forward(tokens[0, :5]), ref[0, :5]) <= TOL
    unquantized, _, _ = mr.lm_forward(cfg, w, tokens)
    assert max_rel_err(ref, unquantized) > 100 * TOL
    # The matrices as int8 (a byte per weight and a float per row) and the
    # rest as float32: fewer bytes than the checkpoint's own matrices.
    stored = ssm_mlir.MambaLM.from_pretrained(d)
    assert lm.matrix_dtype == "int8" and stored.matrix_dtype != "int8"
    names = [k for k in w if k.endswith(mr.MATRIX_SUFFIXES)]
    others = sum(v.size for k, v in w.items() if k not in names)
    expected = sum(w[k].size + 4 * w[k].shape[0] for k in names) + 4 * others
    assert lm.weight_bytes == expected < stored.weight_bytes


def test_int8_same_as_ssm_run(int8_model, tmp_path, rng):
    """ssm-run model --weights int8 generates what MambaLM does, and says
    its matrices are int8."""
    d, cfg, _ = int8_model
    lm = ssm_mlir.MambaLM.from_pretrained(d, weights="int8")
    prompt = rng.integers(0, cfg.V, 6).tolist()
    tokens = ",".join(map(str, prompt))
    r = subprocess.run([SSM_RUN, "model", "--checkpoint", d, "--tokens",
                        tokens, "--generate", "8", "--weights", "int8"],
                       capture_output=True, text=True, check=True)
    assert "matrices int8 with one scale per row" in r.stdout
    line = [l for l in r.stdout.splitlines() if l.startswith("generated=")]
    assert line == ["generated=" + ",".join(
        map(str, lm.generate(prompt, 8)[len(prompt):]))]


@pytest.mark.parametrize("threads", [1, 3])
def test_score_wide_logits(checkpoint, threads, tmp_path, rng):
    """Logits spread over hundreds (the LM head scaled up: most exponentials
    of the log-softmax underflow float32, where the host clamps them) and
    the positions split over 1 or 3 threads (3 sequences x 8 positions in
    chunks of 5): the same log-probabilities as float64's."""
    _, cfg, w = checkpoint
    wide = dict(w)
    wide["lm_head.weight"] = w["lm_head.weight"] * 400.0
    d = str(tmp_path / "wide")
    mr.write_checkpoint(d, cfg.hf_json(), wide, "F32")
    lm = ssm_mlir.MambaLM.from_pretrained(d, threads=threads)
    tokens = rng.integers(0, cfg.V, (3, 9))
    ref, _, _ = mr.lm_forward(cfg, wide, tokens)
    spread = ref.max(axis=-1) - ref.min(axis=-1)
    assert spread.min() > 200, "the logits must reach expf's underflow"
    got = lm.score(tokens, chunk=5)
    assert max_rel_err(got, log_softmax_at(ref[:, :-1], tokens[:, 1:])) <= TOL
