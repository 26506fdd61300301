#!/usr/bin/env bash
# Set up edgemef on a fresh machine and run the embedded default job.
# Creates .venv, installs edgemef with its training/export extras (versions pinned by
# constraints.txt), then fuses the bundled sample brackets with every method (`edgemef demo`).
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e ".[train,openvino,dev]"
.venv/bin/edgemef demo -o edgemef-demo
