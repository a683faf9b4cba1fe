#!/usr/bin/env bash
# The dataset-scale figures of docs/performance.md ("Dataset scale") and docs/cluster.md: every head in one pass
# against one head, the features cache (size, time) and the heads on it, and `batch --jobs` against one input at a
# time. Wall and CPU (user + sys) seconds of each command; CPU time is the steadier figure on a shared machine.
#
#   tools/bench_scale.sh VIDEO [THREADS] [INPUTS] [CUT]
#
# VIDEO: a video with a face and speech (e.g. .build/face-eval/real_face_video.mp4 from `make face-eval`).
# THREADS: --threads (default 2). INPUTS: how many copies of a cut of VIDEO the --jobs batch runs (default 4);
# CUT: its length in seconds (default 4).
# A synthetic model of the seven heads is made in a temporary folder. $EMOPIPE names the binary (default the release
# build). Prints one line per measurement and the machine's load average before and after.
set -euo pipefail
video=${1:?usage: tools/bench_scale.sh VIDEO [THREADS] [INPUTS] [CUT]}
threads=${2:-2}
inputs=${3:-4}
cut=${4:-4}
bin=${EMOPIPE:-$(dirname "$0")/../.build/release/emopipe}
[ -x "$bin" ] || { echo "build first (make build), or set EMOPIPE" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
heads=ca,jca,rjca,dca,iaca,tca,jmt

for h in ${heads//,/ }; do "$bin" models synth "$tmp/model" --head "$h" >/dev/null 2>&1; done
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores; threads $threads"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
frames=$("$bin" probe "$video" | sed -n 's/.*"declared_frames" : \([0-9]*\).*/\1/p')
fps=$("$bin" probe "$video" | sed -n 's/.*"frame_rate" : \([0-9.]*\).*/\1/p')
echo "video: $video, $frames frames at $fps fps"

# measure NAME CMD…: wall and CPU (user + sys, from `times` in a bash that ran only CMD) seconds of CMD; stdout
# discarded, stderr kept in $tmp/NAME.err; the CPU seconds also in $tmp/NAME.cpu. `times` writes to a file, not a
# pipe: in a pipeline it would run in a forked subshell, which has no children's time.
measure() {
  local name=$1; shift
  local start end
  start=$(date +%s.%N)
  bash -c '"$@" >/dev/null 2>"$0.err"; echo $? > "$0.rc"; times > "$0.times"' "$tmp/$name" "$@"
  end=$(date +%s.%N)
  # Second line, "XmY.YYYs XmZ.ZZZs": the children's user and sys time.
  awk 'NR == 2 { s = 0; for (i = 1; i <= 2; i++) { split($i, p, "m"); s += p[1] * 60 + p[2] } ; print s }' "$tmp/$name.times" > "$tmp/$name.cpu"
  printf '%-28s wall %8.1f s   cpu %8.1f s   (exit %s)\n' "$name" "$(echo "$end - $start" | bc)" "$(cat "$tmp/$name.cpu")" "$(cat "$tmp/$name.rc")"
}
cpu_of() { cat "$tmp/$1.cpu"; }

measure one-head "$bin" "$video" --model "$tmp/model" --head jca --threads "$threads" -q -o /dev/null
c1=$(cpu_of one-head)
measure seven-heads "$bin" "$video" --model "$tmp/model" --head "$heads" --threads "$threads" -q -o /dev/null
c7=$(cpu_of seven-heads)
echo "seven heads / one head, CPU time: $(echo "scale=3; $c7 / $c1" | bc)"
measure features "$bin" features "$video" --model "$tmp/model" --threads "$threads" -q -o "$tmp/f.safetensors"
cf=$(cpu_of features)
size=$(stat -c %s "$tmp/f.safetensors")
echo "features: $size bytes, $(echo "scale=1; $size / $frames * $fps * 60 / 1000000" | bc) MB per minute of video (f32)"
measure seven-heads-on-features "$bin" run --features "$tmp/f.safetensors" --model "$tmp/model" --head "$heads" --threads "$threads" -q -o /dev/null
cc=$(cpu_of seven-heads-on-features)
echo "features: $(echo "scale=1; $cf / ($frames / $fps / 60)" | bc) CPU s per minute of video"
echo "seven heads on the cache: $(echo "scale=2; $cc / ($frames / $fps / 60)" | bc) CPU s per minute of video"

# --jobs: INPUTS copies of a CUT-second cut, one input at a time with all threads, then J = threads jobs.
mkdir -p "$tmp/in"
ffmpeg -v error -i "$video" -t "$cut" -c copy "$tmp/in/cut0.mp4"
for i in $(seq 1 $((inputs - 1))); do ln -s "$tmp/in/cut0.mp4" "$tmp/in/cut$i.mp4"; done
measure "batch --jobs 1" "$bin" batch "$tmp/in" "$tmp/out1" --model "$tmp/model" --head jca --threads "$threads" --jobs 1
measure "batch --jobs $threads" "$bin" batch "$tmp/in" "$tmp/out2" --model "$tmp/model" --head jca --threads "$threads" --jobs "$threads"
cmp -s <(cat "$tmp"/out1/*.txt) <(cat "$tmp"/out2/*.txt) && echo "--jobs outputs: identical to one job's" || echo "--jobs outputs DIFFER"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
