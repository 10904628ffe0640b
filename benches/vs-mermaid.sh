#!/usr/bin/env bash
# Side by side, in one run on the same inputs: `mermaid2aws compile` (the whole process, timed
# with hyperfine) and the real mermaid-js parser (parse only, warmed up in-process, timed by
# benches/mermaid-parse.mjs), with the ratio per input. `mermaid2aws parse` (whole process:
# read, parse, resolve, print the diagram's JSON) is timed too, as the like-for-like
# comparison with mermaid-js's parse. Inputs: the seed IaaS and PaaS
# diagrams, and generated diagrams of 10, 100 and 1,000 tiers of both kinds; 10,000 tiers for
# mermaid2aws only (linearity against 1,000, and peak memory against input + output).
#
#   benches/vs-mermaid.sh                       # everything (about 10 minutes on 2 cores)
#   M2A_BENCH_TIERS="10 100" M2A_BENCH_BIG= benches/vs-mermaid.sh   # a quick run
#
# Needs: cargo, Node 20 with npm (the npm registry), and shared/ (M2A_SHARED, default
# ../shared) for the pinned oracle's package.json and package-lock.json, which are installed
# with `npm ci` under target/bench-tools/mermaid (nothing is copied into the repository).
# hyperfine (Debian: apt-get install -y hyperfine) times our side; without it a shell loop
# does (median of 10 runs after 3 warm-ups, wall time only). /usr/bin/time (Debian: time)
# gives the peak memory.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
shared=${M2A_SHARED:-$root/../shared}
oracle=$shared/tools/mermaid-oracle
target=${CARGO_TARGET_DIR:-$root/target}
tools=$root/target/bench-tools/mermaid
work=$root/target/bench-vs-mermaid
tiers=${M2A_BENCH_TIERS-10 100 1000}
big=${M2A_BENCH_BIG-10000}

die() { echo "vs-mermaid: $*" >&2; exit 1; }
[ -f "$oracle/package-lock.json" ] || die "no oracle at $oracle: set M2A_SHARED to the folder holding tools/mermaid-oracle"
command -v node >/dev/null || die "node not found (Node 20 and npm are needed for mermaid-js)"

# -- mermaid-js, pinned by the oracle's lock file -------------------------------------------
if ! cmp -s "$oracle/package-lock.json" "$tools/package-lock.json" || [ ! -d "$tools/node_modules/mermaid" ]; then
  echo "installing the pinned mermaid-js into $tools (npm ci)" >&2
  rm -rf "$tools"
  mkdir -p "$tools"
  cp "$oracle/package.json" "$oracle/package-lock.json" "$tools/"
  (cd "$tools" && npm ci --no-audit --no-fund --loglevel=error) >&2
fi
# The script imports `mermaid` from the installed node_modules, so it runs from there.
cp benches/mermaid-parse.mjs "$tools/"
mermaid_version=$(node -p "require('$tools/node_modules/mermaid/package.json').version")

# -- mermaid2aws, release build, and the inputs ----------------------------------------------
echo "building mermaid2aws (release)" >&2
cargo build --release --locked --quiet --bin mermaid2aws --example generate
bin=$target/release/mermaid2aws
generate=$target/release/examples/generate
# Generated flowcharts above ~125 tiers exceed mermaid's default limit of 500 edges, which
# mermaid2aws keeps by default; --max-edges raises it, as mermaid.initialize does on its side.
max_edges=(--max-edges 1000000)

rm -rf "$work"
mkdir -p "$work"
inputs=()
cp diagrams/seed-iaas.mmd "$work/seed-iaas.mmd"
cp diagrams/seed-paas.mmd "$work/seed-paas.mmd"
inputs+=("$work/seed-iaas.mmd" "$work/seed-paas.mmd")
for n in $tiers; do
  for kind in flowchart architecture; do
    "$generate" "$kind" "$n" >"$work/$kind-$n.mmd"
    inputs+=("$work/$kind-$n.mmd")
  done
done
ours_only=()
for n in $big; do
  for kind in flowchart architecture; do
    "$generate" "$kind" "$n" >"$work/$kind-$n.mmd"
    ours_only+=("$work/$kind-$n.mmd")
  done
done

# -- our side: whole process ------------------------------------------------------------------
# Times `mermaid2aws SUBCOMMAND --max-edges N FILE`, the whole process, and prints the median
# wall time and the mean CPU time (user + system) in ms; `-` for CPU without hyperfine.
time_ours() {
  local subcommand=$1 file=$2 json
  json="$work/$(basename "$file" .mmd).$subcommand.hyperfine.json"
  if command -v hyperfine >/dev/null; then
    hyperfine --style none --warmup 2 --min-runs 3 --max-runs 100 --ignore-failure -N \
      --export-json "$json" "$bin $subcommand ${max_edges[*]} $file" >/dev/null
    node -e '
      const r = require(process.argv[1]).results[0];
      console.log((r.median * 1000).toFixed(3), ((r.user + r.system) * 1000).toFixed(3));
    ' "$json"
  else
    local runs=() i start
    for i in 1 2 3; do "$bin" "$subcommand" "${max_edges[@]}" "$file" >/dev/null 2>&1 || true; done
    for i in $(seq 10); do
      start=$EPOCHREALTIME
      "$bin" "$subcommand" "${max_edges[@]}" "$file" >/dev/null 2>&1 || true
      runs+=("$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", (b - a) * 1000 }')")
    done
    printf '%s -\n' "$(printf '%s\n' "${runs[@]}" | sort -g | sed -n '5p;6p' | awk '{s += $1} END {printf "%.3f", s / 2}')"
  fi
}

# ours.tsv: name, input bytes, median ms, CPU ms (user + system, mean), exit code, peak RSS KB,
# output bytes, the code of the error that stopped it.
measure_ours() {
  local file=$1 name median cpu code rss out_bytes
  name=$(basename "$file" .mmd)
  read -r median cpu < <(time_ours compile "$file")
  # One more run for the exit code, the output size and the peak memory.
  code=0
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f '%M' -o "$work/$name.rss" "$bin" compile "${max_edges[@]}" "$file" \
      >"$work/$name.out" 2>"$work/$name.err" || code=$?
    rss=$(tail -n 1 "$work/$name.rss")
  else
    "$bin" compile "${max_edges[@]}" "$file" >"$work/$name.out" 2>"$work/$name.err" || code=$?
    rss=-
  fi
  out_bytes=$(wc -c <"$work/$name.out")
  # What stopped it (a limit): the first error's code, from the diagnostic on stderr.
  stop=$(grep -m1 -o 'm2a::[a-z_:]*' "$work/$name.err" || true)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$(wc -c <"$file")" "$median" "$cpu" "$code" "$rss" "$out_bytes" "${stop:--}" >>"$work/ours.tsv"
}

echo "timing mermaid2aws compile ($(ls "$work"/*.mmd | wc -l) inputs)" >&2
: >"$work/ours.tsv"
for file in "${inputs[@]}" "${ours_only[@]}"; do
  measure_ours "$file"
done

# parse.tsv: name, median ms of `mermaid2aws parse` (whole process), for the inputs mermaid-js
# parses too.
measure_parse() {
  local file=$1 median cpu
  read -r median cpu < <(time_ours parse "$file")
  printf '%s\t%s\n' "$(basename "$file" .mmd)" "$median" >>"$work/parse.tsv"
}

echo "timing mermaid2aws parse (${#inputs[@]} inputs)" >&2
: >"$work/parse.tsv"
for file in "${inputs[@]}"; do
  measure_parse "$file"
done

# -- mermaid-js: parse only, in-process, after warm-up ----------------------------------------
echo "timing mermaid-js $mermaid_version parse (${#inputs[@]} inputs)" >&2
(cd "$tools" && node mermaid-parse.mjs --budget-ms "${M2A_MERMAID_BUDGET_MS:-3000}" --min-runs "${M2A_MERMAID_MIN_RUNS:-3}" "${inputs[@]}") >"$work/mermaid.jsonl"
node -e '
  const fs = require("fs"), path = require("path");
  for (const line of fs.readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean)) {
    const r = JSON.parse(line);
    const name = path.basename(r.file, ".mmd");
    console.log([name, r.ok ? r.median_ms.toFixed(3) : "-", r.ok ? r.cpu_median_ms.toFixed(3) : "-", r.ok ? "" : r.error].join("\t"));
  }
' "$work/mermaid.jsonl" >"$work/mermaid.tsv"

# -- the report ---------------------------------------------------------------------------------
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "mermaid2aws $(git rev-parse --short HEAD) compile (whole process, median of hyperfine runs) vs mermaid-js $mermaid_version parse (in-process, warmed up, median)"
echo
awk -F'\t' -v OFS='\t' '
  function times(r) { return sprintf(r < 10 ? "%.1fx" : "%.0fx", r) }
  FILENAME == ARGV[1] { m[$1] = $2; mc[$1] = $3; merr[$1] = $4; next }
  FILENAME == ARGV[2] { p[$1] = $2; next }
  {
    name = $1; bytes = $2; ms = $3; cpu = $4; code = $5; rss = $6; out = $7; stop = $8
    rss_mb = (rss == "-") ? "-" : sprintf("%.1f", rss / 1024)
    per_io = (rss == "-") ? "-" : sprintf("%.1fx", rss * 1024 / (bytes + out))
    if (name in m && m[name] != "-") {
      ratio = times(m[name] / ms)
      cratio = (cpu == "-") ? "-" : times(mc[name] / cpu)
      mm = sprintf("%.1f", m[name])
    } else if (name in m) {
      mm = "fails: " merr[name]; ratio = "-"; cratio = "-"
    } else {
      mm = "(not run)"; ratio = "-"; cratio = "-"
    }
    pm = (name in p) ? sprintf("%.2f", p[name]) : "-"
    pratio = (name in p && name in m && m[name] != "-") ? times(m[name] / p[name]) : "-"
    if (code != 0) code = code " (" stop ")"
    printf "| %s | %d | %.2f | %s | %s | %s | %d | %s | %s | %s | %s | %s | %s |\n", name, bytes, ms, cpu, code, rss_mb, out, per_io, mm, ratio, cratio, pm, pratio
    t[name] = ms; c[name] = cpu
  }
  END {
    print ""
    for (n in t) if (n ~ /-10000$/) {
      k = n; sub(/-10000$/, "-1000", k)
      if (k in t) printf "linearity %s: 10,000 tiers take %.1fx the wall time of 1,000, %s the CPU time (target <= 11x)\n", n, t[n] / t[k], (c[n] == "-" ? "-" : sprintf("%.1fx", c[n] / c[k]))
    }
  }
' "$work/mermaid.tsv" "$work/parse.tsv" "$work/ours.tsv" | {
  echo "| input | bytes | mermaid2aws ms | CPU ms | exit | peak RSS MB | output bytes | RSS / (in + out) | mermaid-js ms | ratio (wall) | ratio (CPU) | mermaid2aws parse ms | parse ratio (wall) |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  cat
}
echo
echo "exit 1: a limit was reported (see $work/NAME.err). m2a::emit::limit comes after every stage ran (CloudFormation's 500 resources);"
echo "m2a::resolve::edge_limit stops before lower and emit (mermaid's 500 edges, without --max-edges): that ratio compares less work."
echo "parse ratio: mermaid-js parse against \`mermaid2aws parse\` (whole process: read, parse, resolve, print the diagram as JSON), the like-for-like comparison."
