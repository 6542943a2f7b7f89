#!/usr/bin/env bash
# The README's first command. On a fresh Debian machine (as root, or with sudo for apt): set up
# everything (scripts/setup.sh: the monero package, .venv with the project), run the quickstart
# scenario on this machine (real monerod, wallets and ZeroMQ on loopback addresses; its 25 scenario
# minutes at time scale 6 take about 4 minutes), then analyse the run. Extra arguments go to
# `monerosim-actors run`.
# Output: runs/quickstart/ (events in shadow.data/hosts/*/events.jsonl, report in report/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

OUT=runs/quickstart
# --force replaces an earlier quickstart run (and only a folder that holds one).
.venv/bin/monerosim-actors run configs/quickstart.yaml -o "$OUT" --time-scale 6 --force "$@"
.venv/bin/monerosim-actors analyze "$OUT"
echo "quickstart: done; the report is $OUT/report/report.md" >&2
