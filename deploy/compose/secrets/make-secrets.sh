#!/bin/sh
# Create the secret files compose.yaml mounts, readable by their owner only.
# The TLS certificate and key (tls.crt, tls.key) come from your CA: copy them here.
set -eu
cd "$(dirname "$0")"
umask 077
random() { head -c 32 /dev/urandom | base64 | tr -d '/+=\n'; }
[ -f baliza_passphrase ] || random > baliza_passphrase
if [ ! -f db_password ]; then
    random > db_password
    printf 'db:5432:baliza:baliza:%s\n' "$(cat db_password)" > pgpass
fi
echo "secrets in $(pwd); keep a copy of baliza_passphrase apart from the backups"
