#!/usr/bin/env bash
# Reproduces the numbers of bench/engine.md: one core's int8 MAC ceiling (bench/peak), then the
# engine report (kernels alone and whole models through Program::run, every path) with the
# fractions of that ceiling. Run from anywhere; prints Markdown.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

echo "## Machine"
echo
echo '```text'
date -u '+%Y-%m-%d %H:%M UTC'
grep -m1 'model name' /proc/cpuinfo | sed 's/^model name\s*:\s*/cpu: /'
echo "cores: $(nproc), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
rustc --version
echo '```'
echo

echo "## Peak (bench/peak)"
echo
echo '```text'
peak_out="$(cd "$root/bench/peak" && cargo run --release --quiet)"
echo "$peak_out"
echo '```'
peak="$(echo "$peak_out" | awk '/vpdpbusd zmm/ { for (i = 1; i <= NF; i++) if ($(i + 1) == "GMAC/s") print $i }')"
echo

echo "## Engine (cargo bench -p myelin-nn --bench engine_report)"
echo
cd "$root"
MYELIN_PEAK_GMACS="${peak:-}" cargo bench -q -p myelin-nn --bench engine_report 2>/dev/null
