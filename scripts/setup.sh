#!/usr/bin/env bash
# Set up everything monerosim-actors needs on a fresh Debian machine (run as root, or with sudo for apt):
# Debian's monero package (monerod, monero-wallet-rpc), strace for the idle-cost figure, a C compiler
# (gen builds the Shadow compatibility shim with it), Python's venv, and a virtual environment in .venv
# with the project and its test tools installed. Shadow itself is not installed here: no registry
# these machines reach has it (docs/shadow.md, "Which Shadow").
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v monerod >/dev/null 2>&1 || missing+=(monero)
command -v strace >/dev/null 2>&1 || missing+=(strace)
command -v cc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test,analysis,sweep]'
echo "setup: ready ($(.venv/bin/python --version), $(monerod --version | head -n 1))" >&2
