#!/usr/bin/env bash
# `make images`: build the images the Docker deployment needs, without any registry.
#   1. debian:bookworm-slim: pulled, or created locally with debootstrap (scripts/bootstrap-base-image.sh)
#   2. arbiter-sandbox:latest from sandbox/Dockerfile, build context sandbox/ (only executor.py is copied)
# One build_<image> function per image; add the next image (the service) as its own function and call it below.
# Works from any directory; needs a running Docker engine. Variables: SANDBOX_IMAGE, DOCKER (the CLI), IMAGES
# (space-separated subset to build, default all), DOCKER_BUILD_ARGS (extra `docker build` options).
set -euo pipefail
cd "$(dirname "$0")/.."

DOCKER=${DOCKER:-docker}
SANDBOX_IMAGE=${SANDBOX_IMAGE:-arbiter-sandbox:latest}
IMAGES=${IMAGES:-sandbox}

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
  # The image carries the sha256 of the executor it was built with; the Docker backend's probe refuses an image
  # built from another executor.py ("run make images"), so a stale image never runs tests.
  local sha
  sha=$(sha256sum sandbox/executor.py | cut -d' ' -f1)
  build "$SANDBOX_IMAGE" sandbox/Dockerfile sandbox --build-arg "EXECUTOR_SHA256=$sha"
}

bash scripts/bootstrap-base-image.sh
for image in $IMAGES; do
  "build_$image"
done
# Rebuilds leave the previous image untagged: remove those of ours (dangling ones only, never anything tagged).
$DOCKER image prune --force --filter "label=arbiter.executor.sha256" >/dev/null || true
