#!/usr/bin/env bash
# Installs the given Debian packages with apt-get (through sudo when not
# root), quietly, as the benchmarks' run.sh scripts need their peers.
#
#   bench/apt_install.sh PACKAGE...
set -euo pipefail
[ $# -gt 0 ] || exit 0
echo "==> installing: $*"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
