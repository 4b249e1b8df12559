# The service image: `arbiter serve` with the Docker sandbox backend (see compose.yaml and README "Deploy").
#     docker build -t arbiter:latest .        (or: make images, which also builds the sandbox image)
# FROM debian:bookworm-slim only: where no registry is reachable, scripts/bootstrap-base-image.sh creates it.
# Two stages: pip and the build tooling stay in the first; the second holds Debian's python3 and the venv.

FROM debian:bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, from pyproject.toml alone, so that a code change does not reinstall sympy & co.
COPY pyproject.toml ./
RUN python3 -m venv /opt/arbiter \
 && python3 -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' \
    > /tmp/requirements.txt
# Sites whose egress goes through a TLS-inspecting proxy pass its CA certificates (PEM text) here; they extend
# the certificates pip trusts in this build stage only (scripts/build-images.sh passes the host's local CAs from
# /usr/local/share/ca-certificates). Public certificates, not secrets; they never reach the final stage.
ARG EXTRA_CA_CERTS=""
RUN if [ -n "$EXTRA_CA_CERTS" ]; then \
      bundle=$(/opt/arbiter/bin/python -c 'import pip._vendor.certifi as c; print(c.where())') \
      && { cat "$bundle"; printf '%s\n' "$EXTRA_CA_CERTS"; } > /tmp/ca-bundle.pem \
      && export PIP_CERT=/tmp/ca-bundle.pem; \
    fi \
 && /opt/arbiter/bin/pip install --no-cache-dir --disable-pip-version-check -r /tmp/requirements.txt
COPY README.md ./
COPY app ./app
COPY sandbox ./sandbox
# Not editable: the code is copied into the venv, so /src can go. pip and setuptools are not needed at run time.
RUN if [ -f /tmp/ca-bundle.pem ]; then export PIP_CERT=/tmp/ca-bundle.pem; fi \
 && /opt/arbiter/bin/pip install --no-cache-dir --disable-pip-version-check --no-deps . \
 && /opt/arbiter/bin/pip uninstall -y -q pip setuptools \
 && rm -rf /opt/arbiter/lib/python3*/site-packages/tests
# (that `tests` is latex2sympy2's stray top-level test package: no tests in the image)

FROM debian:bookworm-slim
# python3 only: no compilers, no pip, no tests in the running image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/* /usr/share/info/* /var/cache/debconf/*-old
# Non-root. To drive the Docker engine through a mounted socket the user needs the socket's group: compose adds
# it with group_add (DOCKER_GID), since the gid differs between hosts.
RUN groupadd --system --gid 10001 arbiter \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin arbiter
COPY --from=build /opt/arbiter /opt/arbiter
COPY deploy/entrypoint.sh /usr/local/bin/arbiter-entrypoint
ENV PATH=/opt/arbiter/bin:$PATH \
    LANG=C.UTF-8 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ARBITER_HOST=0.0.0.0 \
    ARBITER_PORT=8000 \
    ARBITER_SANDBOX_BACKEND=docker
USER arbiter
WORKDIR /tmp
EXPOSE 8000
# Liveness only (/healthz answers without a sandbox); /readyz says whether code can run.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"]
LABEL arbiter.image="service" \
      org.opencontainers.image.title="arbiter" \
      org.opencontainers.image.description="Arbiter: rule-based rewards for RL on reasoning models"
ENTRYPOINT ["/usr/local/bin/arbiter-entrypoint"]
CMD ["arbiter", "serve", "--host", "0.0.0.0", "--port", "8000"]
