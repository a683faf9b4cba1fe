#!/usr/bin/env python3
"""Loads an emopipe features file (`emopipe features INPUT -o F.safetensors`) the way docs/cli.md shows — the part
between the snippet marks is the documentation's code, checked by the test pytorchLoadsTheCache — and checks it.

Usage: features_load.py F.safetensors
Needs: torch, safetensors (the reference environment: tools/pyenv.sh DIR).
"""
import sys

# --- snippet ---
import torch
from safetensors import safe_open
from safetensors.torch import load_file

path = sys.argv[1]
f = load_file(path)                        # every tensor (float16 files: .float() gives float32)
meta = safe_open(path, "pt").metadata()    # protocol, frames, dtype, backbones file and its sha256, …
visual = f["visual"].float()               # (F, 25088): layer4 of the clip ending on frame i+1 (512 channels × 49)
visual_max = f["visual_max"].float()       # (F, 512): its per-channel maximum, JMT's visual input
audio = f["audio"].float()                 # (F, 512): that clip's audio features
time, face = f["time"], f["face"].bool()   # seconds since the first frame; whether a face was found

# The heads take sequences of 16 clips: in each block b of 512 frames, offset k = 0…31 gives the clips ending on
# frames 512·b + k + 1 + 32·j, j = 0…15. Clips ending past the last frame come from the past_end_* tensors.
F = visual.shape[0]
ends = [[512 * b + k + 1 + 32 * j for j in range(16)]
        for b in range((F + 511) // 512) for k in range(32) if 512 * b + k + 1 <= F]
past = {e: F + i for i, e in enumerate(f["past_end_frame"].tolist())}
rows = torch.tensor([[e - 1 if e <= F else past[e] for e in seq] for seq in ends])
V = torch.cat([visual, f["past_end_visual"].float()[f["past_end_visual_index"]]])[rows]          # (S, 16, 25088)
Vmax = torch.cat([visual_max, f["past_end_visual_max"].float()[f["past_end_visual_index"]]])[rows]  # (S, 16, 512)
A = torch.cat([audio, f["past_end_audio"].float()[f["past_end_audio_index"]]])[rows]             # (S, 16, 512)
# A head's output for clip j of sequence s is frame ends[s][j]'s value (train against that frame's label;
# ends past F are padding: mask them out).
print("sequences", tuple(V.shape), tuple(Vmax.shape), tuple(A.shape))
# --- end ---

assert meta["format"] == "emopipe-features/1" and int(meta["frames"]) == F
assert torch.equal(visual.view(F, 512, 49).amax(-1), visual_max), "visual_max is layer4's per-channel maximum"
assert time.shape == (F,) and face.shape == (F,) and bool((time[1:] > time[:-1]).all())
print("ok:", F, "frames,", len(ends), "sequences, protocol", meta["protocol"], "backbones sha256", meta["backbones_sha256"][:12])
