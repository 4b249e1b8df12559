#!/usr/bin/env bash
# `make images`: build the images the Docker deployment needs, without any registry.
#   1. debian:bookworm-slim: pulled, or created locally with debootstrap (scripts/bootstrap-base-image.sh)
#   2. arbiter-sandbox:latest from sandbox/Dockerfile, build context sandbox/ (only the executor package is copied)
#   3. arbiter:latest, the service, from Dockerfile, build context the repo root (see .dockerignore)
# One build_<image> function per image, called below for each name in IMAGES.
# Works from any directory; needs a running Docker engine. Variables: SANDBOX_IMAGE (default ARBITER_SANDBOX_IMAGE,
# the service's setting, else arbiter-sandbox:latest), SERVICE_IMAGE, DOCKER (the CLI), IMAGES (space-separated
# subset to build, default all), DOCKER_BUILD_ARGS (extra `docker build` options), PRUNE (0: keep the dangling
# images rebuilds leave behind).
set -euo pipefail
cd "$(dirname "$0")/.."

DOCKER=${DOCKER:-docker}
SANDBOX_IMAGE=${SANDBOX_IMAGE:-${ARBITER_SANDBOX_IMAGE:-arbiter-sandbox:latest}}
SERVICE_IMAGE=${SERVICE_IMAGE:-arbiter:latest}
IMAGES=${IMAGES:-sandbox service}

if ! $DOCKER info >/dev/null 2>&1; then
  echo "build-images: the Docker engine does not answer; start it (systemctl start docker, or" \
       "sudo nohup dockerd >/tmp/dockerd.log 2>&1 &) or run scripts/ci-setup.sh" >&2
  exit 1
fi

build() {  # build <tag> <dockerfile> <context> [docker build options...]
  local tag=$1 dockerfile=$2 context=$3
  shift 3
  echo "build-images: building $tag from $dockerfile (context $context)"
  local t0=$SECONDS
  # shellcheck disable=SC2086
  $DOCKER build --quiet --tag "$tag" --file "$dockerfile" "$@" ${DOCKER_BUILD_ARGS:-} "$context" >/dev/null
  echo "build-images: $tag ready ($((SECONDS - t0))s, $($DOCKER image inspect -f '{{.Size}}' "$tag" | awk '{printf "%d MB", $1/1e6}'))"
}

build_sandbox() {
  # The image carries the sha256 of the executor package it was built with; the Docker backend's probe refuses an
  # image built from other executor files ("run make images"), so a stale image never runs tests.
  local sha
  sha=$(python3 sandbox/executor/digest.py)
  build "$SANDBOX_IMAGE" sandbox/Dockerfile sandbox --build-arg "EXECUTOR_SHA256=$sha"
}

build_service() {
  # The service image (Dockerfile at the repo root) installs its dependencies from PyPI. Where egress passes a
  # TLS-inspecting proxy, its CA certificates are in the host's local CA folder: hand them to pip in the build
  # stage (EXTRA_CA_CERTS may also be set to PEM text by the caller).
  local ca=${EXTRA_CA_CERTS:-}
  if [ -z "$ca" ] && compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    ca=$(cat /usr/local/share/ca-certificates/*.crt)
  fi
  # --force-rm: a failed step (PyPI unreachable) must not leave its intermediate container behind
  build "$SERVICE_IMAGE" Dockerfile . --force-rm --build-arg "EXTRA_CA_CERTS=$ca"
}

bash scripts/bootstrap-base-image.sh
for image in $IMAGES; do
  "build_$image"
done
# Rebuilds leave the previous image untagged: remove those of ours (dangling ones only, never anything tagged).
if [ "${PRUNE:-1}" != 0 ]; then
  $DOCKER image prune --force --filter "label=arbiter.executor.sha256" >/dev/null || true
  $DOCKER image prune --force --filter "label=arbiter.image=service" >/dev/null || true
fi
