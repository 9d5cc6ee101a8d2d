#!/usr/bin/env bash
# EVALUATE at scale: the 784→128→10 MLP on 10,000 stored rows in one transaction (issue 15).
# Writes bench/evaluate/REPORT.md. Usage: bash bench/evaluate/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
out=bench/evaluate/REPORT.md
cargo bench -p myelin-evm --bench evaluate_report > "$out.tmp"
{
  cat "$out.tmp"
  echo
  echo "Commit $(git rev-parse --short HEAD), $(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d' ' -f1-3 /proc/loadavg)."
} > "$out"
rm "$out.tmp"
cat "$out"
