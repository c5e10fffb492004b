#!/usr/bin/env bash
# Creates the development PKI under var/certs if absent (SPEC section 1):
# ca.pem/ca.key (development CA), server.pem/.key (localhost, 127.0.0.1),
# device1.pem/.key and device2.pem/.key (CN device1/device2, signed by the CA).
set -euo pipefail
dir=${1:-var/certs}
mkdir -p "$dir"
cd "$dir"
umask 077

if [ ! -f ca.pem ]; then
    echo "dev-certs: creating development CA in $dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
        -subj "/CN=egbroker development CA" -keyout ca.key -out ca.pem \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fi

issue() { # name subject extensions
    local name=$1 subj=$2 ext=$3
    [ -f "$name.pem" ] && return 0
    echo "dev-certs: issuing $name.pem ($subj)"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$subj" \
        -keyout "$name.key" -out "$name.csr" 2>/dev/null
    printf '%s\n' "$ext" >"$name.ext"
    openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 825 \
        -extfile "$name.ext" -out "$name.pem" 2>/dev/null
    rm -f "$name.csr" "$name.ext"
}

issue server "/CN=localhost" "subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth"
issue device1 "/CN=device1" "extendedKeyUsage=clientAuth"
issue device2 "/CN=device2" "extendedKeyUsage=clientAuth"
chmod 644 ./*.pem
