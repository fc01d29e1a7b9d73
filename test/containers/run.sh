#!/usr/bin/env bash
# `npm run test:containers`: docker-compose.yml, built and run for real, on podman.
#
#   1. deploy/compose/podman/setup.sh: podman where missing, its settings, the base images;
#   2. a podman API service on a private socket (DOCKER_HOST) for docker-compose;
#   3. `docker-compose build` of every Dockerfile target (podman's layer cache);
#   4. test/containers/stack.containers-spec.ts: up, checks through the published port and
#      inside the stack, stop, up again scaled out, down -v.
# Whatever happens, the trap prints every container's last log lines (on failure) and
# runs `docker-compose down -v`, then stops what this script started.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH=$PWD/node_modules/.bin:$PATH # Node 24 (the `node` devDependency)

if ((EUID != 0)); then
  echo "test:containers: run as root (it installs and configures podman)" >&2
  exit 1
fi
seconds() { date +%s; }
t0=$(seconds)
bash deploy/compose/podman/setup.sh

work=$(mktemp -d /tmp/test-containers.XXXXXX)
export DOCKER_HOST=unix://$work/podman.sock
# A project of its own (names, networks, volumes) and a free host port: CI may run twice here.
export COMPOSE_PROJECT_NAME=cfs-test-$$
GATEWAY_PORT=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
export GATEWAY_PORT
# Small log files, so that the test sees rotation happen.
export LOG_MAX_SIZE=${LOG_MAX_SIZE:-200k}
podman_pid=
ticker_pid=

project_containers() {
  podman ps -a -q --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME"
}

cleanup() {
  local code=$?
  set +e
  if ((code != 0)); then
    echo "test:containers: FAILED ($code); the last log lines of every container:" >&2
    for id in $(project_containers); do
      echo "---- $(podman inspect -f '{{.Name}} ({{.State.Status}}, exit {{.State.ExitCode}}, health {{.State.Health.Status}})' "$id")" >&2
      podman logs --tail 40 "$id" 2>&1 | cut -c1-400 >&2
    done
    # podman logs "unable to get systemd connection" for every health check: expected here.
    echo "---- podman system service" >&2
    grep -v 'systemd connection' "$work/podman.log" | tail -20 >&2
  fi
  if [[ -n $ticker_pid ]]; then
    pkill -P "$ticker_pid" 2>/dev/null # the per-container loops, by their parent's id
    kill "$ticker_pid" 2>/dev/null
  fi
  if [[ -S $work/podman.sock ]]; then
    docker-compose down -v --remove-orphans --timeout 30 >/dev/null 2>&1 ||
      echo "test:containers: docker-compose down -v failed" >&2
  fi
  # Whatever a compose command interrupted half way left behind.
  local label="label=com.docker.compose.project=$COMPOSE_PROJECT_NAME"
  project_containers | xargs -r podman rm -f >/dev/null 2>&1
  podman volume ls -q --filter "$label" | xargs -r podman volume rm -f >/dev/null 2>&1
  podman network ls -q --filter "$label" | xargs -r podman network rm -f >/dev/null 2>&1
  [[ -n $podman_pid ]] && kill "$podman_pid" 2>/dev/null && wait "$podman_pid" 2>/dev/null
  rm -rf "$work"
  echo "test:containers: exit $code after $(($(seconds) - t0)) s"
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The Docker API, served by podman for as long as this script runs.
podman system service --time=0 "$DOCKER_HOST" 2>"$work/podman.log" &
podman_pid=$!
for _ in $(seq 100); do [[ -S $work/podman.sock ]] && break; sleep 0.1; done
[[ -S $work/podman.sock ]] || { echo "test:containers: podman system service did not start" >&2; exit 1; }

# Health checks: without systemd, podman runs none by itself (the status would stay
# `starting`, and `depends_on: service_healthy` would wait forever). This runs each
# container's HEALTHCHECK as Docker's engine does: `interval` after the container is seen,
# then `interval` after each check has finished; nothing more.
tick_health() {
  declare -A seen
  local id interval
  while sleep 2; do
    for id in $(podman ps -q --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME" 2>/dev/null); do
      [[ -n ${seen[$id]:-} ]] && continue
      seen[$id]=1
      interval=$(podman inspect -f '{{if .Config.Healthcheck}}{{.Config.Healthcheck.Interval.Seconds}}{{end}}' "$id" 2>/dev/null) || continue
      [[ -n $interval ]] || continue
      (
        set +e # a failed check is the container's news, not this loop's end
        while sleep "${interval%.*}"; do
          podman container exists "$id"
          (($? == 1)) && break # removed
          podman healthcheck run "$id" >/dev/null 2>&1
        done
      ) &
    done
  done
}
tick_health &
ticker_pid=$!

echo "test:containers: docker-compose build"
build_start=$(seconds)
if ! docker-compose build >"$work/build.log" 2>&1; then
  tail -60 "$work/build.log" >&2
  echo "test:containers: docker-compose build failed" >&2
  exit 1
fi
echo "test:containers: images built in $(($(seconds) - build_start)) s"
podman images --filter "reference=cheese-farm-soccer/*" --format '  {{.Repository}}:{{.Tag}} {{.Size}}'

# Extra arguments go to vitest (e.g. `npm run test:containers -- -t "non-root"`).
vitest run --config test/containers/vitest.config.ts "$@"
