# One image for every node: platforms and back ends differ only in GSP_NODES (see
# docker-compose.yml). The build fetches the base image and PyPI packages, nothing else.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A fixed uid, so files in the data volume have the same owner in every container.
RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home gsp \
    && mkdir -p /app /data \
    && chown gsp:gsp /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY apikit apikit
COPY contracts contracts
COPY gateway gateway
COPY lgsp lgsp
COPY ngsp ngsp
COPY services services
COPY sandbox sandbox
RUN pip install .
# The example seed data (GSP_SEED_DIR=/app/seeds/example), as docs/operating/containers.md shows it.
COPY seeds seeds

USER gsp
# Inside compose every node listens on all interfaces and reaches the others by host name:
# the compose service, or a network alias of the service that serves it.
ENV GSP_DATA_DIR=/data GSP_BIND_HOST=0.0.0.0 GSP_HOST_PATTERN={node}
# A named volume mounted here starts out owned by gsp, as the directory above is.
VOLUME /data
ENTRYPOINT ["python", "-m", "sandbox.node"]
