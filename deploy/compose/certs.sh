#!/bin/sh
# The compose stack's `certs` one-shot (Dockerfile target `certs`): a development CA and
# certificates made by `npm run certs` (scripts/certs.mjs) in $CERTS_DIR, a volume only
# this container mounts; then into each app's own volume, under $1/<app>, only what that
# app needs:
#   gateway         ca.pem, client.pem + client-key.pem (it dials the services under mTLS);
#                   server.pem + server-key.pem, for its HTTPS listener (read only when
#                   docker-compose.https.yml switches it on)
#   <service>       ca.pem; server.pem + server-key.pem; healthcheck.pem +
#                   healthcheck-key.pem, a self-signed client certificate for the image's
#                   health check, which only this service accepts: client-ca.pem = the CA +
#                   that certificate.
# Each server certificate is the app's own, signed by the CA, naming only that app,
# localhost, 127.0.0.1 and ::1.
# No app gets the CA's key, another app's key or a certificate that names another app.
# An existing set is kept (certs.mjs and this script make only what is missing).
set -eu
out=${1:?usage: certs.sh DIR, the directory holding every app volume}
node scripts/certs.mjs

# ec_pair <dir> <name> <openssl req options>...: <name>.pem and <name>-key.pem (P-256), kept private.
ec_pair() {
  dir=$1
  name=$2
  shift 2
  (umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
    -addext 'basicConstraints=critical,CA:FALSE' -addext 'keyUsage=critical,digitalSignature' \
    -keyout "$dir/$name-key.pem" -out "$dir/$name.pem" "$@" 2>/dev/null)
  chmod 0644 "$dir/$name.pem"
}
missing() { [ ! -s "$1.pem" ] || [ ! -s "$1-key.pem" ]; }

# server_cert <app>: $out/<app>/server.pem + server-key.pem, signed by the CA, unless there.
server_cert() {
  if missing "$out/$1/server"; then
    ec_pair "$out/$1" server -subj "/CN=$1" \
      -CA "$CERTS_DIR/ca.pem" -CAkey "$CERTS_DIR/ca-key.pem" \
      -addext "subjectAltName=DNS:$1,DNS:localhost,IP:127.0.0.1,IP:::1" \
      -addext 'extendedKeyUsage=serverAuth'
  fi
}

cp -p "$CERTS_DIR/ca.pem" "$CERTS_DIR/client.pem" "$CERTS_DIR/client-key.pem" "$out/gateway/"
server_cert gateway
for service in cheese-service soccer-service; do
  dir=$out/$service
  cp -p "$CERTS_DIR/ca.pem" "$dir/"
  server_cert "$service"
  if missing "$dir/healthcheck"; then
    ec_pair "$dir" healthcheck -subj "/CN=$service health check" \
      -addext 'extendedKeyUsage=clientAuth'
  fi
  cat "$dir/ca.pem" "$dir/healthcheck.pem" >"$dir/client-ca.pem"
done
echo "certs: each app's TLS material in $out/<app> (the CA's key stays in $CERTS_DIR)"
