# The evm-mlir node: a local chain with JSON-RPC on port 8545, chain data on the /data volume.
#
#   docker build -t evm-mlir .
#   docker run --rm -p 8545:8545 -v evm-mlir-data:/data evm-mlir
#
# Same install as the README: Python 3.11, pip and gcc, then a pip install of the project (every dependency
# is pinned in pyproject.toml).
FROM python:3.11-slim

RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc g++ \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY client ./client
COPY common ./common
COPY evm ./evm
COPY state ./state
COPY genesis ./genesis
RUN pip install --no-cache-dir .

VOLUME /data
EXPOSE 8545
STOPSIGNAL SIGTERM
ENTRYPOINT ["evm-mlir", "node"]
CMD ["--genesis", "/app/genesis/dev.json", "--datadir", "/data", "--http.addr", "0.0.0.0", "--http.port", "8545", "--http.vhosts", "*"]
