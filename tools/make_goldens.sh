#!/usr/bin/env bash
# Regenerates the pipeline regression goldens from Fixtures/goldens/runs.txt, with a synthetic model made by
# `emopipe models synth`, under both protocols (docs/protocol.md):
#   Fixtures/goldens/NAME.csv           --protocol clean    (the contract's reading; the goldens from before issue 11)
#   Fixtures/goldens/official/NAME.csv  --protocol official (the default: the official repositories' test path)
# Run via `make goldens`; review the diff before committing.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${EMOPIPE:-.build/release/emopipe}
[ -x "$bin" ] || { echo "build first (make build), or set EMOPIPE=path/to/emopipe" >&2; exit 1; }
models=$(mktemp -d)
trap 'rm -rf "$models"' EXIT
mkdir -p Fixtures/goldens/official
for protocol in clean official; do
  out=Fixtures/goldens
  [ "$protocol" = clean ] || out=Fixtures/goldens/$protocol
  grep -v '^#' Fixtures/goldens/runs.txt | while read -r name head input rest; do
    [ -n "$name" ] || continue
    [ -d "$models/$head" ] || "$bin" models synth "$models/$head" --head "$head"
    # shellcheck disable=SC2086
    args=$(echo $rest | sed "s#media/#Fixtures/media/#g")
    # Exit status 3: a truncated input (the rows cover the frames before the truncation).
    "$bin" "Fixtures/$input" --model "$models/$head" $args --protocol "$protocol" -q -o "$out/$name.csv" 2>/dev/null || [ $? -eq 3 ]
    echo "$out/$name.csv: $(($(wc -l < "$out/$name.csv") - 1)) rows"
  done
done
