#!/bin/sh
# The compose stack's `certs` one-shot (Dockerfile target `certs`): a development CA and
# certificates made by `npm run certs` (scripts/certs.mjs) in $CERTS_DIR, a volume only
# this container mounts; then into each app's own volume, under $1/<app>, only what that
# app needs:
#   gateway         ca.pem, client.pem, client-key.pem (it dials the services under mTLS)
#   <service>       ca.pem, server.pem, server-key.pem; healthcheck.pem + healthcheck-key.pem,
#                   a self-signed client certificate for the image's health check, which
#                   only this service accepts: client-ca.pem = the CA + that certificate.
# No app gets the CA's key, another app's health check certificate or the gateway's key.
# An existing set is kept (certs.mjs and this script make only what is missing).
set -eu
out=${1:?usage: certs.sh DIR, the directory holding every app volume}
node scripts/certs.mjs

give() { # give <app> <file>...
  app=$1
  shift
  for file in "$@"; do cp -p "$CERTS_DIR/$file" "$out/$app/$file"; done
}

give gateway ca.pem client.pem client-key.pem
for service in cheese-service soccer-service; do
  dir=$out/$service
  give "$service" ca.pem server.pem server-key.pem
  if [ ! -s "$dir/healthcheck.pem" ] || [ ! -s "$dir/healthcheck-key.pem" ]; then
    (umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
      -subj "/CN=$service health check" -days 825 \
      -addext 'basicConstraints=critical,CA:FALSE' -addext 'keyUsage=critical,digitalSignature' \
      -addext 'extendedKeyUsage=clientAuth' \
      -keyout "$dir/healthcheck-key.pem" -out "$dir/healthcheck.pem" 2>/dev/null)
    chmod 0644 "$dir/healthcheck.pem"
  fi
  cat "$dir/ca.pem" "$dir/healthcheck.pem" >"$dir/client-ca.pem"
done
echo "certs: each app's TLS material in $out/<app> (the CA's key stays in $CERTS_DIR)"
