#!/usr/bin/env python3
"""Time PyTorch CPU on the two TSAV backbones, optionally side by side with `emopipe bench`.

    python3 tools/bench_pytorch.py --threads 2 --clips 4 [--emopipe .build/release/emopipe] [--rounds 2] [--precision P] [--json]

- visual: torchvision r2plus1d_18 (3-channel stem, fc = identity) on clips of 3x8x112x112;
- audio: torchvision resnet18 with a 1-channel 7x7 stem (fc = identity) on spectrograms of 1x64x104.
PyTorch runs fp32 (its CPU default); emopipe reports each of its precisions (fp32 = exact mode, bf16, int8), all
compared with PyTorch's fp32 throughput. Each side also reports its process CPU time per clip (PyTorch's OpenMP
threads may spin while waiting, so its CPU time can exceed the work done; the wall time is the comparison).
Weights are random (the time does not depend on them). FLOPs are counted from the layer shapes with the same
rule as `emopipe bench` (2 x multiply-adds of every convolution, padded taps included). Threads:
torch.set_num_threads(N); emopipe gets --threads N. With --emopipe, the two programs run alternately for
--rounds rounds and the best time of each is compared, so a noisy shared machine affects both alike.
Needs torch and torchvision (pip install torch torchvision); never used at run time by emopipe.
"""
import argparse
import json
import subprocess
import sys
import time


def import_torchvision():
    try:
        import torchvision  # noqa: F401
    except Exception as e:  # a torchvision wheel built for another torch variant fails only in its detection ops
        import types
        for m in [k for k in sys.modules if k.startswith("torchvision")]:
            del sys.modules[m]
        sys.modules["torchvision._meta_registrations"] = types.ModuleType("torchvision._meta_registrations")
        import torchvision  # noqa: F401
        print(f"bench_pytorch: torchvision's compiled ops are unusable ({type(e).__name__}); "
              "the models are pure Python and unaffected", file=sys.stderr)
    import torchvision
    return torchvision


def conv_flops(model, x):
    import torch
    total = [0]

    def hook(mod, inp, out):
        k = 1
        for d in mod.kernel_size:
            k *= d
        total[0] += 2 * out.numel() * (mod.in_channels // mod.groups) * k

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Conv3d))]
    with torch.inference_mode():
        model(x)
    for h in hs:
        h.remove()
    return total[0]


def best_time(model, x, repeats):
    """Best wall and best process-CPU seconds of `repeats` forward passes (after a warm-up)."""
    import torch
    with torch.inference_mode():
        model(x)  # warm-up
        best, best_cpu = float("inf"), float("inf")
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            model(x)
            best = min(best, time.perf_counter() - t0)
            best_cpu = min(best_cpu, time.process_time() - c0)
    return best, best_cpu


def main():
    import os
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--clips", type=int, default=4, help="clips / spectrograms per forward pass")
    p.add_argument("--repeats", type=int, default=3, help="timed passes per round (after a warm-up); best is kept")
    p.add_argument("--frames", type=int, default=104, help="spectrogram frames for the audio backbone")
    p.add_argument("--emopipe", help="path of the emopipe binary: also run `emopipe bench` with the same settings")
    p.add_argument("--rounds", type=int, default=1, help="alternate PyTorch and emopipe this many times")
    p.add_argument("--channels-last", action="store_true",
                   help="run PyTorch in channels_last(_3d) memory format instead of its default contiguous NC(T)HW")
    p.add_argument("--precision", action="append", choices=["fp32", "bf16", "int8"],
                   help="emopipe precision(s) to time (repeatable; default: all)")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()

    import torch
    torch.set_num_threads(a.threads)
    tv = import_torchvision()
    from torchvision.models import resnet18
    from torchvision.models.video import r2plus1d_18

    visual = r2plus1d_18()
    visual.fc = torch.nn.Identity()
    visual.eval()
    audio = resnet18()
    audio.conv1 = torch.nn.Conv2d(1, 64, 7, 2, 3, bias=False)
    audio.fc = torch.nn.Identity()
    audio.eval()
    vx = torch.randn(a.clips, 3, 8, 112, 112)
    ax = torch.randn(a.clips, 1, 64, a.frames)
    if a.channels_last:
        visual = visual.to(memory_format=torch.channels_last_3d)
        vx = vx.contiguous(memory_format=torch.channels_last_3d)
        audio = audio.to(memory_format=torch.channels_last)
        ax = ax.contiguous(memory_format=torch.channels_last)
    vflops, aflops = conv_flops(visual, vx), conv_flops(audio, ax)

    inf = float("inf")
    torch_best = {"r2plus1d_18": [inf, inf], "resnet18_audio": [inf, inf]}   # [wall, cpu] seconds per clip
    emo_best = {}                                                            # emopipe key -> [wall, cpu]
    emo_report = None
    emo_sgemm = emo_gemm = 0.0
    for _ in range(a.rounds):
        for k, (model, x, reps) in {"r2plus1d_18": (visual, vx, a.repeats), "resnet18_audio": (audio, ax, max(a.repeats, 5))}.items():
            wall, cpu = best_time(model, x, reps)
            torch_best[k] = [min(torch_best[k][0], wall / a.clips), min(torch_best[k][1], cpu / a.clips)]
        if a.emopipe:
            cmd = [a.emopipe, "bench", "--threads", str(a.threads), "--clips", str(a.clips),
                   "--repeats", str(a.repeats), "--frames", str(a.frames), "--json"]
            for p in a.precision or []:
                cmd += ["--precision", p]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            emo_report = json.loads(out)
            emo_sgemm = max(emo_sgemm, next(v for k, v in emo_report.items() if k.startswith("sgemm_")))
            emo_gemm = max(emo_gemm, next((v for k, v in emo_report.items() if k.startswith("emopipe_gemm_")), 0.0))
            for k, v in emo_report.items():
                if isinstance(v, dict) and "ms_per_clip" in v:
                    prev = emo_best.get(k, [inf, inf])
                    emo_best[k] = [min(prev[0], v["ms_per_clip"] / 1000), min(prev[1], v.get("cpu_ms_per_clip", inf) / 1000)]

    flops = {"r2plus1d_18": vflops / a.clips, "resnet18_audio": aflops / a.clips}
    result = {"threads": a.threads, "clips_per_pass": a.clips, "rounds": a.rounds, "channels_last": a.channels_last,
              "torch": torch.__version__, "torchvision": tv.__version__, "pytorch": {}, "emopipe": {}}
    for k, (s, c) in torch_best.items():
        result["pytorch"][k] = {"ms_per_clip": round(s * 1000, 3), "cpu_ms_per_clip": round(c * 1000, 3),
                                "clips_per_s": round(1 / s, 3),
                                "gflop_per_clip": round(flops[k] / 1e9, 4), "gflop_per_s": round(flops[k] / s / 1e9, 2)}
    if emo_report:
        result["cpu"] = emo_report.get("cpu", "")
        result["emopipe_kernels"] = emo_report.get("kernels", "")
        result["emopipe_sgemm_gflop_per_s"] = emo_sgemm   # OpenBLAS reference product, best of the rounds
        result["emopipe_own_gemm_gflop_per_s"] = emo_gemm  # the same product through emopipe's kernel
        for k, (s, c) in emo_best.items():
            base = "resnet18_audio" if k.startswith("resnet18") else "r2plus1d_18"
            # "fp32 sliding": the pipeline's overlapping clips with exact reuse (emopipe bench's sliding rows).
            label = emo_report[k].get("precision", "fp32") + (" sliding" if emo_report[k].get("sliding_clips") else "")
            result["emopipe"][k] = {"precision": label,
                                    "ms_per_clip": round(s * 1000, 3), "cpu_ms_per_clip": round(c * 1000, 3),
                                    "clips_per_s": round(1 / s, 3),
                                    "gflop_per_s": round(emo_report[k]["gflop_per_clip"] * 1e9 / s / 1e9, 2),
                                    "throughput_vs_pytorch": round(torch_best[base][0] / s, 3)}
    if a.json:
        print(json.dumps(result))
        return
    print(f"threads {a.threads}, {a.clips} clip(s) per pass, torch {torch.__version__}, torchvision {tv.__version__}, "
          f"{'channels-last' if a.channels_last else 'default (contiguous)'} PyTorch layout, best of {a.rounds} round(s)")
    if emo_report:
        print(f"CPU {result['cpu']}; emopipe {result['emopipe_kernels']}")
        print(f"2048^3 product (best in the emopipe runs): OpenBLAS sgemm {emo_sgemm:.1f} GFLOP/s, "
              f"emopipe's fp32 kernel {emo_gemm:.1f} GFLOP/s")
    print(f"{'backbone':16} {'program':8} {'precision':12} {'ms/clip':>9} {'clips/s':>9} {'G(FL)OP/s':>9} {'vs PyTorch':>10} {'CPU ms/clip':>11}")
    for k in torch_best:
        r = result["pytorch"][k]
        print(f"{k:16} {'pytorch':8} {'fp32':12} {r['ms_per_clip']:9.2f} {r['clips_per_s']:9.2f} {r['gflop_per_s']:9.1f} "
              f"{'1.00x':>10} {r['cpu_ms_per_clip']:11.2f}")
        for ek, e in result["emopipe"].items():
            if ek.startswith(k):
                print(f"{k:16} {'emopipe':8} {e['precision']:12} {e['ms_per_clip']:9.2f} {e['clips_per_s']:9.2f} "
                      f"{e['gflop_per_s']:9.1f} {e['throughput_vs_pytorch']:9.2f}x {e['cpu_ms_per_clip']:11.2f}")


if __name__ == "__main__":
    main()
