#!/usr/bin/env python3
"""Writes the torch.save fixtures of CheckpointTests into Fixtures/checkpoints/.

Each checkpoint is written by real `torch.save`, in the zip format (the default), the legacy format
(`_use_new_zipfile_serialization=False`, what PyTorch <= 1.5 wrote) and, for one of them, pickle protocol 4.
Beside each object, `<object>.expected.safetensors` holds the tensors `torch.load` gives back, flattened the
way `emopipe convert` names them (unwrap 'state_dict'/'net', flatten nested dicts with '.', drop a leading
'module.', skip non-tensors), each made contiguous and stored in its own dtype. Values are arange-based
(no random numbers), so rerunning the script reproduces the same tensors.

`extras.*.pt` store objects of other classes beside the weights (argparse.Namespace, optimizer state).
Also written: `archive.zip` (a deflated zip holding a checkpoint, like the downloaded TSAV archive),
`whole_module.pt` (a pickled nn.Module, which must be refused) and `no_tensors.pt`
(a dict without tensors, which is not a state dict).

usage: pip install torch numpy; python3 tools/make_checkpoint_fixtures.py
"""
import argparse
import collections
import json
import os
import struct
import zipfile

import numpy as np
import torch
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Fixtures", "checkpoints")


def ramp(n, dtype=torch.float32, start=-3.0, step=0.25):
    """start, start+step, … (exactly representable in float16/bfloat16 for the sizes used here)."""
    return (torch.arange(n, dtype=torch.float64) * step + start).to(dtype)


def nested_checkpoint():
    """TSAV-like: a dict with 'state_dict', `module.` prefixes, nested dicts, shared storages and views."""
    base = ramp(48)  # one storage shared by the five views below
    sd = collections.OrderedDict()
    sd["module.conv.weight"] = ramp(24).reshape(2, 3, 2, 2)
    sd["module.conv.bias"] = ramp(2, start=1.0)
    sd["module.view.offset"] = base[5:17].view(3, 4)                    # storage offset 5
    sd["module.view.transposed"] = base[:12].view(3, 4).t()             # non-contiguous
    sd["module.view.stepped"] = base[1:40:3]                            # slicing with step 3
    sd["module.view.column"] = base.view(6, 8)[:, 2]                    # stride 8, offset 2
    sd["module.view.permuted"] = base[:24].view(2, 3, 4).permute(2, 0, 1)
    sd["module.bn.running_var"] = ramp(4, start=0.5)
    sd["module.bn.num_batches_tracked"] = torch.tensor(7)               # int64 scalar
    sd["module.half.weight"] = ramp(6, torch.float16).reshape(2, 3)
    sd["module.half.transposed"] = ramp(6, torch.float16, start=1.0).reshape(2, 3).t()
    sd["module.head"] = {"inner": {"weight": ramp(4).reshape(2, 2)}, "bias": ramp(2, start=2.0)}
    sd["module.expanded"] = ramp(3).view(3, 1).expand(3, 4)             # stride 0
    sd["module.empty"] = torch.zeros(0, 3)
    return {"state_dict": sd, "epoch": 12, "arch": "fixture", "best_acc": 0.5}


def net_checkpoint():
    """JCA/DCA-like: {'net': state dict, accuracies as numpy and Python floats, epoch}; more dtypes."""
    net = collections.OrderedDict()
    net["fc.weight"] = ramp(6).reshape(3, 2)
    net["fc.bias"] = ramp(3, torch.bfloat16)
    net["scale"] = ramp(4, torch.float64, step=0.125)
    net["index"] = torch.arange(5, dtype=torch.int32) - 2
    net["code"] = torch.arange(250, 256, dtype=torch.uint8)
    net["mask"] = torch.tensor([True, False, True])
    net["gate"] = nn.Parameter(ramp(4, start=0.0))                        # pickled via _rebuild_parameter
    net["steps"] = torch.arange(6, dtype=torch.int64).reshape(2, 3).t()
    return {"net": net, "best_Val_accV": np.float64(0.4), "best_Val_accA": 0.3, "best_Val_acc_epoch": 5}


def bare_checkpoint():
    """JMT-like: a real module's state dict (with its _metadata) under nn.DataParallel's `module.` prefix."""
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(2, 2))
    with torch.no_grad():
        for i, (name, t) in enumerate(model.state_dict().items()):
            if t.is_floating_point():
                t.copy_(ramp(t.numel(), start=0.5 * i).reshape(t.shape))
            else:
                t.fill_(3 + i)
    return nn.DataParallel(model).state_dict()


def extras_checkpoint():
    """Objects of other classes beside the weights (training arguments, optimizer state): refused by default,
    read as inert placeholders with --skip-unknown-objects. One inside the state dict is skipped, never a tensor."""
    model = nn.Linear(3, 2)
    with torch.no_grad():
        model.weight.copy_(ramp(6).reshape(2, 3))
        model.bias.copy_(ramp(2, start=1.0))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.ones(1, 3)).sum().backward()
    opt.step()
    sd = model.state_dict()
    sd["note"] = argparse.Namespace(comment="not a tensor")
    return {"state_dict": sd, "args": argparse.Namespace(lr=0.1, name="run"), "optimizer": opt.state_dict()}


SAFETENSORS_DTYPE = {
    torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
    torch.int64: "I64", torch.int32: "I32", torch.uint8: "U8", torch.bool: "BOOL",
}


def expected_tensors(obj):
    """The naming rule of emopipe convert, applied to what torch.load returned."""
    d = obj
    for _ in range(4):
        for key in ("state_dict", "net"):
            if isinstance(d.get(key), dict):
                d = d[key]
                break
        else:
            break
    out = []

    def walk(dd, prefix):
        for k, v in dd.items():
            name = prefix + str(k)
            if isinstance(v, torch.Tensor):
                out.append((name[len("module."):] if name.startswith("module.") else name, v.detach()))
            elif isinstance(v, dict):
                walk(v, name + ".")

    walk(d, "")
    return out


def tensor_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    return t.numpy().tobytes()  # little-endian on every machine torch supports here


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors:
        b = tensor_bytes(t)
        header[name] = {"dtype": SAFETENSORS_DTYPE[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def same(a, b):
    return len(a) == len(b) and all(n1 == n2 and t1.dtype == t2.dtype and t1.shape == t2.shape and tensor_bytes(t1) == tensor_bytes(t2)
                                    for (n1, t1), (n2, t2) in zip(a, b))


def main():
    os.makedirs(OUT, exist_ok=True)
    objects = {"nested": nested_checkpoint(), "net": net_checkpoint(), "bare": bare_checkpoint(), "extras": extras_checkpoint()}
    for name, obj in objects.items():
        files = {f"{name}.zip.pt": {}, f"{name}.legacy.pt": {"_use_new_zipfile_serialization": False}}
        if name == "nested":
            files[f"{name}.proto4.pt"] = {"pickle_protocol": 4}
        loaded = []
        for file, kwargs in files.items():
            path = os.path.join(OUT, file)
            torch.save(obj, path, **kwargs)
            loaded.append(expected_tensors(torch.load(path, weights_only=False)))
        assert all(same(loaded[0], other) for other in loaded[1:]), f"{name}: formats load differently"
        write_safetensors(os.path.join(OUT, f"{name}.expected.safetensors"), loaded[0])
        print(name, [file for file in files], len(loaded[0]), "tensors")
    torch.save(nn.Linear(2, 2), os.path.join(OUT, "whole_module.pt"))
    # A downloaded archive holding a checkpoint (like aff2model_tntsub4.zip): deflated entries, no data.pkl.
    with zipfile.ZipFile(os.path.join(OUT, "archive.zip"), "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("model2/README.txt", "the checkpoint is inside\n" * 4)
        z.write(os.path.join(OUT, "net.legacy.pt"), "model2/net.legacy.pt")
    torch.save({"epoch": 3, "name": "no tensors here"}, os.path.join(OUT, "no_tensors.pt"))
    print("torch", torch.__version__)


if __name__ == "__main__":
    main()
