"""Mamba language models from checkpoints in Hugging Face layout."""
import os

import numpy as np

from . import _cache, _ssm_mlir


class MambaState:
    """The recurrent state of every layer for a batch of sequences:
    conv (layers, batch, d_inner, d_conv - 1), the last inputs of each
    convolution, and ssm (layers, batch, d_inner, d_state), float32.
    MambaLM.prefill and MambaLM.step advance it in place; copy() branches."""

    def __init__(self, conv, ssm):
        self.conv = np.ascontiguousarray(conv, dtype=np.float32)
        self.ssm = np.ascontiguousarray(ssm, dtype=np.float32)

    @property
    def batch(self):
        return self.conv.shape[1]

    def copy(self):
        return MambaState(self.conv.copy(), self.ssm.copy())

    def __repr__(self):
        return "<ssm_mlir.MambaState conv%s ssm%s>" % (self.conv.shape,
                                                      self.ssm.shape)


def _tokens(tokens, what="tokens"):
    """(a (batch, length) integer array, whether the input was 1-D)."""
    t = np.asarray(tokens)
    if t.dtype.kind not in "iu":
        raise TypeError("%s must be integer token ids, got dtype %s"
                        % (what, t.dtype))
    if t.ndim == 1:
        return t[None, :], True
    if t.ndim == 2:
        return t, False
    raise ValueError("%s must be (length,) or (batch, length), got shape %s"
                     % (what, t.shape))


def _prompt_list(tokens):
    """A list or tuple of prompts (1-D integer sequences, whose lengths may
    differ) as a list of int64 arrays, or None when `tokens` is not one."""
    if not isinstance(tokens, (list, tuple)) or not tokens or not all(
            isinstance(p, (list, tuple, np.ndarray)) for p in tokens):
        return None
    out = []
    for i, p in enumerate(tokens):
        a = np.asarray(p)
        if a.ndim != 1 or a.size == 0:
            raise ValueError("prompt %d must be a non-empty (length,) sequence "
                             "of token ids, got shape %s" % (i, a.shape))
        if a.dtype.kind not in "iu":
            raise TypeError("prompt %d must be integer token ids, got dtype %s"
                            % (i, a.dtype))
        out.append(a.astype(np.int64))
    return out


def _ragged(tokens):
    """The prompts of `tokens` when it is a list of prompts of different
    lengths, else None (it is then an array of tokens)."""
    prompts = _prompt_list(tokens)
    if prompts is None or len({len(p) for p in prompts}) == 1:
        return None
    return prompts


def _stop_tokens(stop_tokens, config):
    """`stop_tokens` (None, an id, ids or "eos": config.json's
    eos_token_id) as a list of ints."""
    if stop_tokens is None:
        return []
    if isinstance(stop_tokens, str) and stop_tokens == "eos":
        if not config["eos_token_ids"]:
            raise ValueError('stop_tokens="eos": the checkpoint\'s config.json '
                             "has no eos_token_id")
        return list(config["eos_token_ids"])
    ids = np.atleast_1d(np.asarray(stop_tokens))
    if ids.ndim != 1 or (ids.size and ids.dtype.kind not in "iu"):
        raise ValueError('stop_tokens must be a token id, a sequence of them '
                         'or "eos", got %r' % (stop_tokens,))
    return [int(t) for t in ids]


class MambaLM:
    """A Mamba-1 or Mamba-2 language model compiled through the ssm dialect
    (the same program as `ssm-run model`). Weights stay in the checkpoint's
    memory map where they can; F16 and BF16 projection matrices stay 16-bit
    on the CPU.

        lm = MambaLM.from_pretrained("state-spaces/mamba-130m-hf")  # a dir
        logits = lm.forward([1, 2, 3])            # (3, vocab)
        logits, state = lm.prefill([1, 2, 3])     # and the state after it
        logits, state = lm.step(7, state)         # one token, (vocab,)
        lm.generate([1, 2, 3], 10)                # prompt + 10 greedy tokens
        lm.generate([[1, 2, 3], [4, 5]], 10, stop_tokens=0)   # a list back
        lm.score([1, 2, 3])                       # log p of tokens 2 and 3

    Token arrays are (length,) for one sequence or (batch, length); logits
    follow: (length, vocab) or (batch, length, vocab), float32. prefill and
    generate also take a list of prompts of different lengths."""

    def __init__(self, core, path):
        self._core = core
        self.path = path
        self.config = dict(core.config)
        self._tokenizer = None

    @property
    def tokenizer(self):
        """The checkpoint's tokenizer (ssm_mlir.Tokenizer of its
        tokenizer.json), loaded on first use:
        lm.tokenizer.decode(lm.generate(lm.tokenizer.encode("Mamba is"), 20))."""
        if self._tokenizer is None:
            from .tokenizer import Tokenizer
            self._tokenizer = Tokenizer.from_pretrained(self.path)
        return self._tokenizer

    @classmethod
    def from_pretrained(cls, path, target="cpu", threads=None,
                        reference=False, gpu=None, weights="stored"):
        """Loads a directory with config.json and model.safetensors (or a
        sharded index), as transformers' MambaForCausalLM and mamba_ssm
        save it. A malformed or mismatched file raises ssm_mlir.Error naming
        the file and tensor. A program is compiled per batch size on first
        use. gpu: the GPU kernels' options (ssm_mlir.compile). weights:
        "stored" keeps a checkpoint's F16 or BF16 matrices (embedding, LM
        head, projections) 16-bit on the CPU, widened where they are read
        (half the bytes a decoding step reads); "float32" converts them
        when loading. The results are the same but for the order of sums.
        "int8" quantizes every matrix when loading to int8 rows with one
        scale per row (ssm_mlir.quantize_rows; a quarter of float32's
        bytes): the results are the model's with those weights."""
        path = os.fspath(path)
        _, opts = _cache.jit_options(target, threads, reference, gpu=gpu)
        return cls(_ssm_mlir.MambaLM.load(path, opts, weights), path)

    @property
    def vocab_size(self):
        return self.config["vocab_size"]

    @property
    def matrix_dtype(self):
        """What the model keeps its matrices in: "float32", "bfloat16",
        "float16" (a 16-bit checkpoint's, weights="stored") or "int8"
        (weights="int8", with a scale per row)."""
        return self._core.matrix_dtype

    @property
    def programs_from_cache(self):
        """How many of the model's programs so far (one per batch size and
        logits kind) were loaded from the on-disk compile cache rather than
        compiled (docs/compile-cache.md)."""
        return self._core.programs_from_cache

    @property
    def weight_bytes(self):
        """The bytes of the weights the model holds (a tied head once)."""
        return self._core.weight_bytes

    def initial_state(self, batch=1):
        """Zeros: the state before the first token."""
        conv, ssm = self._core.initial_state(batch)
        return MambaState(conv, ssm)

    def _run(self, tokens, state, last_only=False):
        logits, conv, ssm = self._core.forward(tokens, state.conv, state.ssm,
                                               last_only)
        state.conv, state.ssm = conv, ssm
        return logits

    def forward(self, tokens):
        """Logits of `tokens` from the initial state."""
        t, one = _tokens(tokens)
        logits = self._run(t, self.initial_state(t.shape[0]))
        return logits[0] if one else logits

    def prefill(self, tokens, state=None, last_only=False):
        """Runs `tokens` from `state` (None: the initial state) and returns
        (logits, state): the given state object advanced in place, or a new
        one. A prefill continued from the state of an earlier one equals
        the prefill of the concatenated prompt (chunked prefill). With
        last_only, the logits of the last position only, (1, vocab) or
        (batch, 1, vocab): the final norm and the LM head skip the others
        (a separate program, compiled on first use). A list of prompts of
        different lengths needs last_only: each prompt is run from its
        sequence's part of the state, and the logits are those of each
        one's last token, (batch, 1, vocab)."""
        prompts = _ragged(tokens)
        if prompts is not None:
            if not last_only:
                raise ValueError(
                    "prompts of different lengths have no (batch, length, "
                    "vocab) logits: pass last_only=True, or prefill them one "
                    "by one")
            return self._prefill_prompts(prompts, state)
        t, one = _tokens(tokens)
        if state is None:
            state = self.initial_state(t.shape[0])
        logits = self._run(t, state, last_only)
        return (logits[0] if one else logits), state

    def score(self, tokens, state=None, chunk=None):
        """The log-probability the model gives each token after the ones
        before it, float64: (length - 1,) for one sequence, (batch, length
        - 1) for a 2-D array, a list of them for a list of prompts (whose
        lengths may differ). Entry t is log p(tokens[t + 1] | tokens[:t +
        1]); the mean of the negatives is the sequence's cross-entropy,
        its exp the perplexity. With `state` (not for a list), the tokens
        continue from it and it is advanced in place past them. The logits
        are computed `chunk` positions at a time (None: as many as make
        24 MB of logits), so memory stays at batch x chunk x vocab floats
        however long the sequence."""
        if chunk is not None and (isinstance(chunk, bool) or not isinstance(
                chunk, (int, np.integer)) or chunk < 1):
            raise ValueError("chunk must be a positive integer or None, got %r"
                             % (chunk,))
        prompts = _prompt_list(tokens)
        if prompts is not None:
            if state is not None:
                raise ValueError("score takes a state for an array of tokens, "
                                 "not for a list of prompts")
            return [self.score(p, chunk=chunk) for p in prompts]
        t, one = _tokens(tokens)
        if state is None:
            state = self.initial_state(t.shape[0])
        # MambaLM::score's chunk 0: its default.
        out, state.conv, state.ssm = self._core.score(
            t, state.conv, state.ssm, 0 if chunk is None else int(chunk))
        return out[0] if one else out

    def _prefill_prompts(self, prompts, state):
        """(the last position's logits (batch, 1, vocab), state) after each
        prompt of the list `prompts`, from `state` (None: zeros)."""
        if state is None:
            state = self.initial_state(len(prompts))
        logits, state.conv, state.ssm = self._core.prefill_prompts(
            [p.tolist() for p in prompts], state.conv, state.ssm)
        return logits, state

    def step(self, tokens, state):
        """One decoding step: `tokens` is one id (a single sequence) or
        (batch,) ids. Returns (logits, state) with logits (vocab,) or
        (batch, vocab) and `state` advanced in place."""
        t = np.asarray(tokens)
        if t.ndim > 1:
            raise ValueError("step takes one token per sequence: an id or a "
                             "(batch,) array, got shape %s" % (t.shape,))
        single = t.ndim == 0
        logits, _ = self.prefill(t.reshape(-1, 1), state)
        return (logits[0, 0] if single else logits[:, 0]), state

    def generate(self, tokens, n, state=None, temperature=0.0, top_k=0,
                 top_p=1.0, seed=0, stop_tokens=None, callback=None):
        """The prompts followed by up to `n` generated tokens, int64, in the
        form the prompts came: (length + n,) for one prompt, (batch, length
        + n) for a 2-D array, and a list of 1-D arrays for a list of
        prompts (their lengths may differ). Each token is the argmax of the
        logits before it (greedy, temperature 0), or with temperature > 0 a
        draw from softmax(logits / temperature) restricted to the top_k
        most probable tokens (0: all) and to the smallest set of the most
        probable whose probabilities reach top_p (1: all), from a generator
        seeded by `seed` (the same tokens for the same seed on every
        platform; docs/models.md, "Sampling"). A sequence ends at the first
        of `stop_tokens` it generates (an id, ids, or "eos" for the
        checkpoint's eos_token_id, config["eos_token_ids"]), which it keeps;
        in a 2-D result a sequence that ended earlier than others repeats
        its stop token. With `state`, the prompts continue from it; each
        sequence's state is left after its prompt and all but its last new
        token (feed that token to step() to go on; for a sequence that
        stopped, its stop token). `callback`, when given, is called with
        each step's new tokens as they are picked, a (batch,) int64 array (a
        sequence that ended repeats its stop token), to stream them; when
        it returns True, generation ends after that step, as if n ended
        there. An exception in it ends generation and propagates."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError("n must be a non-negative integer, got %r" % (n,))
        if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)):
            raise ValueError("top_k must be an integer >= 0, got %r" % (top_k,))
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) \
                or not 0 <= seed < 2**64:
            raise ValueError("seed must be an integer in [0, 2**64), got %r" % (seed,))
        if temperature == 0 and (top_k != 0 or top_p != 1.0 or seed != 0):
            raise ValueError("top_k, top_p and seed apply to sampling: give a "
                             "temperature above 0 with them (without it decoding "
                             "is greedy)")
        stops = _stop_tokens(stop_tokens, self.config)
        # A list of prompts gives a list back, whatever their lengths.
        prompts = _prompt_list(tokens)
        if prompts is None:
            t, one = _tokens(tokens)
            t = t.astype(np.int64)
        if n == 0:
            if prompts is not None:
                return [p.copy() for p in prompts]
            return t[0].copy() if one else t.copy()
        # The prompt's last logits are all that decoding reads.
        if prompts is not None:
            logits, state = self._prefill_prompts(prompts, state)
        else:
            logits, state = self.prefill(t, state, last_only=True)
        new, lengths, conv, ssm = self._core.decode(
            logits, int(n), state.conv, state.ssm, float(temperature),
            int(top_k), float(top_p), int(seed), stops, callback)
        state.conv, state.ssm = conv, ssm
        if prompts is not None:
            return [np.concatenate([p, new[b, :lengths[b]]])
                    for b, p in enumerate(prompts)]
        if one:
            return np.concatenate([t[0], new[0, :lengths[0]]])
        return np.concatenate([t, new], axis=1)

    def __repr__(self):
        c = self.config
        return ("<ssm_mlir.MambaLM %s: %d layers, d_model %d, vocab %d>"
                % (self.path, c["n_layer"], c["d_model"], c["vocab_size"]))
