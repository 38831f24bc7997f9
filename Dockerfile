# One image for the whole sandbox and for each of its nodes:
#   docker run --rm -p 8000-8301:8000-8301 gsp-sandbox up [--topology …]   every node in one
#       container, supervised by `gsp-sandbox up` (the default command);
#   docker compose up   a container per platform and per back end (docker-compose.yml runs
#       `python -m sandbox.runtime.node` with GSP_NODES).
# The build fetches the base image and PyPI packages, nothing else.
#
# BASE_IMAGE: any image with python3 >= 3.11 and its venv module, e.g. a plain Debian made
# from packages (`mmdebstrap --include=python3,python3-venv,ca-certificates bookworm`).
# Behind a TLS-intercepting proxy, pass its CA bundle as the build secret `pip-ca`; it is
# mounted for the one pip step only, never stored in a layer:
#   docker build --secret id=pip-ca,src=/etc/ssl/certs/ca-certificates.crt -t gsp-sandbox .
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/gsp/bin:$PATH

# A fixed uid, so files in the data volume have the same owner in every container.
RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home gsp \
    && mkdir -p /app /data \
    && chown gsp:gsp /data

WORKDIR /app
# The dependencies first, in a layer of their own: a change to the sources rebuilds in
# seconds. A venv, so that a distribution's python3 (which refuses pip into the system's
# site-packages) serves as well as the official image; `python` is the venv's, on PATH.
COPY pyproject.toml ./
RUN --mount=type=secret,id=pip-ca \
    python3 -m venv /opt/gsp \
    && if [ -s /run/secrets/pip-ca ]; then export PIP_CERT=/run/secrets/pip-ca; fi \
    && python -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb")); \
print("\n".join([*p["build-system"]["requires"], *p["project"]["dependencies"]]))' \
    > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt
COPY README.md ./
COPY apikit apikit
COPY contracts contracts
COPY gateway gateway
COPY lgsp lgsp
COPY ngsp ngsp
COPY services services
COPY sandbox sandbox
RUN pip install --no-deps --no-build-isolation . && rm -rf build
# The example seed data (GSP_SEED_DIR=/app/seeds/example), as docs/operating/containers.md shows it.
COPY seeds seeds

USER gsp
# Every node listens on all interfaces, so published ports reach it. Nodes reach each other
# on loopback (one container); docker-compose.yml sets GSP_HOST_PATTERN={node} instead.
ENV GSP_DATA_DIR=/data GSP_BIND_HOST=0.0.0.0
# A named volume mounted here starts out owned by gsp, as the directory above is.
VOLUME /data
# A platform's /healthz answers 200 once everything it reaches has been healthy (or after
# 30 s): waiting for the LGSP's /healthz waits for the whole sandbox (Testcontainers does).
ENV GSP_HEALTHZ_WAITS_FOR_START_UP=true
ENTRYPOINT ["gsp-sandbox"]
CMD ["up"]
