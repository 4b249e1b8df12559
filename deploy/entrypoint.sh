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
# exec: the server is the process that receives SIGTERM (compose uses init: true as PID 1 to forward it).
exec "$@"
