#!/usr/bin/env bash
# Prepare a clean machine (root, Debian bookworm) for `make test` with every sandbox backend:
#   1. system packages: docker.io docker-compose debootstrap bubblewrap (+ make, python3-venv), only when missing
#   2. a Docker engine: started in the background (dockerd) when none answers, with a bounded wait
#   3. images: debian:bookworm-slim (pulled or debootstrapped) and arbiter-sandbox:latest (scripts/build-images.sh)
# Idempotent: on a prepared machine it installs nothing, starts nothing and the image build is a cache hit.
# Variables: DOCKERD_WAIT_S (default 60), DOCKERD_LOG (default /var/log/arbiter-dockerd.log), DOCKER, DOCKERD.
set -euo pipefail
cd "$(dirname "$0")/.."

# Daemons live in sbin, which a non-login shell's PATH may lack.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
DOCKER=${DOCKER:-docker}
DOCKERD=${DOCKERD:-dockerd}
DOCKERD_WAIT_S=${DOCKERD_WAIT_S:-60}
DOCKERD_LOG=${DOCKERD_LOG:-/var/log/arbiter-dockerd.log}

say() { echo "ci-setup: $*"; }
die() { echo "ci-setup: ERROR: $*" >&2; exit 1; }

SUDO=
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || die "run as root (or install sudo): packages and dockerd need root"
  SUDO=sudo
fi

# ------------------------------------------------------------------------------------------ 1. packages
install_packages() {
  local missing=()
  # dockerd, not docker: some images ship the docker client alone (this project's CI machine does).
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
  command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
  command -v make >/dev/null 2>&1 || missing+=(make)
  python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
  # Host toolchains of the bwrap backend's languages (sandbox/executor/languages/; absolute /usr/bin paths, so a
  # rustup or nvm install elsewhere does not count): Debian's, like the sandbox image's.
  [ -x /usr/bin/gcc ] || missing+=(gcc)
  [ -x /usr/bin/g++ ] || missing+=(g++)
  [ -x /usr/bin/javac ] || missing+=(openjdk-17-jdk-headless)
  [ -x /usr/bin/node ] || missing+=(nodejs)
  [ -x /usr/bin/go ] || missing+=(golang-go)
  [ -d /usr/share/gocode/src/github.com/stretchr/testify ] || missing+=(golang-github-stretchr-testify-dev)
  [ -x /usr/bin/rustc ] || missing+=(rustc)
  if [ ${#missing[@]} -eq 0 ]; then
    say "system packages present"
    return
  fi
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# ------------------------------------------------------------------------------------------ 2. engine
engine_answers() { $SUDO $DOCKER info >/dev/null 2>&1; }

wait_for_engine() {  # wait_for_engine <pid of a dockerd we started, or empty>
  local pid=$1 deadline=$((SECONDS + DOCKERD_WAIT_S))
  until engine_answers; do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      echo "---- last lines of $DOCKERD_LOG" >&2; tail -n 30 "$DOCKERD_LOG" >&2 || true
      die "dockerd exited during start-up (see $DOCKERD_LOG above)"
    fi
    if [ $SECONDS -ge $deadline ]; then
      if [ -n "$pid" ]; then
        echo "---- last lines of $DOCKERD_LOG" >&2; tail -n 30 "$DOCKERD_LOG" >&2 || true
      fi
      die "the Docker engine did not answer within ${DOCKERD_WAIT_S}s (DOCKERD_WAIT_S)"
    fi
    sleep 1
  done
}

ensure_engine() {
  if engine_answers; then
    say "Docker engine answers"
    return
  fi
  if [ -n "${DOCKER_HOST:-}" ]; then
    die "DOCKER_HOST=$DOCKER_HOST does not answer; start that engine or unset DOCKER_HOST"
  fi
  if pgrep -x "$(basename "$DOCKERD")" >/dev/null 2>&1; then  # starting (or wedged): wait, never start a second one
    say "dockerd is running but does not answer yet; waiting up to ${DOCKERD_WAIT_S}s"
    wait_for_engine ""
    return
  fi
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    say "starting docker.service"
    $SUDO systemctl start docker || die "systemctl start docker failed (journalctl -u docker)"
    wait_for_engine ""
  else
    say "starting $DOCKERD in the background (log: $DOCKERD_LOG)"
    $SUDO mkdir -p "$(dirname "$DOCKERD_LOG")"
    # setsid + nohup: the engine outlives this script and the CI step's process group
    $SUDO setsid nohup $DOCKERD >>"$DOCKERD_LOG" 2>&1 </dev/null &
    wait_for_engine $!
  fi
  say "Docker engine answers"
}

# ------------------------------------------------------------------------------------------ 3. images
install_packages
ensure_engine
bash scripts/build-images.sh
say "ready"
