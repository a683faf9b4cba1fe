#!/bin/sh
# A Python environment for the reference scripts in tools/ (never used at run time, never by `make test`):
# CPU PyTorch, torchvision, torchaudio, safetensors, pillow, in a venv at $1 (default .build/pyenv).
#
#   sh tools/pyenv.sh [DIR]        then   DIR/bin/python tools/<script>.py …
#
# Only Debian's and PyPI's packages are reachable here. PyPI's torch pulls the CUDA stack (gigabytes), so the CPU
# wheel is taken from pip's find-links folder when there is one (this workplace has /opt/wheels), else from PyPI.
# torchvision and torchaudio are installed without their dependencies and without their compiled extensions, which
# are built against other torch builds and do not load: every script here needs only their pure-Python parts
# (torchvision's model definitions, torchaudio's MelSpectrogram). Shims, all in this venv only:
#   - torchvision/_meta_registrations.py is emptied (it registers meta kernels for ops whose library did not load);
#   - torchvision/_C.so, image.so and torchaudio/lib/*.so are removed (they fail to load; without them both
#     packages report their ops as unavailable and import cleanly).
# A script that needs torchvision.ops.nms uses its own pure-torch version and says so.
set -eu
DIR=${1:-.build/pyenv}
TORCH=${TORCH:-2.13.0}
VISION=${VISION:-0.28.0}    # the torchvision release made for torch 2.13
AUDIO=${AUDIO:-2.11.0}      # the last torchaudio on PyPI; its Python transforms run on newer torch
python3 -m venv --system-site-packages "$DIR"
PIP="$DIR/bin/pip"
if ls /opt/wheels/torch-"$TORCH"+cpu-*.whl >/dev/null 2>&1; then
  "$PIP" install -q /opt/wheels/torch-"$TORCH"+cpu-*.whl
else
  "$PIP" install -q "torch==$TORCH"
fi
"$PIP" install -q --no-deps "torchvision==$VISION" "torchaudio==$AUDIO" pillow safetensors
SITE=$("$DIR/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
rm -f "$SITE"/torchvision/_C.so "$SITE"/torchvision/image.so "$SITE"/torchaudio/lib/*.so
echo "# emopipe tools venv: compiled ops removed (see tools/pyenv.sh); no meta registrations" > "$SITE/torchvision/_meta_registrations.py"
"$DIR/bin/python" -c 'import torch, torchvision, torchaudio; print("pyenv:", torch.__version__, torchvision.__version__, torchaudio.__version__)'
