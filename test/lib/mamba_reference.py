"""Mamba-1 and Mamba-2 language models for the tests: random weights,
checkpoints in Hugging Face layout (config.json + safetensors, written here
byte by byte), and an independent float64 implementation of the Hugging
Face slow path (semantics.md sections 4 and 5) built on ssm_reference's
scan, conv and Mamba-2 mixer.
"""
import json
import math
import os

import numpy as np

import ssm_reference as ref


class Config:
    """The model's sizes, as the runner must read them from config.json."""

    def __init__(self, d_model, n_layer, vocab, d_state=16, d_conv=4,
                 d_inner=None, dt_rank=None, eps=1e-5, use_bias=False,
                 use_conv_bias=True, tied=True, version=1, headdim=None, n_groups=1):
        self.D, self.layers, self.V = d_model, n_layer, vocab
        self.N, self.K = d_state, d_conv
        self.E = d_inner if d_inner is not None else 2 * d_model
        self.R = dt_rank if dt_rank is not None else math.ceil(d_model / 16)
        self.eps, self.use_bias, self.use_conv_bias = eps, use_bias, use_conv_bias
        self.tied = tied
        # Mamba-2: heads of `headdim` channels, n_groups groups of B and C
        # (and of the gated RMSNorm, as in mamba_ssm).
        self.version = version
        self.G = n_groups
        if version == 2:
            self.P = headdim
            self.H = self.E // headdim
            self.X = self.E + 2 * self.G * self.N  # conv channels: x, B, C

    def hf_json(self):
        """config.json as transformers' MambaConfig (Mamba2Config) writes it."""
        if self.version == 2:
            return {
                "model_type": "mamba2", "architectures": ["Mamba2ForCausalLM"],
                "hidden_size": self.D, "num_hidden_layers": self.layers,
                "vocab_size": self.V, "state_size": self.N, "conv_kernel": self.K,
                "expand": self.E // self.D, "num_heads": self.H, "head_dim": self.P,
                "n_groups": self.G, "layer_norm_epsilon": self.eps, "use_bias": False,
                "use_conv_bias": self.use_conv_bias, "tie_word_embeddings": self.tied,
                "rms_norm": True, "chunk_size": 256, "time_step_rank": self.R,
                "time_step_limit": [0.0, float("inf")],   # written as Infinity
            }
        return {
            "model_type": "mamba", "architectures": ["MambaForCausalLM"],
            "hidden_size": self.D, "num_hidden_layers": self.layers,
            "vocab_size": self.V, "state_size": self.N,
            "conv_kernel": self.K, "intermediate_size": self.E,
            "time_step_rank": self.R, "layer_norm_epsilon": self.eps,
            "use_bias": self.use_bias, "use_conv_bias": self.use_conv_bias,
            "tie_word_embeddings": self.tied, "expand": 2,
        }

    def mamba_ssm_json(self, pad_multiple=None):
        """config.json in mamba_ssm's spelling (d_model, n_layer, ...); the
        vocabulary may be given unpadded with pad_vocab_size_multiple."""
        if self.version == 2:
            c = {
                "d_model": self.D, "d_intermediate": 0, "n_layer": self.layers,
                "vocab_size": self.V, "attn_layer_idx": [], "attn_cfg": {},
                "ssm_cfg": {"layer": "Mamba2", "d_state": self.N, "d_conv": self.K,
                            "expand": self.E // self.D, "headdim": self.P,
                            "ngroups": self.G, "conv_bias": self.use_conv_bias},
                "rms_norm": True, "residual_in_fp32": True, "fused_add_norm": True,
                "tie_embeddings": self.tied,
            }
        else:
            c = {
                "d_model": self.D, "n_layer": self.layers, "vocab_size": self.V,
                "ssm_cfg": {"d_state": self.N, "d_conv": self.K},
                "d_state": self.N, "d_conv": self.K, "d_inner": self.E,
                "dt_rank": "auto" if self.R == math.ceil(self.D / 16) else self.R,
                "rms_norm": True, "residual_in_fp32": True,
                "tie_embeddings": self.tied, "conv_bias": self.use_conv_bias,
                "use_bias": self.use_bias,
            }
        if pad_multiple:
            # An unpadded vocabulary that rounds up to the embedding's rows.
            assert self.V % pad_multiple == 0 and pad_multiple > 3
            c["vocab_size"] = self.V - 3
            c["pad_vocab_size_multiple"] = pad_multiple
        return c


def random_weights(cfg, rng, embedding_name="backbone.embeddings.weight"):
    """Weights with Mamba's initial scales: steps dt in [1e-3, 1e-1] through
    dt_proj.bias, A_log = log(1..N), unit-ish norms."""
    D, E, N, K, R, V = cfg.D, cfg.E, cfg.N, cfg.K, cfg.R, cfg.V
    w = {embedding_name: rng.standard_normal((V, D)),
         "backbone.norm_f.weight": 1 + 0.1 * rng.standard_normal(D)}
    if not cfg.tied:
        w["lm_head.weight"] = rng.standard_normal((V, D)) / math.sqrt(D)
    for i in range(cfg.layers):
        p = "backbone.layers.%d." % i
        if cfg.version == 2:
            H, X = cfg.H, cfg.X
            dt = np.exp(rng.uniform(math.log(1e-3), math.log(1e-1), H))
            w[p + "norm.weight"] = 1 + 0.1 * rng.standard_normal(D)
            w[p + "mixer.in_proj.weight"] = (rng.standard_normal((E + X + H, D))
                                             / math.sqrt(D))
            w[p + "mixer.conv1d.weight"] = rng.standard_normal((X, 1, K)) / math.sqrt(K)
            if cfg.use_conv_bias:
                w[p + "mixer.conv1d.bias"] = 0.1 * rng.standard_normal(X)
            w[p + "mixer.dt_bias"] = dt + np.log(-np.expm1(-dt))
            w[p + "mixer.A_log"] = np.log(rng.uniform(1.0, 16.0, H))
            w[p + "mixer.D"] = 1 + 0.1 * rng.standard_normal(H)
            w[p + "mixer.norm.weight"] = 1 + 0.1 * rng.standard_normal(E)
            w[p + "mixer.out_proj.weight"] = rng.standard_normal((D, E)) / math.sqrt(E)
            continue
        dt = np.exp(rng.uniform(math.log(1e-3), math.log(1e-1), E))
        w[p + "norm.weight"] = 1 + 0.1 * rng.standard_normal(D)
        w[p + "mixer.in_proj.weight"] = rng.standard_normal((2 * E, D)) / math.sqrt(D)
        w[p + "mixer.conv1d.weight"] = rng.standard_normal((E, 1, K)) / math.sqrt(K)
        w[p + "mixer.x_proj.weight"] = rng.standard_normal((R + 2 * N, E)) / math.sqrt(E)
        w[p + "mixer.dt_proj.weight"] = rng.standard_normal((E, R)) / math.sqrt(R)
        w[p + "mixer.dt_proj.bias"] = dt + np.log(-np.expm1(-dt))
        w[p + "mixer.A_log"] = (np.log(np.arange(1, N + 1))[None, :]
                                + 0.1 * rng.standard_normal((E, N)))
        w[p + "mixer.D"] = 1 + 0.1 * rng.standard_normal(E)
        w[p + "mixer.out_proj.weight"] = rng.standard_normal((D, E)) / math.sqrt(E)
        if cfg.use_conv_bias:
            w[p + "mixer.conv1d.bias"] = 0.1 * rng.standard_normal(E)
        if cfg.use_bias:
            w[p + "mixer.in_proj.bias"] = 0.1 * rng.standard_normal(2 * E)
            w[p + "mixer.out_proj.bias"] = 0.1 * rng.standard_normal(D)
    return w


def encode(array, dtype):
    """The little-endian bytes of `array` stored as F32, F16 or BF16 (BF16
    rounded to nearest even from float32)."""
    a = np.ascontiguousarray(array, dtype=np.float32)
    if dtype == "F32":
        return a.astype("<f4").tobytes()
    if dtype == "F16":
        return a.astype("<f2").tobytes()
    bits = a.view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype("<u2").tobytes()


def stored(array, dtype):
    """The float64 value a reader gets back from encode(array, dtype)."""
    raw = encode(array, dtype)
    if dtype == "F32":
        return np.frombuffer(raw, "<f4").astype(np.float64).reshape(np.shape(array))
    if dtype == "F16":
        return np.frombuffer(raw, "<f2").astype(np.float64).reshape(np.shape(array))
    bits = np.frombuffer(raw, "<u2").astype(np.uint32) << 16
    return bits.view(np.float32).astype(np.float64).reshape(np.shape(array))


MATRIX_SUFFIXES = ("proj.weight", "embeddings.weight", "embedding.weight",
                   "lm_head.weight")


def quantize_rows(w):
    """(q, scale) of a float matrix as int8 rows and float32 row scales, by
    the definition (ssm.dequantize; Array.h's quantizeRows): scale =
    max |row| / 127 rounded to float32, q = row / scale rounded to nearest
    even, clamped to [-127, 127]."""
    w = np.asarray(w, dtype=np.float64)
    scale = (np.abs(w).max(axis=1) / 127).astype(np.float32)
    inv = np.divide(1.0, scale.astype(np.float64),
                    out=np.zeros(len(scale)), where=scale > 0)
    q = np.clip(np.rint(w * inv[:, None]), -127, 127).astype(np.int8)
    return q, scale


def quantized(weights):
    """The float64 weights a model with int8 matrices computes with: each
    matrix (MATRIX_SUFFIXES) as q * scale, the rest as they are."""
    out = {}
    for k, v in weights.items():
        if k.endswith(MATRIX_SUFFIXES):
            q, scale = quantize_rows(v)
            v = q.astype(np.float64) * scale.astype(np.float64)[:, None]
        out[k] = v
    return out


def safetensors_bytes(tensors, dtype="F32", metadata=None):
    """A safetensors image of {name: array}; the header is padded with
    spaces to a multiple of 8 bytes, as the reference writer does."""
    header, blobs, offset = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name in sorted(tensors):
        blob = encode(tensors[name], dtype)
        header[name] = {"dtype": dtype, "shape": list(np.shape(tensors[name])),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text + b"".join(blobs)


def write_checkpoint(directory, config_json, tensors, dtype="F32", shards=1):
    """Writes config.json and model.safetensors, or `shards` files
    model-0000i-of-0000n.safetensors with model.safetensors.index.json."""
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config_json, f)
    if shards == 1:
        with open(os.path.join(directory, "model.safetensors"), "wb") as f:
            f.write(safetensors_bytes(tensors, dtype, {"format": "pt"}))
        return
    names = sorted(tensors)
    weight_map = {}
    for s in range(shards):
        part = names[s::shards]
        fname = "model-%05d-of-%05d.safetensors" % (s + 1, shards)
        with open(os.path.join(directory, fname), "wb") as f:
            f.write(safetensors_bytes({n: tensors[n] for n in part}, dtype))
        weight_map.update({n: fname for n in part})
    with open(os.path.join(directory, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {}, "weight_map": weight_map}, f)


def rmsnorm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def lm_forward(cfg, w, tokens, conv_state=None, ssm_state=None):
    """The Hugging Face slow path in float64 on (b, L) tokens from the given
    states; returns logits (b, L, V), conv states (layers, b, E, K-1) and ssm
    states (layers, b, E, N); for Mamba-2 (layers, b, X, K-1) and
    (layers, b, H, P, N)."""
    tokens = np.asarray(tokens)
    b, L = tokens.shape
    emb = w.get("backbone.embeddings.weight", w.get("backbone.embedding.weight"))
    h = emb[tokens]                                          # (b, L, D)
    convs, ssms = [], []
    for i in range(cfg.layers):
        p = "backbone.layers.%d." % i
        x = rmsnorm(h, w[p + "norm.weight"], cfg.eps)
        if cfg.version == 2:
            mixer = {"in_proj": w[p + "mixer.in_proj.weight"],
                     "conv_weight": w[p + "mixer.conv1d.weight"][:, 0, :],
                     "conv_bias": w.get(p + "mixer.conv1d.bias"),
                     "dt_bias": w[p + "mixer.dt_bias"], "A_log": w[p + "mixer.A_log"],
                     "D": w[p + "mixer.D"], "norm_weight": w[p + "mixer.norm.weight"],
                     "out_proj": w[p + "mixer.out_proj.weight"]}
            out, conv_final, last = ref.mamba2_block(
                x, mixer, cfg.G, cfg.eps,
                None if conv_state is None else conv_state[i],
                None if ssm_state is None else ssm_state[i], norm_groups=cfg.G)
            h = h + out
            convs.append(conv_final)
            ssms.append(last)
            continue
        xz = x @ w[p + "mixer.in_proj.weight"].T
        if cfg.use_bias:
            xz = xz + w[p + "mixer.in_proj.bias"]
        xs = xz[..., :cfg.E].transpose(0, 2, 1)              # (b, E, L)
        z = xz[..., cfg.E:].transpose(0, 2, 1)
        xs, conv_final = ref.causal_conv1d(
            xs, w[p + "mixer.conv1d.weight"][:, 0, :],
            w.get(p + "mixer.conv1d.bias"), silu_act=True,
            conv_state=None if conv_state is None else conv_state[i])
        dbc = xs.transpose(0, 2, 1) @ w[p + "mixer.x_proj.weight"].T
        dt = dbc[..., :cfg.R]
        B = dbc[..., cfg.R:cfg.R + cfg.N].transpose(0, 2, 1)  # (b, N, L)
        C = dbc[..., cfg.R + cfg.N:].transpose(0, 2, 1)
        delta = (dt @ w[p + "mixer.dt_proj.weight"].T).transpose(0, 2, 1)
        A = -np.exp(w[p + "mixer.A_log"])
        y, last = ref.selective_scan(
            xs, delta, A, B, C, D=w[p + "mixer.D"], z=z,
            delta_bias=w[p + "mixer.dt_proj.bias"], delta_softplus=True,
            h0=None if ssm_state is None else ssm_state[i])
        out = y.transpose(0, 2, 1) @ w[p + "mixer.out_proj.weight"].T
        if cfg.use_bias:
            out = out + w[p + "mixer.out_proj.bias"]
        h = h + out
        convs.append(conv_final)
        ssms.append(last)
    h = rmsnorm(h, w["backbone.norm_f.weight"], cfg.eps)
    head = w["lm_head.weight"] if "lm_head.weight" in w else emb
    return h @ head.T, np.stack(convs), np.stack(ssms)
