#!/bin/sh
# The compose stack's `certs` one-shot (Dockerfile target `certs`): a development CA and
# certificates made by `npm run certs` (scripts/certs.mjs) in $CERTS_DIR, a volume only
# this container mounts, then copied without the CA's key into $1, the volume the apps
# mount read-only. An existing set is kept (certs.mjs makes one only when there is none).
set -eu
out=${1:?usage: certs.sh <dir the apps mount>}
node scripts/certs.mjs
for file in ca.pem server.pem server-key.pem client.pem client-key.pem; do
  cp -p "$CERTS_DIR/$file" "$out/$file"
done
echo "certs: TLS material in $out (the CA's key stays in $CERTS_DIR)"
