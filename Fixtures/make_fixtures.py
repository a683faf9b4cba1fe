#!/usr/bin/env python3
"""Makes the media fixture clips and their expectations (expected.json) with the ffmpeg/ffprobe command-line tools.

Run from the package root:  python3 Fixtures/make_fixtures.py   (or `make fixtures`).
Everything here is synthetic (lavfi test sources and tones), so it carries no licence burden.
The expectations are what the ffmpeg tools report for each clip (frame counts, timestamps, pixel samples after
conversion to RGB, audio sample counts and tone positions): an independent check of emopipe's own decoding.
"""
import json, os, struct, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
MEDIA = os.path.join(HERE, "media")


def run(*args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def ffmpeg(*args):
    run("ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args)


def probe(path, *args):
    out = subprocess.run(["ffprobe", "-v", "error", "-of", "json", *args, path], check=True, capture_output=True).stdout
    return json.loads(out)


def video_frames(path):
    """Per-frame presentation times (s) as ffprobe decodes them."""
    j = probe(path, "-select_streams", "v:0", "-show_entries", "frame=best_effort_timestamp_time,pts_time")
    out = []
    for f in j["frames"]:
        t = f.get("best_effort_timestamp_time", f.get("pts_time"))
        out.append(float(t))
    return out


def stream_start(path, kind):
    j = probe(path, "-select_streams", kind + ":0", "-show_entries", "stream=start_time")
    s = j["streams"]
    return float(s[0]["start_time"]) if s and "start_time" in s[0] else None


def rgb_samples(path, width, height, points, frames):
    """RGB values at `points` for the given frame indices, decoded by the ffmpeg CLI to rgb24."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         check=True, capture_output=True).stdout
    size = width * height * 3
    out = {}
    for fi in frames:
        frame = raw[fi * size:(fi + 1) * size]
        out[str(fi)] = [list(frame[(y * width + x) * 3:(y * width + x) * 3 + 3]) for (x, y) in points]
    return out


def mono_samples(path):
    """Audio as `ffmpeg -ac 1 -ar 44100` float32 decodes it (from the audio stream's own start)."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-vn", "-ac", "1", "-ar", "44100", "-f", "f32le", "-"],
                         check=True, capture_output=True).stdout
    return struct.unpack("<%df" % (len(raw) // 4), raw)


def tone_onset(samples, threshold=0.05):
    for i, v in enumerate(samples):
        if abs(v) > threshold:
            return i
    return None


def main():
    os.makedirs(MEDIA, exist_ok=True)
    exp = {}
    pts = [(8, 8), (160, 120), (300, 200), (50, 230)]

    # 1. H.264 + AAC 48 kHz stereo in MP4; the audio starts 0.25 s after the video, and a 1 kHz burst sits at
    #    1.00–1.20 s of video time (0.75–0.95 s of the audio stream's own time).
    p = os.path.join(MEDIA, "av_48k_stereo.mp4")
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30:duration=3",
           "-itsoffset", "0.25",
           "-f", "lavfi", "-i", "aevalsrc='if(between(t,0.75,0.95),0.5*sin(2*PI*1000*t),0)|if(between(t,0.75,0.95),0.3*sin(2*PI*1000*t),0)':s=48000:d=2.75",
           "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "veryfast", "-crf", "30", "-pix_fmt", "yuv420p",
           "-c:a", "aac", "-b:a", "48k", "-movflags", "+faststart", p)
    mono = mono_samples(p)
    exp["av_48k_stereo.mp4"] = {
        "width": 320, "height": 240, "frame_rate": 30, "times": video_frames(p),
        "video_start": stream_start(p, "v"), "audio_start": stream_start(p, "a"),
        "audio_channels": 2, "audio_rate": 48000,
        "rgb_points": pts, "rgb": rgb_samples(p, 320, 240, pts, [0, 45, 89]),
        "cli_mono_samples": len(mono), "cli_mono_tone_onset": tone_onset(mono),
        "tone_onset_video_time": 1.0,
    }

    # 2. No audio.
    p = os.path.join(MEDIA, "noaudio.mp4")
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=30:duration=1",
           "-c:v", "libx264", "-preset", "veryfast", "-crf", "30", "-pix_fmt", "yuv420p", p)
    exp["noaudio.mp4"] = {"width": 160, "height": 120, "times": video_frames(p)}

    # 3. 25 fps, mono 44.1 kHz audio starting with the video; solid colour halves (known pattern).
    p = os.path.join(MEDIA, "25fps.mp4")
    ffmpeg("-f", "lavfi", "-i", "color=c=0xC83214:size=96x64:rate=25:duration=2",
           "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=2",
           "-c:v", "libx264", "-preset", "veryfast", "-qp", "0", "-pix_fmt", "yuv444p",
           "-c:a", "aac", "-b:a", "48k", "-shortest", p)
    exp["25fps.mp4"] = {"width": 96, "height": 64, "frame_rate": 25, "times": video_frames(p),
                        "rgb_points": [(0, 0), (50, 30)], "rgb": rgb_samples(p, 96, 64, [(0, 0), (50, 30)], [0, 49]),
                        "nominal_rgb": [200, 50, 20]}

    # 4. Variable frame rate: 30 fps for the first second, then 10 fps for a second (timestamps kept as they are).
    p = os.path.join(MEDIA, "vfr.mkv")
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=30:duration=2",
           "-vf", "select='lt(t,1)+eq(mod(n,3),0)'", "-fps_mode", "vfr",
           "-c:v", "libx264", "-preset", "veryfast", "-crf", "30", "-pix_fmt", "yuv420p", p)
    exp["vfr.mkv"] = {"width": 160, "height": 120, "times": video_frames(p)}

    # 5. Truncated: a clip cut at 55% of its bytes.
    full = os.path.join(MEDIA, "_full.mkv")
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=30:duration=2",
           "-c:v", "libx264", "-preset", "veryfast", "-crf", "30", "-g", "10", "-pix_fmt", "yuv420p", full)
    p = os.path.join(MEDIA, "truncated.mkv")
    data = open(full, "rb").read()
    open(p, "wb").write(data[: int(len(data) * 0.55)])
    os.remove(full)
    exp["truncated.mkv"] = {"full_frames": 60, "decodable_frames": len(video_frames(p))}

    # 6. Rotation metadata: stored 160×96 with a display matrix (set by stream copy with the `rotate` tag).
    #    The ffmpeg CLI applies it when decoding (autorotate); its RGB output is the expectation.
    p = os.path.join(MEDIA, "rotated.mp4")
    plain = os.path.join(MEDIA, "_plain.mp4")
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x96:rate=30:duration=0.5",
           "-c:v", "libx264", "-preset", "veryfast", "-crf", "30", "-pix_fmt", "yuv444p", plain)
    ffmpeg("-i", plain, "-c", "copy", "-metadata:s:v:0", "rotate=90", p)
    os.remove(plain)
    j = probe(p, "-select_streams", "v:0", "-show_entries", "stream_side_data=rotation")
    rpts = [(5, 5), (90, 10), (10, 150), (48, 80)]
    exp["rotated.mp4"] = {"stored_width": 160, "stored_height": 96, "width": 96, "height": 160,
                          "ffprobe_rotation": j["streams"][0]["side_data_list"][0]["rotation"],
                          "frames": len(video_frames(p)), "rgb_points": rpts, "rgb": rgb_samples(p, 96, 160, rpts, [0, 7])}

    # 7. Corrupt packets: MJPEG in AVI, with the whole content of packets 5 and 11 overwritten by zeros.
    p = os.path.join(MEDIA, "corrupt.avi")
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=30:duration=0.6", "-c:v", "mjpeg", "-q:v", "10", p)
    j = probe(p, "-select_streams", "v:0", "-show_entries", "packet=pos,size")
    data = bytearray(open(p, "rb").read())
    for k in (5, 11):
        pos = int(j["packets"][k]["pos"])
        size = int(j["packets"][k]["size"])
        data[pos:pos + size] = b"\x00" * size
    open(p, "wb").write(bytes(data))
    exp["corrupt.avi"] = {"packets": len(j["packets"]), "corrupted": [5, 11]}

    # 8. Unsupported codec: a Matroska file whose codec id names no codec FFmpeg knows (same length, so EBML stays valid).
    p = os.path.join(MEDIA, "unsupported.mkv")
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10:duration=0.3", "-c:v", "libx264", "-pix_fmt", "yuv420p", p)
    data = open(p, "rb").read()
    assert data.count(b"V_MPEG4/ISO/AVC") == 1
    open(p, "wb").write(data.replace(b"V_MPEG4/ISO/AVC", b"V_EMOPIPE/NONE/"))
    exp["unsupported.mkv"] = {}

    # 9. Audio only (no video stream): 0.3 s of AAC in M4A.
    p = os.path.join(MEDIA, "audio_only.m4a")
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=300:sample_rate=22050:duration=0.3", "-c:a", "aac", "-b:a", "24k", p)
    exp["audio_only.m4a"] = {}

    # 10. An Aff-Wild2-style cropped_aligned folder: 112×112 JPEGs 00001…00006, 00004 missing (no face there).
    seq = os.path.join(HERE, "cropped_aligned", "clip")
    os.makedirs(seq, exist_ok=True)
    for name in os.listdir(seq):
        os.remove(os.path.join(seq, name))
    for n in (1, 2, 3, 5, 6):
        c = ["0x202020", "0x404040", "0x606060", "0x808080", "0xA0A0A0", "0xC0C0C0"][n - 1]
        ffmpeg("-f", "lavfi", "-i", "color=c=%s:size=112x112" % c, "-frames:v", "1", "-q:v", "2",
               os.path.join(seq, "%05d.jpg" % n))
    exp["cropped_aligned/clip"] = {"frame_count": 6, "missing": [4], "gray": {"1": 32, "2": 64, "3": 96, "5": 160, "6": 192}}

    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump(exp, f, indent=1, sort_keys=True)
    total = sum(os.path.getsize(os.path.join(r, n)) for r, _, ns in os.walk(HERE) for n in ns)
    print("fixtures written, %d bytes in Fixtures/" % total)


if __name__ == "__main__":
    main()
