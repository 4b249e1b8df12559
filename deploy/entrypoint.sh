#!/bin/sh
# Replicas that share one Docker engine must label their sandbox containers with distinct instances: at start-up
# a service removes leftover containers of its own instance, and would otherwise remove its siblings' workers.
# The container's hostname (its short id) is stable across restarts of the same container, so a replica that
# crashed and was restarted still finds and removes its own leftovers. Set ARBITER_SANDBOX_INSTANCE to override.
set -eu
if [ -z "${ARBITER_SANDBOX_INSTANCE:-}" ]; then
  ARBITER_SANDBOX_INSTANCE="arbiter-$(hostname)"
fi
export ARBITER_SANDBOX_INSTANCE

# Started as root (compose.yaml: user "0"), the entrypoint finds the group of the mounted Docker socket itself, so
# that no DOCKER_GID has to be looked up and written into .env (it differs between hosts), then drops to the
# unprivileged arbiter user with that group and no capabilities. DOCKER_GID, when set, wins over the socket's.
if [ "$(id -u)" = "0" ]; then
  groups=""
  case "${DOCKER_HOST:-unix:///var/run/docker.sock}" in
    unix://*)
      socket="${DOCKER_HOST:-unix:///var/run/docker.sock}"
      socket="${socket#unix://}"
      if [ -n "${DOCKER_GID:-}" ]; then
        groups="$DOCKER_GID"
      elif [ -S "$socket" ]; then
        groups="$(stat -c %g "$socket")"
        echo "arbiter-entrypoint: Docker socket $socket belongs to group $groups; running as arbiter with it" >&2
      else
        echo "arbiter-entrypoint: no Docker socket at $socket: mount /var/run/docker.sock (compose.yaml volumes)" \
          "or set ARBITER_DOCKER_HOST; code items will be sandbox_unavailable until then" >&2
      fi
      ;;
  esac
  if [ -n "$groups" ]; then
    exec setpriv --reuid=arbiter --regid=arbiter --groups="$groups" --inh-caps=-all --bounding-set=-all \
      --no-new-privs -- "$@"
  fi
  exec setpriv --reuid=arbiter --regid=arbiter --clear-groups --inh-caps=-all --bounding-set=-all \
    --no-new-privs -- "$@"
fi
# exec: the server is the process that receives SIGTERM (compose uses init: true as PID 1 to forward it).
exec "$@"
