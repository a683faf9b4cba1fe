#!/bin/sh
# Makes the demonstration videos of docs/face.md from the public-domain photos of the face evaluation set
# (run tools/face-eval-data.sh first). No real face *video* with a free licence was found in the Debian or PyPI
# packages, so these are photos with simulated camera motion (ffmpeg: zoom, in-plane rotation, panning).
# Usage: sh tools/face-demo-video.sh [EVALDIR] [OUTDIR]
set -eu
EVAL=${1:-.build/face-eval}
OUT=${2:-.build/face-demo}
mkdir -p "$OUT"
# 1. One person (astronaut Eileen Collins, NASA, public domain): 4 s, 1280×720, 25 fps; the face grows and
#    shrinks (±30 %), tilts ±14°, pans across the frame and bobs up and down.
ffmpeg -nostdin -loglevel error -y -f lavfi -i "color=c=0x606060:s=1280x720:r=25:d=4" -loop 1 -i "$EVAL/astronaut__orig.ppm" \
  -filter_complex "[1:v]scale='400+120*sin(2*PI*t/4)':-1:eval=frame,rotate='0.25*sin(2*PI*t/2.5)':c=0x606060:ow='hypot(iw,ih)':oh=ow[f];[0:v][f]overlay=x='200+300*t/4':y='(H-h)/2+40*sin(2*PI*t/3)':shortest=1,format=yuv420p" \
  -c:v libx264 -crf 23 -t 4 "$OUT/astronaut_motion.mp4"
# 2. The same at 1920×1080 (speed measurement).
ffmpeg -nostdin -loglevel error -y -i "$OUT/astronaut_motion.mp4" -vf scale=1920:1080 -c:v libx264 -crf 23 "$OUT/astronaut_motion_1080p.mp4"
# 2b. The first second at 3840×2160 (4K speed measurement).
ffmpeg -nostdin -loglevel error -y -i "$OUT/astronaut_motion.mp4" -vf scale=3840:2160 -t 1 -c:v libx264 -crf 28 "$OUT/astronaut_motion_4k.mp4"
# 3. Two people side by side (astronaut left, Grace Hopper right), 2 s, 960×540.
ffmpeg -nostdin -loglevel error -y -f lavfi -i "color=c=0x505050:s=960x540:r=25:d=2" \
  -loop 1 -i "$EVAL/astronaut__orig.ppm" -loop 1 -i "$EVAL/grace_hopper__orig.ppm" \
  -filter_complex "[1:v]scale=400:-1[a];[2:v]scale=300:-1[g];[0:v][a]overlay=x='40+20*t':y=70:shortest=1[t];[t][g]overlay=x='600-20*t':y=90:shortest=1,format=yuv420p" \
  -c:v libx264 -crf 23 -t 2 "$OUT/two_people.mp4"
# 4. A face-free 1080p clip (scikit-image's coffee picture panned), for the no-face cost.
ffmpeg -nostdin -loglevel error -y -loop 1 -i "$EVAL/noface__coffee.ppm" \
  -vf "scale=2400:-1,crop=1920:1080:'200*t/4':100,format=yuv420p" -r 25 -t 4 -c:v libx264 -crf 23 "$OUT/noface_1080p.mp4"
echo "face-demo: $(ls "$OUT" | wc -l) videos in $OUT"
