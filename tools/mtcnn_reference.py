#!/usr/bin/env python3
"""Reference face detections from facenet-pytorch's MTCNN, for emopipe's parity test (Tests/FaceTests/MTCNNParityTests).

  make face-eval
  PY=../pyenv/bin/python               # any venv made by tools/pyenv.sh (e.g. sh tools/pyenv.sh ../pyenv), plus the two packages below
  $PY -m pip install --no-deps facenet-pytorch==2.6.0 opencv-python-headless
  $PY tools/mtcnn_reference.py [--eval .build/face-eval] [--out Fixtures/faces] [--every 4]

Runs `MTCNN().detect(img, landmarks=True)` with its defaults (min face 20 px, thresholds 0.6/0.7/0.7, factor 0.709)
on every picture of the face evaluation set and on every `--every`-th frame of the real face video, and writes
  mtcnn_eval_pictures.json   every detection of every picture (faces and face-free scenes)
  mtcnn_real_video.json      every detection of the sampled video frames (1-based frame numbers)
  reference_crop_<photo>.png the 112x112 crop of the first face of <photo>__orig made from the reference landmarks
                             with the ArcFace five-point template, the way insightface's `norm_crop` makes it
                             (least-squares similarity, Umeyama; `cv2.warpAffine`, bilinear, black border)
A detection is [x1, y1, x2, y2, probability, left_eye_x, left_eye_y, right_eye_x, right_eye_y, nose_x, nose_y,
mouth_left_x, mouth_left_y, mouth_right_x, mouth_right_y] in image pixels, as `detect` returns them.
Each picture/frame carries a checksum of its RGB bytes (sum of byte * (index mod 65521 + 1), mod 2^64) so the test
knows it reads the same pixels.

Video frames are decoded by the ffmpeg command-line tool to rgb24 with bicubic swscale (emopipe's decoder settings);
the test checks the checksums against emopipe's own decoding.

torchvision's compiled `nms` is not available in tools/pyenv.sh's venv, so `batched_nms` in facenet-pytorch's
`detect_face` module is replaced by `plain_batched_nms` below: the same algorithm as torchvision's CPU kernel
(torchvision/csrc/ops/cpu/nms_kernel.cpp: boxes sorted by score, descending and stable; area (x2-x1)*(y2-y1);
a box is dropped when its IoU with a kept one is > the threshold; float32 arithmetic) with boxes of different
images offset apart (torchvision's `_batched_nms_coordinate_trick`). Nothing else of facenet-pytorch is changed.
Never used at run time.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import torch

import facenet_pytorch
from facenet_pytorch import MTCNN
from facenet_pytorch.models.utils import detect_face as fp_detect

ARCFACE_112 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                        [41.5493, 92.3655], [70.7299, 92.2041]], dtype=np.float64)


def plain_nms(boxes, scores, iou_threshold):
    """torchvision.ops.nms in plain torch (see the module docstring)."""
    if boxes.numel() == 0:
        return torch.empty((0,), dtype=torch.int64)
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = (x2 - x1) * (y2 - y1)
    order = torch.sort(scores, descending=True, stable=True)[1].tolist()
    suppressed = [False] * len(order)
    keep = []
    for a, i in enumerate(order):
        if suppressed[i]:
            continue
        keep.append(i)
        rest = torch.tensor(order[a + 1:], dtype=torch.int64)
        if rest.numel() == 0:
            break
        w = (torch.minimum(x2[i], x2[rest]) - torch.maximum(x1[i], x1[rest])).clamp(min=0)
        h = (torch.minimum(y2[i], y2[rest]) - torch.maximum(y1[i], y1[rest])).clamp(min=0)
        inter = w * h
        iou = inter / (areas[i] + areas[rest] - inter)
        for j, over in zip(rest.tolist(), (iou.double() > iou_threshold).tolist()):
            if over:
                suppressed[j] = True
    return torch.tensor(keep, dtype=torch.int64)


def plain_batched_nms(boxes, scores, idxs, iou_threshold):
    if boxes.numel() == 0:
        return torch.empty((0,), dtype=torch.int64, device=boxes.device)
    offsets = idxs.to(boxes) * (boxes.max() + torch.tensor(1).to(boxes))
    return plain_nms(boxes + offsets[:, None], scores, iou_threshold)


fp_detect.batched_nms = plain_batched_nms


def checksum(rgb):
    flat = rgb.reshape(-1).astype(np.uint64)
    weights = (np.arange(flat.size, dtype=np.uint64) % np.uint64(65521)) + np.uint64(1)
    return int((flat * weights).sum(dtype=np.uint64))


def detections(mtcnn, rgb):
    boxes, probs, points = mtcnn.detect(rgb, landmarks=True)
    out = []
    if boxes is None:
        return out
    for b, p, pts in zip(boxes, probs, points):
        row = [round(float(v), 4) for v in b] + [round(float(p), 7)]
        row += [round(float(v), 4) for v in np.asarray(pts).reshape(-1)]
        out.append(row)
    return out


def read_ppm(path):
    with open(path, "rb") as f:
        data = f.read()
    # Binary PPM (P6) as ffmpeg writes it: "P6\n<w> <h>\n255\n" then the pixels.
    parts = data.split(maxsplit=4)
    assert parts[0] == b"P6" and parts[3] == b"255", path
    w, h = int(parts[1]), int(parts[2])
    return np.frombuffer(parts[4][: w * h * 3], dtype=np.uint8).reshape(h, w, 3)


def umeyama_similarity(src, dst):
    """Least-squares similarity src -> dst (Umeyama 1991, with scale), as a 2x3 matrix."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    e = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        e[1, 1] = -1
    r = u @ e @ vt
    scale = np.trace(np.diag(sig) @ e) / s.var(0).sum()
    t = mu_d - scale * r @ mu_s
    return np.hstack([scale * r, t[:, None]])


def video_frames(path):
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
                            "-of", "csv=p=0", path], check=True, capture_output=True, text=True).stdout.strip()
    w, h = map(int, probe.split(",")[:2])
    proc = subprocess.Popen(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", path, "-sws_flags", "bicubic",
                             "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], stdout=subprocess.PIPE)
    n = 0
    while True:
        buf = proc.stdout.read(w * h * 3)
        if len(buf) < w * h * 3:
            break
        n += 1
        yield n, np.frombuffer(buf, dtype=np.uint8).reshape(h, w, 3)
    proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--eval", default=".build/face-eval")
    ap.add_argument("--out", default="Fixtures/faces")
    ap.add_argument("--every", type=int, default=4, help="video: every N-th frame, starting with frame 1")
    args = ap.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    os.makedirs(args.out, exist_ok=True)
    mtcnn = MTCNN()   # the defaults: min_face_size 20, thresholds [0.6, 0.7, 0.7], factor 0.709
    header = {
        "generator": "tools/mtcnn_reference.py",
        "reference": "facenet-pytorch %s MTCNN.detect(img, landmarks=True), default settings" % facenet_pytorch.__version__
        if hasattr(facenet_pytorch, "__version__") else "facenet-pytorch 2.6.0 MTCNN.detect(img, landmarks=True), default settings",
        "torch": torch.__version__,
        "nms": "plain-torch batched_nms with torchvision's CPU semantics (see the script)",
        "columns": ["x1", "y1", "x2", "y2", "probability", "left_eye_x", "left_eye_y", "right_eye_x", "right_eye_y",
                    "nose_x", "nose_y", "mouth_left_x", "mouth_left_y", "mouth_right_x", "mouth_right_y"],
    }

    pictures = []
    for name in sorted(os.listdir(args.eval)):
        if not name.endswith(".ppm"):
            continue
        rgb = read_ppm(os.path.join(args.eval, name))
        dets = detections(mtcnn, rgb)
        pictures.append({"name": name, "width": rgb.shape[1], "height": rgb.shape[0], "checksum": checksum(rgb),
                         "detections": dets})
        print("%-32s %d detection(s) %s" % (name, len(dets), " ".join("%.3f" % d[4] for d in dets)), file=sys.stderr)
        stem = name[:-4]
        if stem in ("astronaut__orig", "grace_hopper__orig") and dets:
            import cv2
            pts = np.array(dets[0][5:15], dtype=np.float64).reshape(5, 2)
            m = umeyama_similarity(pts, ARCFACE_112)
            crop = cv2.warpAffine(np.ascontiguousarray(rgb), m, (112, 112), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            from PIL import Image
            Image.fromarray(crop).save(os.path.join(args.out, "reference_crop_%s.png" % stem.split("__")[0]), optimize=True)
    with open(os.path.join(args.out, "mtcnn_eval_pictures.json"), "w") as f:
        json.dump(dict(header, pictures=pictures), f, separators=(",", ":"))
        f.write("\n")

    video = os.path.join(args.eval, "real_face_video.mp4")
    frames = []
    for n, rgb in video_frames(video):
        if (n - 1) % args.every:
            continue
        frames.append({"frame": n, "checksum": checksum(rgb), "detections": detections(mtcnn, rgb)})
    with open(os.path.join(args.out, "mtcnn_real_video.json"), "w") as f:
        json.dump(dict(header, video="real_face_video.mp4 (make face-eval)", every=args.every, frames=frames), f,
                  separators=(",", ":"))
        f.write("\n")
    print("mtcnn_reference: %d pictures, %d video frames (%d with a face) -> %s" % (
        len(pictures), len(frames), sum(1 for f in frames if f["detections"]), args.out), file=sys.stderr)


if __name__ == "__main__":
    main()
