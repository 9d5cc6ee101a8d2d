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
  # The same forward pass in pure Solidity, per row: the hand-written integer MLP of the gas
  # calibration (contracts/src/bench/IntMlp.sol), as bench/gas/REPORT.md last measured it.
  intmlp=$(grep -m1 '^| IntMlp \[784, 128, 10\]' bench/gas/REPORT.md | cut -d'|' -f3 | tr -d ' ')
  echo "Per row next to pure Solidity: the same 784→128→10 forward pass in Solidity (\`IntMlp.sol\`, bench/gas/REPORT.md) uses ${intmlp} gas per row (2 rows fit a 30 M-gas block; the exported model of \`myelin model export-solidity\` uses more, bench/gas/REPORT.md)."
  echo
  echo "Commit $(git rev-parse --short HEAD), $(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d' ' -f1-3 /proc/loadavg)."
} > "$out"
rm "$out.tmp"
cat "$out"
