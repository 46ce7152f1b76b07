"""GPU benchmark of the selective scan (issue 5), run on a lent NVIDIA GPU by
utils/device/check.sh: `ssm-run scan --target nvptx` on performance.md's
reference shape and a large one, side by side in one run with

  - the machine's limits as measured now: a device-to-device copy through
    PyTorch (bytes read + written) and the exp2 throughput of the
    special-function units (bench/gpu_exp_peak.cu);
  - a PyTorch reference: mamba_ssm's selective_scan_ref recurrence written
    in PyTorch, a loop over time of elementwise kernels on the GPU, fp32;
  - the float64 result of the same recurrence (PyTorch on the GPU), against
    which the kernel's error is checked (semantics.md: 1e-5 normwise).

The kernel's own time comes from Nsight Compute (gpu__time_duration of
each launch, clocks left as they are): `ssm-run --time` times the whole call,
whose copies between host and device (ssm-gpu-device-buffers) dominate at
these sizes; that figure is reported too, as end-to-end.

  python3 bench/gpu.py --ssm-run PATH --exp-peak PATH [--quick] [--out DIR]
                      [--variants 16x128,8x256,8x128x2p,16x128c,16x128c2,...]

--variants times the kernel with other steps per thread x threads per block
[x states per iteration] (ssm-run --gpu-items, --gpu-threads, --gpu-states),
a final "p" adding --gpu-prefetch and a final "c" --gpu-scan channels (steps
per tile x threads per block), "cN" with N threads per channel
(--gpu-channel-threads N), each checked against float64 too; the table
reports ssm-run's defaults in full and each variant's kernel time.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import torch

from benchlib import events_ms, find_ncu, kernel_ms, median_ms, run, scan_inputs

# name, b, d, L, n
SHAPES = [("reference shape", 1, 1536, 2048, 16), ("large", 8, 2048, 8192, 16)]
KERNEL = "selective_scan_kernel"
DEVICE = "cuda"


def copy_bandwidth():
    """Device-to-device copy of 1 GiB, bytes read + written per second."""
    a = torch.empty(2**28, dtype=torch.float32, device="cuda").uniform_()
    b = torch.empty_like(a)
    ms = events_ms(lambda: b.copy_(a), 20)
    return 2 * a.numel() * 4 / (ms * 1e-3)


def scan_torch(x, dtype):
    """mamba_ssm's selective_scan_ref recurrence in PyTorch on the GPU, one
    step of time per iteration (the (b, d, L, n) decays are not
    materialised: 8.6 GB in fp32 at the large shape). Returns y, last state."""
    t = {k: torch.from_numpy(v).to(DEVICE, dtype) for k, v in x.items()}
    delta = torch.nn.functional.softplus(t["delta"] + t["delta-bias"][:, None])
    u, A, B, C = t["u"], t["A"], t["B"], t["C"]
    b, d, L = u.shape
    h = torch.zeros(b, d, A.shape[1], dtype=dtype, device=DEVICE)
    ys = []
    for i in range(L):
        dt = delta[:, :, i, None]
        h = torch.exp(dt * A) * h + (dt * u[:, :, i, None]) * B[:, None, :, i]
        ys.append(torch.einsum("bdn,bn->bd", h, C[:, :, i]))
    y = torch.stack(ys, dim=2) + u * t["D"][:, None]
    y = y * torch.nn.functional.silu(t["z"])
    return y, h


def rel_err(got, ref):
    """Normwise and max relative error; a wrong shape or a NaN is an error."""
    got, ref = np.asarray(got, np.float64), np.asarray(ref, np.float64)
    if got.shape != ref.shape:
        sys.exit("result of shape %s, expected %s" % (got.shape, ref.shape))
    return float(np.linalg.norm(got - ref) / np.linalg.norm(ref)), \
        float(np.max(np.abs(got - ref)) / np.max(np.abs(ref)))


def ncu_details(ncu, cmd, path):
    """One launch under ncu's speed-of-light, occupancy and launch sections."""
    proc = subprocess.run([ncu, "--clock-control", "none", "--section", "SpeedOfLight",
                           "--section", "Occupancy", "--section", "LaunchStats",
                           "--section", "MemoryWorkloadAnalysis", "-k", "regex:" + KERNEL,
                           "-c", "1"] + cmd, capture_output=True, text=True)
    with open(path, "w") as f:
        f.write(proc.stdout + proc.stderr)
    keep = ("Duration", "DRAM Throughput", "Memory Throughput", "Registers Per Thread",
            "Achieved Occupancy", "Theoretical Occupancy", "Block Limit Registers",
            "Compute (SM) Throughput", "L1/TEX Hit Rate", "L2 Hit Rate")
    return [l.strip() for l in proc.stdout.splitlines() if l.strip().startswith(keep)]


def variant_flags(v):
    """ssm-run's flags for a --variants entry ITEMSxTHREADS[xSTATES][p][c[LANES]]."""
    m = re.fullmatch(r"(\d+)x(\d+)(?:x(\d+))?(p?)(?:c(\d*))?", v)
    if not m:
        sys.exit("bad variant %r: expected ITEMSxTHREADS[xSTATES][p][c[LANES]]" % v)
    items, threads, states, prefetch = m.group(1, 2, 3, 4)
    flags = ["--gpu-items", items, "--gpu-threads", threads]
    flags += ["--gpu-states", states] if states else []
    flags += ["--gpu-prefetch"] if prefetch else []
    if m.group(5) is not None:
        flags += ["--gpu-scan", "channels"]
        flags += ["--gpu-channel-threads", m.group(5)] if m.group(5) else []
    return flags


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ssm-run", required=True)
    ap.add_argument("--exp-peak", help="the compiled bench/gpu_exp_peak.cu")
    ap.add_argument("--quick", action="store_true", help="only the reference shape")
    ap.add_argument("--out", default=".", help="where results.json and ncu reports go")
    ap.add_argument("--variants", default="",
                    help="comma-separated ITEMSxTHREADS[xSTATES][p][c[LANES]] kernel "
                         "shapes to time")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    props = torch.cuda.get_device_properties(0)
    bw = copy_bandwidth()
    peak = run([args.exp_peak]) if args.exp_peak else "exp2_per_s=nan"
    exp_rate = float(re.search(r"exp2_per_s=([0-9.e+a-z]+)", peak).group(1))
    print(peak.strip())
    print("%s, %d SMs; copy %.2f TB/s (read + written), exp2 %.2f T/s, both measured now"
          % (props.name, props.multi_processor_count, bw / 1e12, exp_rate / 1e12), flush=True)
    ncu = find_ncu()
    rng = np.random.default_rng(0)
    results = []
    shapes = SHAPES[:1] if args.quick else SHAPES
    with tempfile.TemporaryDirectory(prefix="ssm-gpu-bench-") as tmp:
        for name, b, d, L, n in shapes:
            x = scan_inputs(rng, b, d, L, n)  # bench/run.py's
            cmd = [args.ssm_run, "scan", "--target", "nvptx", "--delta-softplus",
                   "--out", os.path.join(tmp, "y.npy"), "--last-state",
                   os.path.join(tmp, "h.npy")]
            for k, v in x.items():
                np.save(os.path.join(tmp, k + ".npy"), v)
                cmd += ["--" + k, os.path.join(tmp, k + ".npy")]
            with torch.no_grad():
                y_ref, h_ref = (t.cpu().numpy() for t in scan_torch(x, torch.float64))
                torch.cuda.empty_cache()
                reps = 3 if L * b <= 4096 else 1
                torch_ms = events_ms(lambda: scan_torch(x, torch.float32), reps)
                torch.cuda.empty_cache()

            def check(extra):
                # On poisoned outputs: ssm-run must write them anew.
                for f in ("y.npy", "h.npy"):
                    np.save(os.path.join(tmp, f), np.full(1, np.nan, np.float32))
                run(cmd + extra)
                return (rel_err(np.load(os.path.join(tmp, "y.npy")), y_ref),
                        rel_err(np.load(os.path.join(tmp, "h.npy")), h_ref))

            err_y, err_h = check([])
            variants = []
            for v in filter(None, args.variants.split(",")):
                extra = variant_flags(v)
                ey, eh = check(extra)
                vk = kernel_ms(ncu, cmd + extra + ["--time", "5"],
                               os.path.join(tmp, "ncu.csv"), KERNEL)[0] if ncu else float("nan")
                variants.append(dict(variant=v, kernel_ms=vk, err_y=ey, err_h=eh))
                print("  %s %-8s kernel %.3f ms, err y %.1e, state %.1e"
                      % (name, v, vk, ey[0], eh[0]), flush=True)
            del y_ref, h_ref
            e2e_ms = median_ms(run(cmd + ["--time", "10"]))
            k_ms, launches = kernel_ms(ncu, cmd + ["--time", "5"], os.path.join(tmp, "ncu.csv"),
                                       KERNEL) if ncu else (float("nan"), 0)
            details = ncu_details(ncu, cmd, os.path.join(
                args.out, "ncu-%s.txt" % name.replace(" ", "-"))) if ncu else []
            nbytes = 4 * (4 * b * d * L + 2 * b * n * L + d * n + 2 * d + b * d * n)
            mem_ms = nbytes / bw * 1e3
            exp_ms = b * d * L * n / exp_rate * 1e3
            bound = max(mem_ms, exp_ms)
            r = dict(name=name, shape=[b, d, L, n], err_y=err_y, err_h=err_h,
                     kernel_ms=k_ms, launches=launches, end_to_end_ms=e2e_ms,
                     torch_ms=torch_ms, bytes=nbytes, mem_bound_ms=mem_ms,
                     exp_bound_ms=exp_ms, bandwidth_tbs=nbytes / (k_ms * 1e-3) / 1e12,
                     of_bound=bound / k_ms, vs_torch=torch_ms / k_ms, ncu=details,
                     variants=variants)
            results.append(r)
            print("%s done: kernel %.3f ms, y err %.2e" % (name, k_ms, err_y[0]), flush=True)
            for line in details:
                print("    " + line)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(dict(device=props.name, copy_tbs=bw / 1e12, exp2_per_s=exp_rate,
                       results=results), f, indent=1)
    print()
    print("| shape (b, d, L, n) | kernel | bandwidth | memory / exp bound | of bound "
          "| end-to-end | PyTorch ref | vs PyTorch | err y / state (normwise, max) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print("| %s %s | %.3f ms | %.2f TB/s | %.3f / %.3f ms | %.0f%% | %.1f ms | %.1f ms "
              "| %.0fx | %.1e, %.1e / %.1e, %.1e |" % (
                  r["name"], tuple(r["shape"]), r["kernel_ms"], r["bandwidth_tbs"],
                  r["mem_bound_ms"], r["exp_bound_ms"], 100 * r["of_bound"],
                  r["end_to_end_ms"], r["torch_ms"], r["vs_torch"], r["err_y"][0],
                  r["err_y"][1], r["err_h"][0], r["err_h"][1]))
    for r in results:
        for v in r["variants"]:
            print("| %s, %s (steps x threads [x states]) | %.3f ms | %.0f%% of bound "
                  "| err %.1e / %.1e |" % (
                r["name"], v["variant"], v["kernel_ms"],
                100 * max(r["mem_bound_ms"], r["exp_bound_ms"]) / v["kernel_ms"],
                v["err_y"][0], v["err_h"][0]))
    def over(e):  # NaN counts as over
        return not (e["err_y"][0] <= 1e-5 and e["err_h"][0] <= 1e-5)
    bad = [r["name"] for r in results if over(r)]
    bad += ["%s %s" % (r["name"], v["variant"]) for r in results for v in r["variants"]
            if over(v)]
    if bad:
        sys.exit("error over 1e-5 normwise: " + ", ".join(bad))


if __name__ == "__main__":
    main()
