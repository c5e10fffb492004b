#!/usr/bin/env bash
# Installs the Debian packages (and the npm test client) this project needs, only those missing.
# Usage: scripts/deps.sh build|test|run|fuzz
set -euo pipefail
cd "$(dirname "$0")/.."

build_pkgs=(gcc make pkg-config libevent-dev libssl-dev libmicrohttpd-dev libjansson-dev
            libsqlite3-dev libwslay-dev libcurl4-openssl-dev)
test_pkgs=(libcmocka-dev clang-format mosquitto mosquitto-clients python3 python3-paho-mqtt python3-yaml curl sqlite3 jq nodejs npm openssl chromium)
fuzz_pkgs=(clang libclang-rt-14-dev)

want=("${build_pkgs[@]}")
case "${1:-build}" in
  test) want+=("${test_pkgs[@]}") ;;
  run) want+=(openssl mosquitto-clients) ;;
  fuzz) want+=("${fuzz_pkgs[@]}") ;;
esac

missing=()
for p in "${want[@]}"; do
  # nodejs/npm may come from outside Debian (nodesource, nvm): accept the commands too.
  case "$p" in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
  esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "deps: installing missing Debian packages: ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The npm test dependencies (tests/e2e/package.json): MQTT.js, and playwright-core to drive
# Debian's chromium (it downloads no browser of its own).
if [ "${1:-build}" = test ] && { [ ! -d tests/e2e/node_modules/mqtt ] || [ ! -d tests/e2e/node_modules/playwright-core ]; }; then
  echo "deps: installing the npm test clients (mqtt, playwright-core) into tests/e2e/node_modules"
  (cd tests/e2e && npm install --no-audit --no-fund --silent)
fi
exit 0
