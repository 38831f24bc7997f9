# One image for every node: platforms and back ends differ only in GSP_NODES.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY apikit apikit
COPY contracts contracts
COPY gateway gateway
COPY lgsp lgsp
COPY ngsp ngsp
COPY services services
COPY sandbox sandbox
RUN pip install --no-cache-dir .
ENV GSP_DATA_DIR=/data GSP_BIND_HOST=0.0.0.0 GSP_HOST_PATTERN={node}
VOLUME /data
ENTRYPOINT ["python", "-m", "sandbox.node"]
