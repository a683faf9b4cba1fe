#!/usr/bin/env python3
"""Checks `emopipe convert` on full-size checkpoints laid out like the published ones.

The published weights cannot be shipped or downloaded here, so this builds stand-ins with the same names,
shapes, wrappers and file formats, filled by the project's synthetic rule (shared/parity/reference/synth.py):
  - TSAV_Sub4_544k.pth.tar: legacy torch.save format, {'state_dict': TSAV state dict, 'epoch', 'optimizer'-like extras}
  - jointcam_model.pt: zip format, {'net': JCA head state dict, 'best_Val_accV': numpy float, ...}
  - fusion_w.pt (JMT): zip format, bare state dict with `module.` prefixes
Each is converted by the given emopipe binary WITHOUT --kind/--head (so the kind is inferred) and every output
tensor is compared bit for bit with the rule's values. Nothing is kept: files go to a temporary folder.

usage: python3 tools/check_convert_layouts.py [.build/release/emopipe]   (needs torch, numpy)
"""
import collections
import json
import os
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PARITY = os.environ.get("EMOPIPE_PARITY", os.path.join(os.path.dirname(ROOT), "shared", "parity"))
sys.path.insert(0, os.path.join(PARITY, "reference"))
import synth  # noqa: E402


def keys(file):
    out = []
    for line in open(os.path.join(PARITY, file)):
        if line.strip():
            name, shape, dtype = line.split()
            out.append((name, () if shape == "scalar" else tuple(int(d) for d in shape.split("x")), dtype))
    return out


def state_dict(file, prefix=""):
    sd = collections.OrderedDict()
    for name, shape, _ in keys(file):
        sd[prefix + name] = torch.from_numpy(np.array(synth.parameter(name, shape), copy=True))
    return sd


def read_safetensors(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    header = json.loads(b[8:8 + n])
    return header, b[8 + n:]


def check(binary, path, keyfile, want_kind, want_head):
    out = path + ".safetensors"
    t0 = time.time()
    r = subprocess.run([binary, "convert", path, out], capture_output=True, text=True)
    dt = time.time() - t0
    if r.returncode != 0:
        print(f"FAIL {os.path.basename(path)}: {r.stderr.strip()}")
        return False
    header, data = read_safetensors(out)
    meta = header.pop("__metadata__")
    ok = meta["kind"] == want_kind and meta.get("head") == want_head
    names = [k for k, _, _ in keys(keyfile)]
    ok &= list(header) == names
    for name, shape, dtype in keys(keyfile):
        e = header[name]
        want = synth.parameter(name, shape)
        got = np.frombuffer(data[e["data_offsets"][0]:e["data_offsets"][1]], dtype=np.int64 if dtype == "int64" else np.float32)
        ok &= e["shape"] == list(shape) and np.array_equal(got, want.reshape(-1))
    size = os.path.getsize(path)
    print(f"{'ok  ' if ok else 'FAIL'} {os.path.basename(path)} ({size / 1e6:.1f} MB) -> kind {meta['kind']}"
          f"{' head ' + meta['head'] if 'head' in meta else ''}, {len(names)} tensors, {dt:.2f} s")
    print("     " + r.stderr.strip())
    return ok


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build", "release", "emopipe")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        tsav = os.path.join(tmp, "TSAV_Sub4_544k.pth.tar")
        torch.save({"state_dict": state_dict("tsav.keys.txt"), "epoch": 544, "optimizer": {"lr": 1e-4}}, tsav,
                   _use_new_zipfile_serialization=False)
        ok &= check(binary, tsav, "tsav.keys.txt", "tsav", None)
        jca = os.path.join(tmp, "jointcam_model.pt")
        torch.save({"net": state_dict("head_jca.keys.txt"), "best_Val_accV": np.float64(0.45),
                    "best_Val_accA": np.float64(0.6), "best_Val_acc_epoch": 7}, jca)
        ok &= check(binary, jca, "head_jca.keys.txt", "head", "jca")
        jmt = os.path.join(tmp, "fusion_w.pt")
        torch.save(state_dict("head_jmt.keys.txt", prefix="module."), jmt)
        ok &= check(binary, jmt, "head_jmt.keys.txt", "head", "jmt")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
