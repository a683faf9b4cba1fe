#!/usr/bin/env python3
"""Runs the official JCA and RJCA test path, for real, on the fixture folder of tools/official_fixture.sh, and
writes the official per-frame outputs (raw and smoothed) to Fixtures/official/.

  PY=../pyenv/bin/python   (sh tools/pyenv.sh ../pyenv, plus: pip install --no-deps pandas pytz tzdata tqdm sox)
  sh tools/official_fixture.sh .build/official-fixture
  $PY tools/official_reference.py [--fixture .build/official-fixture] [--mirrors ../.mirror]
                                  [--scratch .build/official-scratch] [--out Fixtures/official] [--ablations]

Nothing of the reference repositories is copied into this project: each is exported (`git archive HEAD`) from its
bare mirror into the scratch folder and run there, in the dataset layout its own code expects. What runs:
  1. JCA's Preprocessing/audio_preprocess.py (mkvmerge, mkvextract timestamps_v2, ffmpeg -ar 44100 -ac 1, SoX via
     the PyPI `sox` module, one `ffmpeg -ss … -to …` wav per frame); its two outputs that the fixture script also
     makes (the trimmed wav, the timestamps file) must be byte-identical to the fixture's.
  2. JCA's Preprocessing/preprocess_labels.py, its test-set part: the per-video csv of every frame.
  3. main.py in Testing mode (config `Mode: Testing`), in the JCA export and in the RJCA export: ImageList_test,
     DataLoader(batch 64, TestPadSequence), Test(): np.clip, uniform_filter1d, results/<video>.txt.
Weights are synthetic (../shared/parity/reference/synth.py, salt ""), keyed by the official state_dict names, written
where main.py loads them (`../ABAW2020TNT/.../TSAV_Sub4_544k.pth.tar` ['state_dict'], `SavedWeights/...pt` ['net']).

Shims (nothing else is changed; none changes a number):
  - paths: the hard-coded folder constants of the two preprocessing scripts are replaced by scratch folders
    (five in audio_preprocess.py, three in preprocess_labels.py); main.py's config file is the shipped
    config_file.json with Mode and the three dataset paths changed;
  - CUDA: Module.cuda / Tensor.cuda / .to('cuda') stay on the CPU;
  - torchvision: r2plus1d_18(pretrained=True) / resnet18(pretrained=…) build the same modules without downloading
    ImageNet/Kinetics weights (every weight is overwritten by the checkpoint right after);
  - torchaudio: the C extension is absent in this venv (as in ../shared/parity/reference/gen.py); torchaudio.load,
    which now needs TorchCodec, is replaced by a WAV reader returning what it returned: float32 = int16 / 32768;
  - modules the test path imports but never calls (plotting, t-SNE, tensorboard, OpenCV, resampy) are empty stubs;
  - models/tsav.py: JCA's and RJCA's forward ends with a classifier (self.fc) that cannot run on the test path's
    flattened visual features and whose output Test() discards; it is skipped, as DCA's copy of the file does;
  - the R(2+1)D-18 forward is memoised per clip on disk (digest of the clip's input bytes and of the stem weights):
    a clip missing from the cache is computed in one call with the other missing clips of the same call, so a
    first run makes exactly the official calls;
  - scipy's uniform_filter1d is wrapped to record its input (the clipped raw outputs) and output (smoothed, float64):
    Test() writes only the smoothed values, rounded to 5 decimals.
The fixture's row 601 is the frame that mkvextract's end-time line adds (docs/protocol.md): the official outputs
have 601 rows for the 600 frames; all of them are written, the last marked.
--ablations also measures, for docs/protocol.md, how far each convention alone moves the outputs: the official
path is re-run with that one convention replaced by emopipe's `clean` one (see ABLATIONS).
"""
import argparse, hashlib, json, os, re, shutil, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
REPOS = {"jca": "praveena2j+Joint-Cross-Attention-for-Audio-Visual-Fusion",
         "rjca": "praveena2j+RecurrentJointAttentionwithLSTMs"}
VIDEOS = ["speech_2997", "speech_25"]
HEAD_FILE = "SavedWeights/Val_model_valence_cnn_lstm_mil_64_new_fd_128.pt"   # main.py, Testing mode
TSAV_FILE = "../ABAW2020TNT/aff2model_tntsub4/model2/TSAV_Sub4_544k.pth.tar"   # main.py, relative to its folder

# Each ablation replaces one official convention by emopipe's clean one (docs/protocol.md, "conventions").
ABLATIONS = {
    "origin": "audio time origin: wav sample 0 at the first video frame, windows at the video's own timestamps",
    "padding": "no left-padding of spectrograms to the longest of the batch",
    "frame1": "frame 1's audio is 45599 zeros, not [0, ts[1]]",
    "framecount": "600 frames: no end-time line",
    "cutlength": "window [round(ss*sr), round(to*sr)), not ffmpeg's round(ss*sr) + round((to-ss)*sr) samples",
    "jpeg": "crops decoded by FFmpeg (mjpeg + swscale) instead of PIL",
    "pastend": "clips ending past the last frame are black, not made of the frames that exist",
}


def sh(cmd, **kw):
    subprocess.run(cmd, check=True, **kw)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def export(mirrors, alias, dst):
    repo = os.path.join(mirrors, REPOS[alias], "repo")
    os.makedirs(dst, exist_ok=True)
    tar = subprocess.run(["git", "-C", repo, "archive", "HEAD"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", dst], input=tar, check=True)
    head = subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    return head


def replace_constants(source, values, path):
    """The path shim: `NAME = '…'` lines of a script replaced by scratch paths (each must be found)."""
    for name, value in values.items():
        pattern = re.compile(r"^(%s\s*=\s*)(['\"]).*?\2\s*$" % re.escape(name), re.M)
        source, n = pattern.subn(lambda m: m.group(1) + repr(value), source)
        if n == 0:
            sys.exit(f"{path}: no `{name} = '…'` line to replace (has the official script changed?)")
    return source


# ---------------------------------------------------------------- official preprocessing (subprocesses)

def run_audio_preprocess(jca, scratch, video_path, v):
    """Preprocessing/audio_preprocess.py on one video, its five folder constants pointed into the scratch."""
    d = os.path.join(scratch, "preprocess")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "Video_files"))
    shutil.copy(video_path, os.path.join(d, "Video_files", v + ".mp4"))
    path = os.path.join(jca, "Preprocessing", "audio_preprocess.py")
    src = replace_constants(open(path).read(), {
        "video_files_dir": os.path.join(d, "Video_files"),
        "output_dir": os.path.join(d, "SegmendtedAudioFiles", "Shift_1_win_32"),
        "timestamps_dir": os.path.join(d, "realtimestamps"),
        "audio_dir": os.path.join(d, "Audio_files"),
        "temp_dir": os.path.join(d, "temp_files"),
    }, path)
    script = os.path.join(d, "audio_preprocess_shimmed.py")
    open(script, "w").write(src)
    with open(os.path.join(d, "log.txt"), "w") as log:
        sh([sys.executable, script, "--data_start_range", "0", "--data_end_range", "1"], cwd=d, stdout=log, stderr=log,
           stdin=subprocess.DEVNULL)
    return d


def run_preprocess_labels(jca, scratch, ts_folder, v):
    """The test-set part of Preprocessing/preprocess_labels.py: <video>.csv with one row per timestamp line."""
    d = os.path.join(scratch, "labels")
    shutil.rmtree(d, ignore_errors=True)
    for s in ("Train_Set", "Validation_Set", "TestSet"):
        os.makedirs(os.path.join(d, "anno", "VA_Estimation_Challenge", s))
    os.makedirs(os.path.join(d, "Test_Set"))
    shutil.copytree(ts_folder, os.path.join(d, "realtimestamps"))
    names = os.path.join(d, "test_set_release.txt")
    open(names, "w").write(v + "\n")
    path = os.path.join(jca, "Preprocessing", "preprocess_labels.py")
    src = open(path).read()
    # The script assigns `anno_path` twice (the annotation root, then the test-set names file): shim each.
    first, second = [m.start() for m in re.finditer(r"^anno_path\s*=", src, re.M)][:2]
    src = (replace_constants(src[:second], {"anno_path": os.path.join(d, "anno")}, path)
           + replace_constants(src[second:], {"anno_path": names, "test_annot_path": os.path.join(d, "Test_Set") + "/"}, path))
    script = os.path.join(d, "preprocess_labels_shimmed.py")
    open(script, "w").write(src)
    sh([sys.executable, script], cwd=d, stdout=subprocess.DEVNULL)
    return os.path.join(d, "Test_Set", v + ".csv")


# ---------------------------------------------------------------- main.py in Testing mode (child process)

def install_shims(cache_dir, record, ablate):
    import types
    import numpy as np
    import torch
    torch.set_num_threads(int(os.environ.get("OFFICIAL_THREADS", "2")))
    # CUDA stays on the CPU.
    torch.nn.Module.cuda = lambda self, *a, **k: self
    torch.Tensor.cuda = lambda self, *a, **k: self
    to = torch.nn.Module.to
    torch.nn.Module.to = lambda self, *a, **k: to(self, *[("cpu" if x == "cuda" else x) for x in a], **k)
    # torchaudio's C extension is absent (pure-Python transforms only), as in ../shared/parity/reference/gen.py.
    fake = types.ModuleType("torchaudio._extension")
    fake._IS_TORCHAUDIO_EXT_AVAILABLE = False
    fake._IS_ALIGN_AVAILABLE = False
    fake.fail_if_no_align = lambda f: f
    fake._check_cuda_version = lambda: None
    sys.modules["torchaudio._extension"] = fake
    import torchaudio
    import wave

    def load(path, *a, **k):
        with wave.open(path) as w:
            assert w.getsampwidth() == 2, path
            x = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, w.getnchannels())
            return torch.from_numpy((x.T.astype(np.float32) / 32768.0).copy()), w.getframerate()
    torchaudio.load = load
    # Weights are loaded from the checkpoint right after construction: build the modules without downloading.
    child_shims_for_models()
    # Modules imported by the test path's files but never called on it.
    for n in ["cv2", "matplotlib", "matplotlib.pyplot", "matplotlib.offsetbox", "sklearn", "sklearn.manifold",
              "sklearn.metrics", "torch.utils.tensorboard", "wandb", "resampy", "soundfile"]:
        m = types.ModuleType(n)
        m.SummaryWriter = lambda *a, **k: types.SimpleNamespace(add_scalar=lambda *a, **k: None, close=lambda: None)
        m.TSNE = m.OffsetImage = m.AnnotationBbox = object
        m.mean_absolute_error = m.mean_squared_error = None
        sys.modules[n] = m
    # The R(2+1)D-18 forward, memoised per clip (digest of the clip's bytes and of the stem weights).
    from torchvision.models.video.resnet import VideoResNet
    forward = VideoResNet.forward
    os.makedirs(cache_dir, exist_ok=True)

    def cached_forward(self, x):
        wkey = hashlib.sha1(self.stem[0].weight.detach().numpy().tobytes()).hexdigest()[:12]
        keys = [hashlib.sha1(c.numpy().tobytes()).hexdigest() + wkey for c in x.contiguous()]
        files = [os.path.join(cache_dir, k + ".npy") for k in keys]
        missing = [i for i, f in enumerate(files) if not os.path.exists(f)]
        missing = [i for i in missing if files[i] not in {files[j] for j in missing if j < i}]   # identical clips once
        if missing:
            y = forward(self, x[missing]) if len(missing) < len(files) else forward(self, x)
            for j, i in enumerate(missing):
                np.save(files[i] + ".tmp.npy", y[j].numpy())
                os.replace(files[i] + ".tmp.npy", files[i])
        return torch.stack([torch.from_numpy(np.load(f)) for f in files])
    VideoResNet.forward = cached_forward
    # Record what Test() smooths: uniform_filter1d's input (clipped raw) and output.
    import scipy.ndimage
    uf = scipy.ndimage.uniform_filter1d

    def recording(x, size, *a, **k):
        y = uf(x, size, *a, **k)
        record.append((size, np.array(x, dtype=np.float64), np.array(y, dtype=np.float64)))
        return y
    scipy.ndimage.uniform_filter1d = recording
    if "jpeg" in ablate:
        from PIL import Image

        def ffmpeg_open(path):
            out = subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", path, "-f", "rawvideo",
                                  "-pix_fmt", "rgb24", "-"], check=True, capture_output=True).stdout
            return Image.frombytes("RGB", (112, 112), out)
        import PIL.Image
        PIL.Image.open = ffmpeg_open
    patch_on_import("models.tsav", patch_tsav)
    if "pastend" in ablate:
        patch_on_import("datasets.dataset_test", lambda m: patch_dataset(m, ablate))
    if "padding" in ablate:
        # Each spectrogram at its own length: the left-padding columns (exact zeros in the normalised domain, which
        # no spectrogram column holds) are stripped and the audio ResNet-18 runs on each spectrogram alone.
        from torchvision.models.resnet import ResNet
        resnet_forward = ResNet.forward

        def unpadded(self, x):
            outs = []
            for b in range(x.shape[0]):
                s = x[b:b + 1]
                used = (s[0, 0] != 0).any(dim=0).nonzero()
                k = int(used[0]) if len(used) else 0
                outs.append(resnet_forward(self, s[..., k:]))
            return torch.cat(outs)
        ResNet.forward = unpadded


def patch_on_import(name, patch):
    """Runs patch(module) right after the export's module `name` is first imported (by main.py)."""
    import importlib.abc, importlib.machinery

    class Hook(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path, target=None):
            if fullname != name:
                return None
            sys.meta_path.remove(self)
            spec = importlib.machinery.PathFinder.find_spec(fullname, path)
            exec_module = spec.loader.exec_module

            def patched(module):
                exec_module(module)
                patch(module)
            spec.loader.exec_module = patched
            return spec
    sys.meta_path.insert(0, Hook())


def patch_tsav(module):
    """JCA's and RJCA's TwoStreamAuralVisualModel.forward ends with self.fc (1024 → 17) on the concatenated features,
    which cannot run on the 25600 features the test path makes (the flattened layer4 replaces the pooled 512) and
    whose result Test() discards (`audio_feat, visualfeat, _ = model(…)`): the shim returns the two features without
    it, as DCA's models/tsav.py (the same file, that line commented out) does."""
    cls = module.TwoStreamAuralVisualModel

    def forward(self, audio, clip):
        return self.audio_model(audio), self.video_model(clip), None
    cls.forward = forward


def patch_dataset(module, ablate):
    import torch
    cls = module.ImageList_test
    if "pastend" in ablate:
        reader = module.default_seq_reader

        def seq_reader(*a, **k):
            sequences = reader(*a, **k)
            for vis, _ in sequences:
                for i, clip in enumerate(vis):
                    if isinstance(clip, list) and len(clip) == 4 and clip[1] > clip[3]:
                        vis[i] = [[], clip[1], clip[2], clip[3]]
            return sequences
        module.default_seq_reader = seq_reader
        init = cls.__init__

        def init_(self, *a, **k):
            k["seq_reader"] = seq_reader
            init(self, *a, **k)
        cls.__init__ = init_


def child(args):
    """Runs main.py (Testing) in the export at args.cwd; writes the recorded outputs to args.result (npz)."""
    import runpy
    import numpy as np
    record = []
    ablate = set(filter(None, args.ablate.split(",")))
    install_shims(args.cache, record, ablate)
    os.chdir(args.cwd)
    sys.path.insert(0, args.cwd)
    sys.argv = ["main.py", "-c", args.config]
    try:
        runpy.run_path("main.py", run_name="__main__")
    except SystemExit:
        pass
    assert len(record) % 2 == 0 and len(record) >= 2, "Test() smoothed nothing"
    out = {}
    for (sv, xv, yv), (sa, xa, ya) in zip(record[0::2], record[1::2]):
        assert (sv, sa) == (20, 50)
        out.update(raw_v=xv, raw_a=xa, smooth_v=yv, smooth_a=ya)
    np.savez(args.result, **out)


# ---------------------------------------------------------------- driver

def pil_digests(fixture, out):
    """PIL's pixels of every crop, as the official loader reads them (np.array(Image.open(path))), digested per
    folder: sha256 of the RGB bytes of its JPEGs in frame order (Tests/MediaTests/JPEGDecoderTests)."""
    import numpy as np
    from PIL import Image
    folders = [os.path.join(ROOT, "Fixtures", "cropped_aligned", "clip")]
    folders += sorted(os.path.join(fixture, "cropped_aligned", v) for v in os.listdir(os.path.join(fixture, "cropped_aligned")))
    lines = []
    for d in folders:
        names = sorted((f for f in os.listdir(d) if f.endswith(".jpg")), key=lambda f: int(f[:-4]))
        h = hashlib.sha256()
        for f in names:
            a = np.array(Image.open(os.path.join(d, f)))
            assert a.shape == (112, 112, 3) and a.dtype == np.uint8, (f, a.shape)
            h.update(a.tobytes())
        rel = os.path.relpath(d, ROOT) if d.startswith(os.path.join(ROOT, "Fixtures")) else "official-fixture/" + os.path.relpath(d, fixture)
        lines.append(f"{h.hexdigest()}  {len(names)}  {rel}/")
    import PIL, PIL.features
    with open(os.path.join(out, "pil_pixels.sha256"), "w") as f:
        f.write(f"# PIL {PIL.__version__} (libjpeg-turbo {PIL.features.version('libjpeg_turbo')}): sha256 of np.array(Image.open(p)) "
                "bytes of each folder's JPEGs in frame order, count, folder; tools/official_reference.py\n")
        f.write("\n".join(lines) + "\n")


def write_weights(jca_export, head_exports, salt=""):
    sys.path.insert(0, os.path.join(ROOT, "..", "shared", "parity", "reference"))
    import synth
    import torch
    child_shims_for_models()
    sys.path.insert(0, jca_export)
    from models.tsav import TwoStreamAuralVisualModel
    tsav = TwoStreamAuralVisualModel(num_channels=4)
    sd = synth.fill_state_dict(tsav, salt)
    sys.path.remove(jca_export)
    for k in [k for k in sys.modules if k == "models" or k.startswith("models.")]:
        del sys.modules[k]
    for export_dir in head_exports.values():
        path = os.path.normpath(os.path.join(export_dir, TSAV_FILE))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        torch.save({"state_dict": sd}, path)
    for alias, export_dir in head_exports.items():
        sys.path.insert(0, export_dir)
        from models.orig_cam import CAM
        cam = CAM()
        hsd = synth.fill_state_dict(cam, salt)
        sys.path.remove(export_dir)
        for k in [k for k in sys.modules if k == "models" or k.startswith("models.")]:
            del sys.modules[k]
        os.makedirs(os.path.join(export_dir, "SavedWeights"), exist_ok=True)
        torch.save({"net": hsd, "best_Val_accV": 0.0, "best_Val_accA": 0.0}, os.path.join(export_dir, HEAD_FILE))


def child_shims_for_models():
    import torchvision.models as tvm
    import torchvision.models.video as tvv
    if getattr(tvv, "_emopipe_shim", False):
        return
    r2p1d, resnet18 = tvv.r2plus1d_18, tvm.resnet18
    tvv.r2plus1d_18 = lambda pretrained=False, **k: r2p1d(weights=None, **k)
    tvm.resnet18 = lambda pretrained=False, **k: resnet18(weights=None, **k)
    tvv._emopipe_shim = True


def make_config(export_dir, datasets, labels, wavs):
    cfg = json.load(open(os.path.join(export_dir, "config_file.json")))
    cfg["Mode"] = "Testing"
    cfg["dataset_rootpath"] = os.path.join(datasets, "cropped_aligned") + "/"
    cfg["dataset_wavspath"] = wavs + "/"
    cfg["test_params"]["labelpath"] = labels + "/"
    path = os.path.join(export_dir, "config_testing.json")
    json.dump(cfg, open(path, "w"), indent=1)
    return path


def prepare_video(args, scratch, jca, v):
    """The official audio preparation of video v (checked against the fixture's files): its folder."""
    fx = args.fixture
    pre = run_audio_preprocess(jca, scratch, os.path.join(fx, "videos", v + ".mp4"), v)
    made_wav = os.path.join(pre, "Audio_files", v + ".wav")
    made_ts = os.path.join(pre, "realtimestamps", v + "_video_ts.txt")
    for made, fixture in [(made_wav, os.path.join(fx, "Audio_files", v + ".wav")),
                          (made_ts, os.path.join(fx, "realtimestamps", v + "_video_ts.txt"))]:
        if sha256(made) != sha256(fixture):
            sys.exit(f"{made} differs from the fixture's {fixture}: tools/official_fixture.sh no longer makes what "
                     "the official preprocessing makes")
    return pre


def make_dataset(args, scratch, jca, v, ts_file, wav_folder):
    """The folder main.py reads (at the paths its code and config expect): crops, timestamps, per-frame wavs, csv."""
    data = os.path.join(scratch, "Datasets", "Affwild2")
    shutil.rmtree(data, ignore_errors=True)
    os.makedirs(os.path.join(data, "cropped_aligned"))
    os.symlink(os.path.abspath(os.path.join(args.fixture, "cropped_aligned", v)), os.path.join(data, "cropped_aligned", v))
    ts_dir = os.path.join(data, "realtimestamps_orig")        # dataset_test.py's hard-coded '../../Datasets/…'
    os.makedirs(ts_dir)
    shutil.copy(ts_file, os.path.join(ts_dir, v + "_video_ts.txt"))
    wavs = os.path.join(data, "wavs")
    os.makedirs(wavs)
    shutil.copytree(wav_folder, os.path.join(wavs, v))
    csv = run_preprocess_labels(jca, scratch, ts_dir, v)
    labels = os.path.join(data, "annotations", "Test_Set")
    os.makedirs(labels)
    shutil.copy(csv, labels)
    return data, labels, wavs


def read_wav16(path):
    import wave
    import numpy as np
    with wave.open(path) as w:
        return np.frombuffer(w.readframes(w.getnframes()), "<i2")


def cut_wavs(src, lines_ms, out, exact=False, frame1=True):
    """The per-frame cut of audio_preprocess.py (its sample arithmetic, checked against its ffmpeg wavs: identical
    for every frame of the fixture), or with one convention changed: `exact` = emopipe's clean window
    [round(ss*sr), round(to*sr)); frame1=False = no wav for frame 1 (read as zeros)."""
    import datetime, wave
    sr = 44100
    x = read_wav16(src)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)

    def us(t):
        d = datetime.timedelta(seconds=t)
        return (d.days * 86400 + d.seconds) * 10 ** 6 + d.microseconds
    for j in range(len(lines_ms)):
        st = 0.0 if j < 31 else lines_ms[j - 31] / 1000
        en = lines_ms[j] / 1000
        if en == 0.0:
            en = lines_ms[j + 1] / 1000
        if j == 0 and not frame1:
            continue
        if exact:
            a, b = int(st * sr + 0.5), int(en * sr + 0.5)
        else:
            a = (us(st) * sr + 500000) // 10 ** 6
            b = a + ((us(en) - us(st)) * sr + 500000) // 10 ** 6
        seg = x[min(a, len(x)):min(b, len(x))]
        with wave.open(os.path.join(out, f"{j + 1}.wav"), "wb") as w:
            w.setnchannels(1); w.setsampwidth(2); w.setframerate(sr)
            w.writeframes(seg.astype("<i2").tobytes())


def write_ts(path, lines_ms):
    with open(path, "w") as f:
        f.write("# timestamp format v2\n")
        for t in lines_ms:
            f.write(("%d" % t if float(t).is_integer() else "%.6f" % t) + "\n")


def ablation_dataset(args, scratch, jca, v, pre, conv):
    """Dataset folder for one ablation (or the official one, conv None), and the flags for the child."""
    ts = os.path.join(pre, "realtimestamps", v + "_video_ts.txt")
    wavs = os.path.join(pre, "SegmendtedAudioFiles", "Shift_1_win_32", v)
    lines = [float(l) for l in open(ts).read().split("\n")[1:] if l]
    flags = ()
    work = os.path.join(scratch, "ablation")
    os.makedirs(work, exist_ok=True)
    if conv in ("padding", "jpeg", "pastend"):
        flags = (conv,)
    elif conv == "frame1":
        cut_wavs(os.path.join(pre, "Audio_files", v + ".wav"), lines, os.path.join(work, "wavs"), frame1=False)
        wavs = os.path.join(work, "wavs")
    elif conv == "cutlength":
        cut_wavs(os.path.join(pre, "Audio_files", v + ".wav"), lines, os.path.join(work, "wavs"), exact=True)
        wavs = os.path.join(work, "wavs")
    elif conv == "framecount":
        ts = os.path.join(work, v + "_video_ts.txt")
        write_ts(ts, lines[:-1])
        cut_wavs(os.path.join(pre, "Audio_files", v + ".wav"), lines[:-1], os.path.join(work, "wavs"))
        wavs = os.path.join(work, "wavs")
    elif conv == "origin":
        # Sample 0 at the first video frame (the ffmpeg wav: this video and its audio both start at 0), windows at
        # the video's own presentation times relative to its first frame (not the shifted, rounded Matroska ones).
        video = os.path.join(args.fixture, "videos", v + ".mp4")
        wav = os.path.join(work, "first_frame.wav")
        sh(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", video, "-ar", "44100", "-ac", "1", wav])
        out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "packet=pts_time,duration_time",
                              "-of", "csv=p=0", video], check=True, capture_output=True, text=True).stdout.split()
        pts = sorted(float(r.split(",")[0]) for r in out)
        dur = float(out[0].split(",")[1])
        own = [(t - pts[0]) * 1000 for t in pts] + [(pts[-1] - pts[0] + dur) * 1000]
        ts = os.path.join(work, v + "_video_ts.txt")
        write_ts(ts, own)
        cut_wavs(wav, own, os.path.join(work, "wavs"))
        wavs = os.path.join(work, "wavs")
    data, labels, wavroot = make_dataset(args, scratch, jca, v, ts, wavs)
    return data, labels, wavroot, flags


def run_head(args, scratch, export_dir, data, labels, wavs, v, alias, ablate=(), tag="official"):
    import numpy as np
    cfg = make_config(export_dir, data, labels, wavs)
    shutil.rmtree(os.path.join(export_dir, "results"), ignore_errors=True)
    result = os.path.join(scratch, f"{v}_{alias}_{tag}.npz")
    if args.reuse and tag != "official" and os.path.exists(result):    # an ablation an earlier run finished
        return dict(np.load(result))
    with open(os.path.join(scratch, f"{v}_{alias}_{tag}.log"), "w") as log:
        sh([sys.executable, os.path.abspath(__file__), "--child", "--cwd", export_dir, "--config", cfg,
            "--cache", args.cache, "--result", result, "--ablate", ",".join(ablate)], stdout=log, stderr=log,
           stdin=subprocess.DEVNULL)
    r = dict(np.load(result))
    # Test()'s own file: the smoothed values at 5 decimals.
    lines = open(os.path.join(export_dir, "results", v + ".txt")).read().split("\n")
    assert lines[0] == "valence,arousal"
    rows = [l.split(",") for l in lines[1:] if l]
    assert len(rows) == len(r["smooth_v"])
    for (sv, sa), v5, a5 in zip(rows, r["smooth_v"], r["smooth_a"]):
        assert sv == "%.5f" % v5 and sa == "%.5f" % a5
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fixture", default=os.path.join(ROOT, ".build", "official-fixture"))
    ap.add_argument("--mirrors", default=os.environ.get("EMOPIPE_MIRRORS", os.path.join(ROOT, "..", ".mirror")),
                    help="bare git mirrors of the reference repositories (owner+name/repo); env EMOPIPE_MIRRORS")
    ap.add_argument("--scratch", default=os.path.join(ROOT, ".build", "official-scratch"))
    ap.add_argument("--cache", default=None, help="visual feature cache (default: SCRATCH/cache)")
    ap.add_argument("--out", default=os.path.join(ROOT, "Fixtures", "official"))
    ap.add_argument("--videos", default=",".join(VIDEOS))
    ap.add_argument("--ablations", action="store_true")
    ap.add_argument("--only", default="", help="with --ablations: these conventions only (comma-separated)")
    ap.add_argument("--skip-base", action="store_true", help="with --ablations: compare with the CSVs already in --out")
    ap.add_argument("--heads", default=",".join(REPOS), help="with --skip-base: these heads only (comma-separated)")
    ap.add_argument("--reuse", action="store_true", help="with --ablations: reuse the ablation runs already in SCRATCH")
    ap.add_argument("--table", default=None, help="with --ablations: the table's file (default: OUT/ablations.csv)")
    ap.add_argument("--pil-only", action="store_true", help="only write pil_pixels.sha256")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--cwd", help=argparse.SUPPRESS)
    ap.add_argument("--config", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    ap.add_argument("--ablate", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.cache = args.cache or os.path.join(args.scratch, "cache")
    if args.child:
        return child(args)
    import numpy as np
    if not os.path.exists(os.path.join(args.fixture, ".complete")):
        sys.exit(f"{args.fixture}: no complete fixture folder (run: sh tools/official_fixture.sh {args.fixture})")
    os.makedirs(args.out, exist_ok=True)
    pil_digests(args.fixture, args.out)
    if args.pil_only:
        return
    code = os.path.join(args.scratch, "code")     # main.py's '../ABAW2020TNT' and '../../Datasets' resolve from here
    shutil.rmtree(code, ignore_errors=True)
    exports = {a: os.path.join(code, a) for a in REPOS}
    heads = {a: export(args.mirrors, a, d) for a, d in exports.items()}
    write_weights(exports["jca"], exports)
    os.makedirs(args.out, exist_ok=True)
    table = []
    for v in args.videos.split(","):
        pre = prepare_video(args, args.scratch, exports["jca"], v)
        data, labels, wavs, _ = ablation_dataset(args, args.scratch, exports["jca"], v, pre, None)
        base = {}
        for alias, export_dir in exports.items():
            if args.skip_base and alias not in args.heads.split(","):
                continue
            if args.skip_base:      # ablations only: the official outputs written by an earlier run
                rows = [l.split(",") for l in open(os.path.join(args.out, f"{v}_{alias}.csv")).read().split("\n")[3:] if l]
                base[alias] = {k: np.array([float(r[i]) for r in rows]) for i, k in enumerate(("raw_v", "raw_a", "smooth_v", "smooth_a"), 1)}
                continue
            r = base[alias] = run_head(args, args.scratch, export_dir, data, labels, wavs, v, alias)
            n = len(r["raw_v"])
            path = os.path.join(args.out, f"{v}_{alias}.csv")
            with open(path, "w") as f:
                f.write(f"# official {alias.upper()} test path ({REPOS[alias].replace('+', '/')} {heads[alias][:7]}), "
                        f"synthetic weights (synth.py, salt ''); tools/official_reference.py on {v}\n")
                f.write(f"# {n} rows: the last is the end-time line of mkvextract's timestamps (no frame of the video)\n")
                f.write("frame,valence_raw,arousal_raw,valence,arousal\n")
                for i in range(n):
                    f.write("%d,%.9g,%.9g,%.9g,%.9g\n" % (i + 1, r["raw_v"][i], r["raw_a"][i], r["smooth_v"][i], r["smooth_a"][i]))
            print(f"{path}: {n} rows", flush=True)
        if not args.ablations:
            continue
        for conv in args.only.split(",") if args.only else ABLATIONS:
            data, labels, wavs, flags = ablation_dataset(args, args.scratch, exports["jca"], v, pre, conv)
            for alias, export_dir in exports.items():
                if alias not in base:
                    continue
                r = run_head(args, args.scratch, export_dir, data, labels, wavs, v, alias, flags, tag=conv)
                b = base[alias]
                n = min(len(r["raw_v"]), len(b["raw_v"]) - 1)       # the video's frames (not the end-time row)
                d = [float(np.max(np.abs(r[k][:n] - b[k][:n]))) for k in ("raw_v", "raw_a", "smooth_v", "smooth_a")]
                row = f"{v},{alias},{conv}," + ",".join("%.3g" % x for x in d)
                print(row, flush=True)
                table.append(row)
    if args.ablations:
        with open(args.table or os.path.join(args.out, "ablations.csv"), "w") as f:
            f.write("# max |official - official with one convention replaced by clean's| over the video's frames; "
                    "tools/official_reference.py --ablations\n")
            f.write("video,head,convention,valence_raw,arousal_raw,valence,arousal\n")
            f.write("\n".join(table) + "\n")


if __name__ == "__main__":
    main()
