#!/usr/bin/env python3
"""Independent reference values for emopipe's audio front end, from the formulas alone (numpy, float64).

Writes Fixtures/audio/reference.json with
  - the periodic Hann window of 882 samples (every 49th sample) and its placement in the 1024-point frame,
  - the HTK mel filterbank (513 FFT bins x 64 filters, no normalisation): a few full filter rows plus, for every
    filter, its non-zero bin range and its peak,
  - the per-frame audio window rule (sample ranges for a few frames of a 29.97 fps and a 25 fps timestamp list),
  - a full log-mel spectrogram of a short deterministic chirp, computed here with numpy's FFT in float64.

Nothing here runs at run time or in CI; `python3 tools/make_audio_reference.py` regenerates the file.
`--check-golden FILE` also compares this numpy implementation with ../shared/parity/spectrogram.golden.safetensors
(reads safetensors with the standard library + numpy) and prints the differences; with `--emopipe BIN` it does the
same for `BIN tensor spectrogram` (the command-line front end) on every golden waveform.
"""
import argparse
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

SR, N_FFT, WIN, HOP, N_MELS = 44100, 1024, 882, 441, 64
MIN_SAMPLES = 45599
F_MIN, F_MAX = 0.0, SR / 2


def hann_periodic(n):
    k = np.arange(n, dtype=np.float64)
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * k / n)


def frame_window():
    """The 882-sample Hann window centred in 1024 points (71 zeros each side), as torch.stft places it."""
    w = np.zeros(N_FFT)
    left = (N_FFT - WIN) // 2
    w[left:left + WIN] = hann_periodic(WIN)
    return w, left


def hz_to_mel(f):
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m):
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank():
    """(513, 64): triangles through mel-spaced points, rising edge (f - f[m-1])/(f[m]-f[m-1]), falling edge
    (f[m+1] - f)/(f[m+1]-f[m]), clipped at 0; bin frequencies linspace(0, 22050, 513); no area normalisation."""
    freqs = np.linspace(0.0, SR // 2, N_FFT // 2 + 1)
    pts = mel_to_hz(np.linspace(hz_to_mel(F_MIN), hz_to_mel(F_MAX), N_MELS + 2))
    fb = np.zeros((freqs.size, N_MELS))
    for m in range(N_MELS):
        lo, mid, hi = pts[m], pts[m + 1], pts[m + 2]
        up = (freqs - lo) / (mid - lo)
        down = (hi - freqs) / (hi - mid)
        fb[:, m] = np.maximum(0.0, np.minimum(up, down))
    return fb


def log_mel(wave):
    """The whole front end in float64: left-pad to 45599, reflect-pad 512, frames, |rfft|^2, mel, dB, floor, norm."""
    x = np.asarray(wave, dtype=np.float64)
    if x.size < MIN_SAMPLES:
        x = np.concatenate([np.zeros(MIN_SAMPLES - x.size), x])
    pad = N_FFT // 2
    xp = np.concatenate([x[1:pad + 1][::-1], x, x[-pad - 1:-1][::-1]])
    n_frames = 1 + x.size // HOP
    w, _ = frame_window()
    idx = np.arange(n_frames)[:, None] * HOP + np.arange(N_FFT)[None, :]
    spec = np.abs(np.fft.rfft(xp[idx] * w, axis=1)) ** 2          # (T, 513)
    mel = (spec @ mel_filterbank()).T                               # (64, T)
    db = 10.0 * np.log10(np.maximum(mel, 1e-10))
    db = np.maximum(db, db.max() - 80.0)
    return (db + 14.8) / 19.895


def sample_index(t):
    """Timestamp (s) -> sample index: nearest sample, halves away from zero (what emopipe's AudioWindow does)."""
    x = t * SR
    fl = math.floor(x)
    return int(fl + (1 if x - fl >= 0.5 else 0))


def window_range(ts, f):
    """Frame f (1-based): samples [index(ts[f-31]) or 0, index(ts[f])), before left padding to 45599."""
    start = 0 if f < 32 else sample_index(ts[f - 32])
    end = sample_index(ts[f - 1])
    return start, max(start, end)


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import load as load_safetensors, save as save_safetensors  # noqa: E402


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(here, "..", "Fixtures", "audio", "reference.json"))
    ap.add_argument("--check-golden", default=None)
    ap.add_argument("--emopipe", default=None, help="with --check-golden: also check `emopipe tensor spectrogram`")
    args = ap.parse_args()

    w, left = frame_window()
    fb = mel_filterbank()
    hann = hann_periodic(WIN)

    filters = []
    for m in range(N_MELS):
        nz = np.nonzero(fb[:, m])[0]
        filters.append({"first_bin": int(nz[0]) if nz.size else -1, "last_bin": int(nz[-1]) if nz.size else -1,
                        "peak": float(fb[:, m].max()), "sum": float(fb[:, m].sum())})
    rows = {str(m): [float(v) for v in fb[:, m]] for m in (0, 1, 5, 31, 63)}

    # Timestamps as mkvextract writes them (integer milliseconds), 29.97 fps, and exact 25 fps.
    ts_ntsc = [round(k * 1001 / 30) / 1000.0 for k in range(200)]
    ts_pal = [k / 25.0 for k in range(200)]
    frames = [1, 2, 31, 32, 33, 64, 150, 200]
    windows = []
    for name, ts in (("ntsc_ms", ts_ntsc), ("pal", ts_pal)):
        for f in frames:
            s, e = window_range(ts, f)
            windows.append({"timestamps": name, "frame": f, "start": s, "end": e,
                            "padded_length": max(MIN_SAMPLES, e - s)})

    # A short chirp, deterministic and exactly representable in float32 after the cast below.
    n = 46000
    t = np.arange(n) / SR
    chirp = (0.25 * np.sin(2 * np.pi * (200.0 * t + 4000.0 * t * t))).astype(np.float32).astype(np.float64)
    chirp_spec = log_mel(chirp)

    ref = {
        "source": "tools/make_audio_reference.py (numpy float64, from the formulas in docs/audio.md)",
        "hann_882_every_49th": {"step": 49, "values": [float(v) for v in hann[::49]]},
        "frame_window": {"left_zeros": left, "right_zeros": N_FFT - left - WIN,
                         "samples": {str(i): float(w[i]) for i in (0, 70, 71, 72, 200, 511, 512, 513, 952, 953, 1023)}},
        "mel_points_hz": [float(v) for v in mel_to_hz(np.linspace(hz_to_mel(F_MIN), hz_to_mel(F_MAX), N_MELS + 2))],
        "filterbank_rows": rows,
        "filters": filters,
        "timestamps": {"ntsc_ms": ts_ntsc, "pal": ts_pal},
        "windows": windows,
        "chirp": {"samples": n, "formula": "float32(0.25*sin(2*pi*(200*t + 4000*t^2))), t = k/44100",
                  "shape": list(chirp_spec.shape),
                  "frames": {str(c): [float(v) for v in chirp_spec[:, c]] for c in (0, 1, 52, 103, 104)}},
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(ref, fh, indent=1)
        fh.write("\n")
    print("wrote", os.path.normpath(args.out), os.path.getsize(args.out), "bytes")

    if args.check_golden:
        g = load_safetensors(args.check_golden)
        for k in ("noise", "short", "long", "silence", "tone"):
            ours = log_mel(g["wave_" + k][0])
            ref_spec = g["spec_" + k][0]
            d = np.abs(ours - ref_spec).max()
            bound = 1e-4 * max(1.0, np.abs(ref_spec).max())
            line = "%-8s shape %s  bound %.3g  max|numpy-golden| = %.3g" % (k, ours.shape, bound, d)
            if args.emopipe:
                with tempfile.TemporaryDirectory() as tmp:
                    wave_path, spec_path = os.path.join(tmp, "wave.safetensors"), os.path.join(tmp, "spec.safetensors")
                    save_safetensors(wave_path, {"wave": g["wave_" + k]})
                    subprocess.run([args.emopipe, "tensor", "spectrogram", "--input", wave_path, "--output", spec_path],
                                   check=True)
                    spec = load_safetensors(spec_path)["spec"]
                assert spec.shape == g["spec_" + k].shape, (spec.shape, g["spec_" + k].shape)
                line += "  max|emopipe-golden| = %.3g" % np.abs(spec - g["spec_" + k]).max()
            print(line)


if __name__ == "__main__":
    main()
