#!/usr/bin/env bash
# Create debian:bookworm-slim locally when it cannot be pulled (air-gapped clusters, this project's CI).
# Both images build FROM debian:bookworm-slim; on a machine with a registry this script does nothing,
# on one without it builds a minimal Debian root with debootstrap and imports it under the same tag.
set -euo pipefail

IMAGE=${BASE_IMAGE:-debian:bookworm-slim}
SUITE=${BASE_SUITE:-bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "bootstrap-base-image: $IMAGE already present, nothing to do"
  exit 0
fi

# A pull is the cheap path; it fails fast where no registry is reachable.
if timeout 60 docker pull "$IMAGE" >/dev/null 2>&1; then
  echo "bootstrap-base-image: pulled $IMAGE"
  exit 0
fi

if ! command -v debootstrap >/dev/null 2>&1; then
  echo "bootstrap-base-image: $IMAGE cannot be pulled and debootstrap is missing;" \
       "install it (apt-get install -y debootstrap) and run this script again" >&2
  exit 1
fi

rootfs=$(mktemp -d /tmp/arbiter-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
echo "bootstrap-base-image: building $IMAGE with debootstrap ($SUITE from $MIRROR)"
debootstrap --variant=minbase "$SUITE" "$rootfs" "$MIRROR" >/dev/null
# Keep the image slim like the official one: no apt lists, no docs.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/*
tar -C "$rootfs" -c . | docker import \
  --change 'CMD ["bash"]' \
  --change 'ENV LANG=C.UTF-8' \
  - "$IMAGE" >/dev/null
echo "bootstrap-base-image: imported $IMAGE"
