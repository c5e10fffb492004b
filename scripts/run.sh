#!/usr/bin/env bash
# `make run`: the demo of SPEC section 1, as far as it exists. Creates the
# development certificates, then starts the processes that are built.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
mkdir -p var
scripts/dev-certs.sh var/certs
echo "Development certificates: var/certs (ca.pem, server.pem/.key, device1.pem/.key, device2.pem/.key)"
# The broker and control plane report "not built yet" until their issues land.
"$BUILD/bin/egbroker" || echo "egbroker and egcontrol join this demo as their issues land (README.md)."
