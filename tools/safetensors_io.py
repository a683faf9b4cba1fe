"""Minimal safetensors reading and writing with numpy only, shared by the tools/ scripts (no safetensors package)."""
import json
import struct

import numpy as np

DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64, "I32": np.int32, "U8": np.uint8}


def load(path):
    """name → numpy array (a copy) for every tensor of the file."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        b, e = v["data_offsets"]
        out[k] = np.frombuffer(data[b:e], dtype=DTYPES[v["dtype"]]).reshape(v["shape"]).copy()
    return out


def save(path, tensors):
    """Writes float32 tensors (numpy arrays or anything np.asarray takes) in the given order."""
    header, blobs, offset = {}, [], 0
    for k, t in tensors.items():
        b = np.ascontiguousarray(np.asarray(t), dtype=np.float32).tobytes()
        header[k] = {"dtype": "F32", "shape": list(np.shape(t)), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
