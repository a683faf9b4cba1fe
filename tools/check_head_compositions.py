"""Check emopipe's fusion heads, including the BLOCK+GATE compositions that have no golden numbers, against
PyTorch.

  python3 tools/check_head_compositions.py --emopipe .build/release/emopipe [--parity ../shared/parity]

The trunk modules (LSTM wrapper, audio-guided attention, DCNLayer) are written here from shared/spec/heads.md §1;
CA/TCA blocks and the IACA head come from shared/parity/reference/heads_ref.py; a DCA-style gated head is written
here from §5. First the seven named heads are recomputed and compared with heads.golden.safetensors (this checks
the PyTorch modules of this script); then every composition is computed in PyTorch and by
`emopipe tensor head --synthetic-weights`, and compared with the parity tolerance. Needs torch and numpy; writes
only temporary files. Weights follow synth.py (salt ""), inputs are those of the golden file.
"""
import argparse, json, math, os, struct, subprocess, sys, tempfile
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

torch.set_grad_enabled(False)


# --- safetensors without the safetensors package (tools/safetensors_io.py) ---
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io


def read_safetensors(path):
    return {k: torch.from_numpy(v) for k, v in safetensors_io.load(path).items()}


def write_safetensors(path, tensors):
    safetensors_io.save(path, {k: t.numpy() for k, t in tensors.items()})


# --- trunk modules, from heads.md §1 ---
class LSTMWrap(nn.Module):
    """§1.3: BiLSTM h/2 per direction, learned init_hidden (4n, h/2), L2norm(Linear([input, out]))."""

    def __init__(self, embed_size, dim, num_layers, dropout, residual_embeddings=True):
        super().__init__()
        self.n = num_layers
        self.linear = nn.Linear(dim + embed_size, dim)
        self.rnn = nn.LSTM(embed_size, dim // 2, num_layers=num_layers, bidirectional=True, batch_first=True)
        self.init_hidden = nn.Parameter(torch.zeros(4 * num_layers, dim // 2))

    def forward(self, x):
        b = x.shape[0]
        h0 = self.init_hidden[: 2 * self.n].unsqueeze(1).expand(-1, b, -1).contiguous()
        c0 = self.init_hidden[2 * self.n:].unsqueeze(1).expand(-1, b, -1).contiguous()
        out, _ = self.rnn(x, (h0, c0))
        return F.normalize(self.linear(torch.cat([x, out], -1)), dim=-1)


class Attn(nn.Module):
    def __init__(self):
        super().__init__()
        self.affine_audio = nn.Linear(512, 512)
        self.affine_video = nn.Linear(512, 512)
        self.affine_v = nn.Linear(512, 49, bias=False)
        self.affine_g = nn.Linear(512, 49, bias=False)
        self.affine_h = nn.Linear(49, 1, bias=False)
        self.affine_feat = nn.Linear(512, 512)


class BottomUpExtract(nn.Module):
    """§1.2, with the raw (49, 512) rows and the transposed audio broadcast."""

    def __init__(self, a, b):
        super().__init__()
        self.attn = Attn()

    def forward(self, video, audio):
        m = self.attn
        B, L = video.shape[:2]
        V = video.reshape(B * L, 49, 512)
        v = F.relu(m.affine_video(V))
        a = F.relu(m.affine_audio(audio.reshape(B * L, -1)))
        content = m.affine_v(v) + m.affine_g(a).unsqueeze(2)      # (n, 49, 49) + (n, 49, 1)
        z = m.affine_h(torch.tanh(content)).squeeze(2)
        alpha = torch.softmax(z, -1).unsqueeze(1)
        return m.affine_feat(torch.bmm(alpha, V).reshape(B, L, 512))


class DenseCoAttn(nn.Module):
    def __init__(self, d1, d2, L=16):
        super().__init__()
        d = d1 + d2
        self.query_linear = nn.Linear(d, d)
        self.key1_linear = nn.Linear(L, L)
        self.key2_linear = nn.Linear(L, L)
        self.value1_linear = nn.Linear(d1, d1)
        self.value2_linear = nn.Linear(d2, d2)


class SubLayer(nn.Module):
    def __init__(self, d1, d2):
        super().__init__()
        self.dense_coattn = DenseCoAttn(d1, d2)
        self.linears = nn.ModuleList([nn.Sequential(nn.Linear(d1 + d2, d1), nn.ReLU()),
                                      nn.Sequential(nn.Linear(d1 + d2, d2), nn.ReLU())])

    def forward(self, x1, x2):
        c = self.dense_coattn
        q = c.query_linear(torch.cat([x1, x2], -1))
        D = q.shape[-1]

        def att(key, value):
            s = torch.tanh(torch.bmm(key, q) / math.sqrt(D))
            return F.relu(torch.tanh(torch.bmm(value, s)))

        h1 = att(c.key1_linear(x1.transpose(1, 2)), c.value1_linear(x1))
        h2 = att(c.key2_linear(x2.transpose(1, 2)), c.value2_linear(x2))
        return x1 + self.linears[0](h1), x2 + self.linears[1](h2)


class DCNLayer(nn.Module):
    """§1.4: num_seq stacked sub-layers with their own weights."""

    def __init__(self, d1, d2, num_seq, dropout):
        super().__init__()
        self.dcn_layers = nn.ModuleList([SubLayer(d1, d2) for _ in range(num_seq)])

    def forward(self, x1, x2):
        for layer in self.dcn_layers:
            x1, x2 = layer(x1, x2)
        return x1, x2


# --- heads ---
def load_ref(parity):
    sys.path.insert(0, os.path.join(parity, "reference"))
    import synth, heads_ref
    return synth, heads_ref


def build(name, heads_ref):
    """The PyTorch module for a head name (the seven, or BLOCK+GATE as emopipe parses it)."""
    gate = None
    block_name = name
    if "+" in name:
        block_name, gate = name.split("+")
    if name == "dca":
        block_name, gate = "rjca2", "dca"
    if name == "iaca":
        block_name, gate = "rjca2", "iaca"
    plain_trunk = block_name.startswith("jca")
    if block_name == "ca":
        block = heads_ref.CABlock()
    elif block_name == "tca":
        block = heads_ref.TCABlock()
    elif block_name.startswith("rjca"):
        n = int(block_name[4:] or (2 if gate else 1))
        block = DCNLayer(512, 512, n, 0.6)
    elif block_name.startswith("jca"):
        block = DCNLayer(512, 512, int(block_name[3:] or 1), 0.6)
    else:
        raise ValueError(name)

    if gate == "iaca":
        head = heads_ref.IACAHead(LSTMWrap, BottomUpExtract, block)
    elif gate == "dca":
        head = DCAHead(heads_ref, block)
    else:
        head = heads_ref.PlainHead(LSTMWrap, BottomUpExtract, block)
    if plain_trunk:
        del head.audio_extract, head.video_extract
        head.trunk = lambda audio_in, visual_in: plain_trunk_forward(head, audio_in, visual_in)
    return head.eval()


def plain_trunk_forward(head, audio_in, visual_in):
    """JCA trunk (§3.1): no BiLSTMs; video_attn with the normalised raw audio."""
    video = F.normalize(visual_in, dim=-1)
    audio = F.normalize(audio_in, dim=-1)
    return head.video_attn(video, audio), audio


class DCAHead(nn.Module):
    """§5.1 with any block: per-modality 2-way gate (T = 0.1), then Joint BiLSTM and regressors."""

    def __init__(self, heads_ref, block):
        super().__init__()
        self.audio_extract = LSTMWrap(512, 512, 2, 0.1)
        self.video_extract = LSTMWrap(512, 512, 2, 0.1)
        self.video_attn = BottomUpExtract(512, 512)
        self.coattn = block
        self.audio_gating_fc_layer = nn.Linear(512, 2)
        self.video_gating_fc_layer = nn.Linear(512, 2)
        self.Joint = LSTMWrap(1024, 512, 2, 0)
        self.vregressor = heads_ref.regressor()
        self.aregressor = heads_ref.regressor()
        self.trunk = lambda a, v: heads_ref.Trunk.trunk(self, a, v)

    def forward(self, audio_in, visual_in):
        video, audio = self.trunk(audio_in, visual_in)
        att_v, att_a = self.coattn(video, audio)
        gv = torch.softmax(self.video_gating_fc_layer(att_v) / 0.1, -1)
        ga = torch.softmax(self.audio_gating_fc_layer(att_a) / 0.1, -1)
        v = F.relu(gv[..., 0:1] * video + gv[..., 1:2] * att_v)
        a = F.relu(ga[..., 0:1] * audio + ga[..., 1:2] * att_a)
        f = self.Joint(torch.cat([v, a], -1))
        return self.vregressor(f).squeeze(2), self.aregressor(f).squeeze(2)


def parity(ours, ref):
    d = (ours - ref).abs().max().item()
    bound = 1e-4 * max(1.0, ref.abs().max().item())
    return d, bound


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--emopipe", required=True)
    ap.add_argument("--parity", default=os.path.join(here, "..", "..", "shared", "parity"))
    ap.add_argument("--heads", default="ca+iaca,tca+iaca,jca+iaca,rjca+iaca,ca+dca,tca+dca,jca+dca,rjca1+iaca,rjca3+dca,jca2")
    args = ap.parse_args()
    synth, heads_ref = load_ref(args.parity)
    golden = read_safetensors(os.path.join(args.parity, "heads.golden.safetensors"))
    audio, visual = golden["audio"], golden["visual"]
    failures = 0

    print("PyTorch modules of this script vs the goldens:")
    for name in ("ca", "jca", "rjca", "dca", "iaca", "tca"):
        head = build(name, heads_ref)
        sd = synth.fill_state_dict(head, "")
        keys = [l.split()[0] for l in open(os.path.join(args.parity, "head_%s.keys.txt" % name))]
        assert sorted(sd) == sorted(keys), (name, set(sd) ^ set(keys))
        v, a = head(audio, visual)
        dv, b = parity(v, golden[name + ".valence"])
        da, _ = parity(a, golden[name + ".arousal"])
        ok = dv <= b and da <= b
        failures += not ok
        print("  %-5s valence %.2e arousal %.2e %s" % (name, dv, da, "ok" if ok else "FAIL"))

    print("emopipe vs PyTorch on the compositions:")
    with tempfile.TemporaryDirectory() as tmp:
        inp = os.path.join(tmp, "in.safetensors")
        write_safetensors(inp, {"audio": audio, "visual": visual})
        for name in args.heads.split(","):
            head = build(name, heads_ref)
            synth.fill_state_dict(head, "")
            v, a = head(audio, visual)
            out = os.path.join(tmp, "out.safetensors")
            r = subprocess.run([args.emopipe, "tensor", "head", "--head", name, "--synthetic-weights",
                                "--input", inp, "--output", out], capture_output=True, text=True)
            if r.returncode != 0:
                print("  %-10s emopipe failed: %s" % (name, r.stderr.strip()))
                failures += 1
                continue
            ours = read_safetensors(out)
            dv, b = parity(ours["valence"], v)
            da, _ = parity(ours["arousal"], a)
            ok = dv <= b and da <= b
            failures += not ok
            print("  %-10s valence %.2e arousal %.2e (|ref| up to %.3f) %s"
                  % (name, dv, da, max(v.abs().max().item(), a.abs().max().item()), "ok" if ok else "FAIL"))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
