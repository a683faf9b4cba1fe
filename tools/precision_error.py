#!/usr/bin/env python3
"""Backbone-level error of emopipe's reduced-precision modes on real face crops.

    emopipe faces VIDEO --crops CROPS/                       # aligned 112x112 crops (frames without a face: no file)
    emopipe bench --clips 1 --repeats 1 --save-weights W.safetensors   # synthetic TSAV weights (or real ones)
    python3 tools/precision_error.py --crops CROPS --weights W.safetensors --emopipe .build/release/emopipe [--every 8]

Builds the clip ending on every `--every`-th frame (f >= 32: every 4th frame back from f, as the pipeline does;
a missing crop is a black frame), normalizes it as the pipeline does (Kinetics mean/std), runs
`emopipe tensor visual --precision P` for fp32, bf16 and int8, and prints each mode's error against fp32 on layer4
(the fusion heads' visual input) and on the pooled 512-d feature: max|d|/max|ref|, |d|/|ref| (RMS), worst cosine.
Needs numpy and pillow (a venv made by tools/pyenv.sh has both).
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

MEAN = np.array([0.43216, 0.394666, 0.37645], dtype=np.float32)
STD = np.array([0.22803, 0.22145, 0.216989], dtype=np.float32)


def crop(folder, f):
    p = os.path.join(folder, f"{f:05d}.jpg")
    if not os.path.exists(p):
        return np.zeros((112, 112, 3), dtype=np.float32)
    return np.asarray(Image.open(p).convert("RGB"), dtype=np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--crops", required=True)
    ap.add_argument("--weights", required=True)
    ap.add_argument("--emopipe", default=".build/release/emopipe")
    ap.add_argument("--every", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()

    frames = sorted(int(n[:5]) for n in os.listdir(a.crops) if n.endswith(".jpg"))
    last = max(frames)
    ends = list(range(32, last + 1, a.every))
    clips = np.zeros((len(ends), 3, 8, 112, 112), dtype=np.float32)
    for i, f in enumerate(ends):
        for t, g in enumerate(range(f - 28, f + 1, 4)):
            x = (crop(a.crops, g) / 255 - MEAN) / STD          # (112, 112, 3)
            clips[i, :, t] = x.transpose(2, 0, 1)
    missing = sum(1 for f in range(1, last + 1) if f not in set(frames))
    print(f"{len(ends)} clips (ends {ends[0]}..{ends[-1]} every {a.every}), {len(frames)} crops, {missing} frames without a face",
          file=sys.stderr)

    with tempfile.TemporaryDirectory() as tmp:
        inp = os.path.join(tmp, "clips.safetensors")
        safetensors_io.save(inp, {"input": clips})
        out = {}
        for p in ["fp32", "bf16", "int8"]:
            o = os.path.join(tmp, f"{p}.safetensors")
            subprocess.run([a.emopipe, "tensor", "visual", "--weights", a.weights, "--input", inp, "--output", o,
                            "--precision", p, "--threads", str(a.threads)], check=True, stderr=subprocess.DEVNULL)
            out[p] = safetensors_io.load(o)
    print(f"{'mode':6} {'output':8} {'max|d|/max|ref|':>16} {'|d|/|ref|':>10} {'worst cosine':>13}")
    for p in ["bf16", "int8"]:
        for name in ["layer4", "pooled"]:
            ref, x = out["fp32"][name].astype(np.float64), out[p][name].astype(np.float64)
            d = x - ref
            cos = (x * ref).sum(1) / np.sqrt((x * x).sum(1) * (ref * ref).sum(1))
            print(f"{p:6} {name:8} {np.abs(d).max() / np.abs(ref).max():16.2e} {np.sqrt((d * d).sum() / (ref * ref).sum()):10.2e} "
                  f"{cos.min():13.6f}")


if __name__ == "__main__":
    main()
