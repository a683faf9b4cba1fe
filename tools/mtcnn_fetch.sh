#!/bin/sh
# Fetches the MTCNN face detector's weights and converts them for emopipe (run by `make`; nothing is committed).
# The weights are the ones facenet-pytorch 2.6.0 ships (MIT licence): its wheel is downloaded from PyPI with
# `pip download --no-deps` (nothing is installed), facenet_pytorch/data/{pnet,rnet,onet}.pt are checked against the
# sha256 sums below and converted to safetensors by `emopipe convert` (legacy torch.save files, read natively).
# Usage: sh tools/mtcnn_fetch.sh EMOPIPE_BINARY OUTDIR
set -eu
BIN=$1
OUT=$2
WHEEL=facenet-pytorch==2.6.0
SUMS="pnet a2a71925e0b9996a42f63e47efc1ca19043e69558b5c523b978d611dfae49c8f
rnet bbb937de72efc9ef83b186c49f5f558467a1d7e3453a8ece0d71a886633f6a86
onet 165bfbe42940416ccfb977545cf0e976d5bf321f67083ae2aaaa5c764280118d"
# Already converted from these exact files, and unchanged since (their own sha256 sums are in SOURCE.sha256):
# nothing to do. A missing, damaged or replaced file is converted again.
if [ "$(cat "$OUT/SOURCE" 2>/dev/null)" = "$WHEEL $(echo "$SUMS" | tr '\n' ' ')" ] \
   && ( cd "$OUT" && sha256sum --status -c SOURCE.sha256 2>/dev/null ); then
  echo "emopipe: face detector weights already in $OUT"
  exit 0
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$TMP/wheel" "$WHEEL" >&2 \
  || { echo "emopipe: could not download $WHEEL from PyPI (pip download); check the network and run make again" >&2; exit 1; }
python3 - "$TMP" <<'PY'
import glob, sys, zipfile
tmp = sys.argv[1]
z = zipfile.ZipFile(glob.glob(tmp + "/wheel/*.whl")[0])
for n in ("pnet", "rnet", "onet"):
    open("%s/%s.pt" % (tmp, n), "wb").write(z.read("facenet_pytorch/data/%s.pt" % n))
PY
echo "$SUMS" | while read -r name sum; do
  got=$(sha256sum "$TMP/$name.pt" | cut -d' ' -f1)
  if [ "$got" != "$sum" ]; then
    echo "emopipe: $WHEEL: facenet_pytorch/data/$name.pt has sha256 $got, expected $sum; not converting it (report this)" >&2
    exit 1
  fi
done
mkdir -p "$OUT"
for name in pnet rnet onet; do
  "$BIN" convert "$TMP/$name.pt" "$OUT/$name.safetensors" --kind unchecked 2>&1 | sed 's/^/  /' >&2
  [ -f "$OUT/$name.safetensors" ] || { echo "emopipe: converting $name.pt failed" >&2; exit 1; }
done
( cd "$OUT" && sha256sum pnet.safetensors rnet.safetensors onet.safetensors > SOURCE.sha256 )
echo "$WHEEL $(echo "$SUMS" | tr '\n' ' ')" > "$OUT/SOURCE"
echo "emopipe: face detector weights (MTCNN from $WHEEL, sha256-checked) converted into $OUT"
