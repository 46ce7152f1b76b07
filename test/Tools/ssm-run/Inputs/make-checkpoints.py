"""Writes a good tiny Mamba checkpoint and one broken variant per error case
of model-errors.test into the directory given as argv[1]."""
import json
import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "lib"))
import mamba_reference as mr  # noqa: E402

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
cfg = mr.Config(d_model=8, n_layer=2, vocab=16, d_state=4)
weights = mr.random_weights(cfg, np.random.default_rng(3))


def write(name, config=None, tensors=None, image=None, shards=1):
    d = os.path.join(out, name)
    mr.write_checkpoint(d, config if config is not None else cfg.hf_json(),
                        tensors if tensors is not None else weights, shards=shards)
    if image is not None:
        with open(os.path.join(d, "model.safetensors"), "wb") as f:
            f.write(image)
    return d


def header_image(header, data=b""):
    text = json.dumps(header).encode()
    return len(text).to_bytes(8, "little") + text + data


write("good")
# The same with every token an eos_token_id (--stop-tokens eos).
c = cfg.hf_json()
c["eos_token_id"] = list(range(cfg.V))
write("good_all_eos", config=c)
# The same weights stored as BF16, and a checkpoint whose in_proj matrices
# are BF16 and every other tensor F32 (two shards of two dtypes).
mr.write_checkpoint(os.path.join(out, "good_bf16"), cfg.hf_json(), weights,
                    dtype="BF16")
mixed = os.path.join(out, "mixed_dtypes")
os.makedirs(mixed)
with open(os.path.join(mixed, "config.json"), "w") as f:
    json.dump(cfg.hf_json(), f)
shards = {"model-00001-of-00002.safetensors": ("BF16", [n for n in weights if "in_proj" in n]),
          "model-00002-of-00002.safetensors": ("F32", [n for n in weights if "in_proj" not in n])}
weight_map = {}
for fname, (dtype, names) in shards.items():
    with open(os.path.join(mixed, fname), "wb") as f:
        f.write(mr.safetensors_bytes({n: weights[n] for n in names}, dtype))
    weight_map.update({n: fname for n in names})
with open(os.path.join(mixed, "model.safetensors.index.json"), "w") as f:
    json.dump({"metadata": {}, "weight_map": weight_map}, f)
# A weight that cannot be quantized (--weights int8): an infinity in a
# layer's x_proj.
inf_weights = dict(weights)
inf_weights["backbone.layers.1.mixer.x_proj.weight"] = np.array(
    weights["backbone.layers.1.mixer.x_proj.weight"])
inf_weights["backbone.layers.1.mixer.x_proj.weight"][2, 3] = np.inf
write("inf_weight", tensors=inf_weights)
# config.json problems.
d = write("no_config")
os.remove(os.path.join(d, "config.json"))
d = write("bad_json")
open(os.path.join(d, "config.json"), "w").write("{\"hidden_size\": 8,")
c = cfg.hf_json()
del c["hidden_size"]
write("no_hidden", config=c)
c = cfg.hf_json()
c["d_model"] = 12
write("disagree", config=c)
c = cfg.hf_json()
c["ssm_cfg"] = {"layer": "Mamba2"}
write("layer_disagrees", config=c)
# More layers in config.json than tensors: one more, and 10^12 (which hung
# the loader, listing every layer's matrices before looking for any).
c = cfg.hf_json()
c["num_hidden_layers"] = 3
write("extra_layer", config=c)
c = cfg.hf_json()
c["num_hidden_layers"] = 10**12
write("huge_layers", config=c)
c = cfg.hf_json()
c["eos_token_id"] = 16
write("bad_eos", config=c)
c = cfg.hf_json()
c["model_type"] = "falcon_mamba"
write("falcon_mamba", config=c)
c = cfg.mamba_ssm_json()
c["ssm_cfg"]["layer"] = "Mamba3"
write("unknown_layer", config=c)
# A good Mamba-2 checkpoint (4 heads of 4 channels, d_state 4) and broken
# variants of it.
cfg2 = mr.Config(d_model=8, n_layer=2, vocab=16, d_state=4, version=2, headdim=4)
weights2 = mr.random_weights(cfg2, np.random.default_rng(4))
write("good_mamba2", config=cfg2.hf_json(), tensors=weights2)
for name, key, value in (("mamba2_groups", "n_groups", 3),
                         ("mamba2_limit", "time_step_limit", [0.001, 0.1]),
                         ("mamba2_heads", "num_heads", 3),
                         ("mamba2_bias", "use_bias", True)):
    c = cfg2.hf_json()
    c[key] = value
    write(name, config=c, tensors=weights2)
t = dict(weights2)
t["backbone.layers.1.mixer.dt_bias"] = np.zeros(5)
write("mamba2_misshaped", config=cfg2.hf_json(), tensors=t)
np.save(os.path.join(out, "ssm2_bad.npy"), np.zeros((2, 1, 16, 4), np.float32))
np.save(os.path.join(out, "conv2_good.npy"), np.zeros((2, 1, 24, 3), np.float32))
c = cfg.hf_json()
c["state_size"] = "sixteen"
write("bad_field", config=c)
# safetensors problems.
write("short", image=b"\x10\x00\x00")
write("overrun", image=(1000).to_bytes(8, "little") + b"{}")
write("header_not_json", image=(4).to_bytes(8, "little") + b"{]]]")
write("bad_dtype", image=header_image(
    {"backbone.norm_f.weight": {"dtype": "I8", "shape": [8], "data_offsets": [0, 8]}},
    bytes(8)))
write("byte_mismatch", image=header_image(
    {"backbone.norm_f.weight": {"dtype": "F32", "shape": [8], "data_offsets": [0, 16]}},
    bytes(32)))
write("out_of_range", image=header_image(
    {"backbone.norm_f.weight": {"dtype": "F32", "shape": [8], "data_offsets": [0, 32]}},
    bytes(16)))
write("overlap", image=header_image(
    {"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
     "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}},
    bytes(24)))
# Missing or mis-shaped tensors.
t = dict(weights)
del t["backbone.layers.1.mixer.D"]
write("missing_tensor", tensors=t)
t = dict(weights)
t["backbone.layers.0.mixer.A_log"] = np.zeros((16, 5))
write("misshaped", tensors=t)
c = cfg.hf_json()
c["tie_word_embeddings"] = False
write("untied_no_head", config=c)
t = dict(weights)
t["backbone.embed.weight"] = t.pop("backbone.embeddings.weight")
write("no_embedding", tensors=t)
# Sharded checkpoints whose index is wrong.
d = write("missing_shard", shards=2)
os.remove(os.path.join(d, "model-00002-of-00002.safetensors"))
d = write("wrong_shard", shards=2)
index = os.path.join(d, "model.safetensors.index.json")
m = json.load(open(index))
m["weight_map"]["backbone.norm_f.weight"] = (
    "model-00002-of-00002.safetensors"
    if m["weight_map"]["backbone.norm_f.weight"].startswith("model-00001")
    else "model-00001-of-00002.safetensors")
json.dump(m, open(index, "w"))
d = write("no_weights")
os.remove(os.path.join(d, "model.safetensors"))
# States of the wrong shape for the good model.
np.save(os.path.join(out, "conv_bad.npy"), np.zeros((2, 1, 16, 2), np.float32))
np.save(os.path.join(out, "ssm_good.npy"), np.zeros((2, 1, 16, 4), np.float32))
np.save(os.path.join(out, "conv_good.npy"), np.zeros((2, 1, 16, 3), np.float32))
np.save(os.path.join(out, "tokens_float.npy"), np.zeros((1, 4), np.float32))
