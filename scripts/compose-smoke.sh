#!/usr/bin/env bash
# Compose smoke test (run by .ci/run after `make test`): build both images, start compose.yaml under a project
# name of its own on a loopback port of its own, wait until healthy and ready, score a batch mixing math and code
# items through the published port, scrape /metrics, stop, and fail if any container of the project (compose
# labels) or of its sandbox instance (arbiter.instance label) is left, also when a step fails (trap).
# Variables: SMOKE_PROJECT (default arbitersmoke), SMOKE_PORT (default 18787), SMOKE_WAIT_S (default 180).
set -euo pipefail
cd "$(dirname "$0")/.."

PROJECT=${SMOKE_PROJECT:-arbitersmoke}
PORT=${SMOKE_PORT:-18787}
WAIT_S=${SMOKE_WAIT_S:-180}
KEY=smoke-$RANDOM$RANDOM
# A sandbox instance label of this run only: the leftover check below cannot mistake anyone else's containers.
INSTANCE=arbiter-smoke-$$

say() { echo "compose-smoke: $*"; }

command -v docker-compose >/dev/null 2>&1 || { echo "compose-smoke: docker-compose is missing (scripts/ci-setup.sh installs it)" >&2; exit 1; }
export COMPOSE_PROJECT_NAME=$PROJECT
export ARBITER_PUBLISH=127.0.0.1:$PORT
# No DOCKER_GID: the entrypoint finds the socket's group itself (a fresh machine has no .env).
unset DOCKER_GID
export ARBITER_SANDBOX_INSTANCE=$INSTANCE ARBITER_API_KEYS=$KEY
export ARBITER_MATH_WORKERS=1 ARBITER_SANDBOX_WORKERS=1 ARBITER_SHUTDOWN_GRACE_S=20 ARBITER_STOP_GRACE_PERIOD=30s
compose() { docker-compose --project-name "$PROJECT" --file compose.yaml "$@"; }

leftovers() {
  { docker ps -aq --filter "label=com.docker.compose.project=$PROJECT"
    docker ps -aq --filter "label=arbiter.instance=$INSTANCE"; } | sort -u
}

stopped=
finish() {
  local rc=$?
  if [ -z "$stopped" ]; then
    if [ $rc -ne 0 ]; then
      say "FAILED; last lines of the api log (request lines left out):"
      compose logs --no-color api 2>&1 | grep -v '"arbiter.access"' | tail -n 40 >&2 || true
    fi
    compose down --timeout 30 --remove-orphans >/dev/null 2>&1 || true
  fi
  local left
  left=$(leftovers)
  if [ -n "$left" ]; then
    say "containers left behind, removing them: $(echo "$left" | tr '\n' ' ')" >&2
    docker rm -f $left >/dev/null 2>&1 || true
    rc=1
  fi
  compose down --remove-orphans >/dev/null 2>&1 || true  # the project network
  [ $rc -eq 0 ] && say "passed" || say "failed"
  exit $rc
}
trap finish EXIT

if [ -n "$(leftovers)" ]; then
  echo "compose-smoke: containers of project $PROJECT exist already; remove them (docker-compose -p $PROJECT down)" >&2
  exit 1
fi

say "building images"
bash scripts/build-images.sh
compose config --quiet

say "starting project $PROJECT on 127.0.0.1:$PORT"
t0=$SECONDS
compose up -d --no-build
cid=$(compose ps -q api)
until [ "$(docker inspect -f '{{.State.Health.Status}}' "$cid")" = healthy ]; do
  state=$(docker inspect -f '{{.State.Status}}' "$cid")
  [ "$state" = running ] || { echo "compose-smoke: the api container is $state" >&2; exit 1; }
  [ $((SECONDS - t0)) -lt "$WAIT_S" ] || { echo "compose-smoke: api not healthy within ${WAIT_S}s" >&2; exit 1; }
  sleep 2
done
say "healthy after $((SECONDS - t0))s"

python3 - "$PORT" "$KEY" "$INSTANCE" "$WAIT_S" <<'PY'
import json, subprocess, sys, time, urllib.error, urllib.request

port, key, instance, wait_s = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
base = f"http://127.0.0.1:{port}"


def call(method, path, body=None, auth=True, headers=None):
    h = {"Content-Type": "application/json", **(headers or {})}
    if auth:
        h["Authorization"] = f"Bearer {key}"
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


status, _, _ = call("GET", "/healthz", auth=False)
assert status == 200, status
status, _, body = call("GET", "/readyz", auth=False)
assert status == 401, f"/readyz without a key: {status} (auth is on)"
deadline = time.monotonic() + wait_s
while True:
    status, _, body = call("GET", "/readyz")
    if status == 200:
        break
    assert time.monotonic() < deadline, f"/readyz still {status}: {body[:300]!r}"
    time.sleep(1)
ready = json.loads(body)
assert ready["sandbox"]["backend"] == "docker", ready
print("compose-smoke: ready, sandbox", ready["sandbox"])

R1 = "<think>\nwork\n</think>\n<answer>\n{}\n</answer>"
ok = "```python\na, b = map(int, input().split())\nprint(a + b)\n```"
bad = "```python\nprint(0)\n```"
tests = [{"input": "1 2\n", "output": "3\n"}, {"input": "5 7\n", "output": "12\n"}]
items = [
    {"id": "m-right", "completion": R1.format("\\boxed{\\frac{1}{2}}"), "reference": {"answer": "0.5"}},
    {"id": "m-wrong", "completion": R1.format("\\boxed{3}"), "reference": {"answer": "4"}},
    {"id": "c-pass", "completion": R1.format(ok), "reference": {"tests": tests}},
    {"id": "c-fail", "completion": R1.format(bad), "reference": {"tests": tests}},
]
status, headers, body = call("POST", "/v1/score", {"items": items, "rewards": {"accuracy": {}, "format": {}}},
                             headers={"X-Request-ID": "smoke-1"})
assert status == 200, (status, body[:500])
assert {k.lower(): v for k, v in headers.items()}.get("x-request-id") == "smoke-1", headers
results = {r["id"]: r for r in json.loads(body)["results"]}
got = {i: (r["status"], r["components"]["accuracy"]) for i, r in results.items()}
want = {"m-right": ("ok", 1.0), "m-wrong": ("ok", 0.0), "c-pass": ("ok", 1.0), "c-fail": ("ok", 0.0)}
assert got == want, f"rewards: {got} != {want}; details: {json.dumps(results)[:1500]}"
assert results["c-pass"]["details"]["accuracy"]["verdicts"] == ["AC", "AC"], results["c-pass"]
print("compose-smoke: rewards", got)

running = subprocess.run(["docker", "ps", "-q", "--filter", f"label=arbiter.instance={instance}"],
                         capture_output=True, text=True, check=True).stdout.split()
assert running, f"no sandbox container with label arbiter.instance={instance}: the docker backend did not run"
print(f"compose-smoke: {len(running)} sandbox container(s) of instance {instance}")

status, _, body = call("GET", "/metrics", auth=False)
assert status == 401, f"/metrics without a key: {status}"
status, _, body = call("GET", "/metrics")
assert status == 200, status
text = body.decode()
for needle in ('arbiter_items_total{reward="accuracy",status="ok"} 4.0',
               'arbiter_requests_total{code="200",method="POST",route="/v1/score"}',
               'arbiter_stage_duration_seconds_count{stage="sandbox_run"}',
               'arbiter_sandbox_workers{state="idle"}', "arbiter_math_cache_hits_total"):
    assert needle in text, f"/metrics lacks {needle!r}"
print("compose-smoke: /metrics ok")
PY

say "stopping (SIGTERM, graceful)"
compose down --timeout 30 --remove-orphans
stopped=1
left=$(leftovers)
if [ -n "$left" ]; then
  echo "compose-smoke: after down, containers are left: $left" >&2
  exit 1
fi
say "no container of project $PROJECT or instance $INSTANCE left"
