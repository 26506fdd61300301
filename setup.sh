#!/usr/bin/env bash
# Set up edgemef on a fresh machine and run the embedded default job.
# Creates .venv, installs edgemef with its training/export extras (versions pinned by
# constraints.txt), then fuses the bundled sample brackets with every method (`edgemef demo`).
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
# System tools used by the camera loop, the benchmark, the Android core and their tests: GStreamer
# (videotestsrc, gst-launch-1.0), enfuse (classical baseline), v4l-utils, JUnit 4 (android_demo's
# JVM tests; OpenJDK comes with it). Only the missing packages are installed, when running as root
# with apt; otherwise the features that need them say so and their tests skip with the reason.
APT_PKGS="gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good enfuse v4l-utils junit4 openjdk-17-jdk-headless"
MISSING=""
for p in $APT_PKGS; do dpkg -s "$p" >/dev/null 2>&1 || MISSING="$MISSING $p"; done
if [ -n "$MISSING" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $MISSING) \
    >/tmp/edgemef-apt.log 2>&1 || echo "setup: could not install$MISSING (see /tmp/edgemef-apt.log); continuing"
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e ".[train,openvino,dev]"
.venv/bin/edgemef demo -o edgemef-demo
