#!/usr/bin/env python3
"""Independent check of emopipe's per-frame protocol, in PyTorch.

  python3 tools/protocol_reference.py [--parity ../shared/parity] [--out Fixtures/protocol/reference.csv]

Reproduces, from the same crops and audio the Swift test feeds emopipe, every step of the contract
(shared/spec/README.md): clip selection (the fusion repositories' numpy slicing), per-frame audio windows, torchvision
R(2+1)D-18 and ResNet-18 (TSAV configuration, stem sliced to RGB), the torchaudio log-mel spectrogram, 16-clip
sequences in blocks of 512, the CA head of shared/parity/reference/heads_ref.py, clipping and uniform_filter1d
smoothing. Weights follow the synthetic rule (synth.py). Writes frame,valence_raw,arousal_raw,valence,arousal.

The input is deterministic and exactly reproducible in Swift (Tests/CLITests/ProtocolReferenceTests.swift):
- frames 1…N at 30 fps; the crop of frame f is 112×112×3 bytes floor((u+1)·128) of the synthetic stream
  "protocol:crop:<f>" (u in [-1, 1)), except every 13th frame, which has no face (no file);
- the audio is 0.3·u of the stream "protocol:audio", mono 44.1 kHz float.
Needs torch, torchvision, scipy and safetensors (pip); never used at run time.
"""
import argparse, os, sys, types
import numpy as np

FRAMES = 100
FPS = 30.0
SR = 44100
AUDIO_SAMPLES = 154350


def crop(synth, f):
    if f % 13 == 0:
        return None
    u = synth.uniform("protocol:crop:%d" % f, 112 * 112 * 3)
    return np.floor((u.astype(np.float64) + 1.0) * 128.0).astype(np.uint8).reshape(112, 112, 3)


def clip_indices(f):
    """The fusion repositories' selection over the available frames of the window (f-31 … f], oldest first."""
    idx = np.arange(max(1, f - 31), f + 1)
    n = len(idx)
    if n == 32:
        return np.flip(np.flip(idx)[::4])
    if n >= 24:
        return np.flip(np.flip(idx)[::3])[-8:]
    if n >= 16:
        return np.flip(np.flip(idx)[::2])[-8:]
    if n >= 8:
        return idx[-8:]
    return np.append(idx, [idx[-1]] * (8 - n))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--parity", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "parity"))
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "Fixtures", "protocol", "reference.csv"))
    args = ap.parse_args()
    sys.path.insert(0, os.path.join(args.parity, "reference"))
    import torch
    torch.set_grad_enabled(False)
    try:
        import torchvision  # noqa: F401
    except Exception:  # a wheel built for another torch: only its compiled detection ops fail
        for m in [k for k in sys.modules if k.startswith("torchvision")]:
            del sys.modules[m]
        sys.modules["torchvision._meta_registrations"] = types.ModuleType("torchvision._meta_registrations")
    import synth, gen, heads_ref
    from scipy.ndimage import uniform_filter1d

    # The trunk parts the reference heads take (BiLSTM wrapper, audio-guided attention), written from
    # shared/spec/heads.md §1 in the heads' own check script.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from check_head_compositions import LSTMWrap, BottomUpExtract

    head = heads_ref.PlainHead(LSTMWrap, BottomUpExtract, heads_ref.CABlock()).eval()
    synth.fill_state_dict(head)
    # This head must reproduce the CA reference numbers before it can judge anything.
    from safetensors.torch import load_file
    g = load_file(os.path.join(args.parity, "heads.golden.safetensors"))
    v, a = head(g["audio"], g["visual"])
    err = max((v - g["ca.valence"]).abs().max().item(), (a - g["ca.arousal"]).abs().max().item())
    assert err < 1e-4, "the script's CA head does not match heads.golden (%g)" % err

    tsav = gen.tsav_module().eval()
    synth.fill_state_dict(tsav)
    r2 = tsav.video_model.r2plus1d
    resnet = tsav.audio_model.resnet

    mean = torch.tensor([0.43216, 0.394666, 0.37645]).view(3, 1, 1, 1)
    std = torch.tensor([0.22803, 0.22145, 0.216989]).view(3, 1, 1, 1)
    crops = {f: crop(synth, f) for f in range(1, FRAMES + 1)}

    def clip_tensor(frames):
        x = np.zeros((8, 112, 112, 3), np.uint8)
        for i, f in enumerate(frames):
            if f is not None and crops.get(f) is not None:
                x[i] = crops[f]
        t = torch.from_numpy(x).float().div(255).permute(3, 0, 1, 2)
        return ((t - mean) / std).unsqueeze(0)

    audio = synth.uniform("protocol:audio", AUDIO_SAMPLES) * np.float32(0.3)
    times = [(f - 1) / FPS for f in range(1, FRAMES + 1)]

    def window(f):
        start = 0 if f < 32 else int(np.floor(times[f - 32] * SR + 0.5))
        end = max(start, int(np.floor(times[f - 1] * SR + 0.5)))
        w = audio[start:min(end, len(audio))]
        return torch.from_numpy(np.ascontiguousarray(w)).unsqueeze(0)

    def visual(frames):
        flat, _ = gen.visual_forward(r2, clip_tensor(frames))
        return flat[0]

    def audio_feature(w):
        return resnet(gen.spectrogram(w).unsqueeze(0))[0]

    vis = {f: visual(list(clip_indices(f))) for f in range(1, FRAMES + 1)}
    aud = {f: audio_feature(window(f)) for f in range(1, FRAMES + 1)}
    black = visual([None] * 8)
    silent = audio_feature(torch.zeros(1, 45599))

    raw_v = np.zeros(FRAMES)
    raw_a = np.zeros(FRAMES)
    blocks = (FRAMES + 511) // 512
    for b in range(blocks):
        for k in range(32):
            ends = [512 * b + k + 1 + 32 * j for j in range(16)]
            if ends[0] > FRAMES:
                continue
            av = torch.stack([aud[e] if e <= FRAMES else silent for e in ends]).unsqueeze(0)
            vv = torch.stack([vis[e] if e <= FRAMES else black for e in ends]).unsqueeze(0)
            v, a = head(av, vv)
            for j, e in enumerate(ends):
                if e <= FRAMES:
                    raw_v[e - 1] = v[0, j].item()
                    raw_a[e - 1] = a[0, j].item()
    sv = uniform_filter1d(np.clip(raw_v, -1, 1), size=20, mode="constant")
    sa = uniform_filter1d(np.clip(raw_a, -1, 1), size=50, mode="constant")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as fh:
        fh.write("frame,valence_raw,arousal_raw,valence,arousal\n")
        for i in range(FRAMES):
            fh.write("%d,%.9f,%.9f,%.9f,%.9f\n" % (i + 1, raw_v[i], raw_a[i], sv[i], sa[i]))
    print("wrote %s (%d frames); CA head check against heads.golden: %.2g" % (args.out, FRAMES, err))


if __name__ == "__main__":
    main()
