#!/usr/bin/env bash
# Applies a namespace directory (examples/demo layout: namespace.json, then caCertificates/,
# clients/, clientGroups/, topicSpaces/, permissionBindings/) to egcontrol with curl PUTs, in
# dependency order. @CA_PEM@ and @DEVICE2_THUMBPRINT@ are replaced by the JSON-escaped PEM of
# --ca FILE and the SHA-256 thumbprint of --thumbprint-of FILE.
# Usage: scripts/apply-namespace.sh ENDPOINT TOKENFILE NAMESPACE DIR [--ca FILE] [--thumbprint-of FILE]
set -euo pipefail
endpoint=$1 token_file=$2 ns=$3 dir=$4
shift 4
ca_pem="" thumbprint=""
while [ $# -gt 0 ]; do
  case "$1" in
    --ca) ca_pem=$(awk '{printf "%s\\n", $0}' "$2"); shift 2 ;;
    --thumbprint-of) thumbprint=$(openssl x509 -in "$2" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g'); shift 2 ;;
    *) echo "apply-namespace: unknown option $1" >&2; exit 2 ;;
  esac
done
token=$(cat "$token_file")

put() { # path file
  local body status
  body=$(sed -e "s|@DEVICE2_THUMBPRINT@|$thumbprint|g" "$2")
  body=${body//@CA_PEM@/$ca_pem}
  status=$(curl -sS -o /tmp/apply-namespace.$$ -w '%{http_code}' -X PUT -H "Authorization: Bearer $token" \
           -H 'Content-Type: application/json' --data-binary "$body" "$endpoint$1")
  if [ "$status" != 200 ] && [ "$status" != 201 ]; then
    echo "apply-namespace: PUT $1 failed with $status: $(cat /tmp/apply-namespace.$$)" >&2
    rm -f /tmp/apply-namespace.$$
    exit 1
  fi
  rm -f /tmp/apply-namespace.$$
}

put "/namespaces/$ns" "$dir/namespace.json"
for kind in caCertificates clients clientGroups topicSpaces permissionBindings; do
  [ -d "$dir/$kind" ] || continue
  for f in "$dir/$kind"/*.json; do
    [ -e "$f" ] || continue
    put "/namespaces/$ns/$kind/$(basename "$f" .json)" "$f"
  done
done
