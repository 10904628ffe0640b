#!/usr/bin/env bash
# Seed the fuzz corpus with every conformance case and every diagram of the repo, each as a
# `.mmd` input (selector byte 0) and the Markdown files as Markdown (selector byte 1).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
shared="${M2A_SHARED:-$here/../../shared}"
corpus="$here/corpus/front_end"
mkdir -p "$corpus"
n=0
for f in "$shared"/conformance/*/*.mmd "$here"/../diagrams/*.mmd; do
  { printf '\0'; cat "$f"; } > "$corpus/mmd-$n"; n=$((n + 1))
done
for f in "$here"/../diagrams/*.md "$here"/../README.md; do
  [ -f "$f" ] || continue
  { printf '\1'; cat "$f"; } > "$corpus/md-$n"; n=$((n + 1))
done
echo "seeded $n inputs into $corpus"
