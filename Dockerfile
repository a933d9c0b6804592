# TraceSeal's server image: docs/operations.md ("Docker").
#   docker build -t traceseal .
#   docker compose up          (compose.yaml: PostgreSQL, Redis, migrations, the server)
# Two stages: the first builds the wheel and a virtual environment with every dependency
# (binary wheels: lxml, numpy, psycopg, zxing-cpp); the second is the slim runtime with that
# environment, PostgreSQL's client tools for `traceseal backup`, and no compiler or pip cache.

ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m venv /opt/traceseal \
    && /opt/traceseal/bin/pip install --upgrade pip \
    && /opt/traceseal/bin/pip install .

FROM python:${PYTHON_VERSION}-slim-bookworm
# pg_dump and pg_restore of Debian 12 (PostgreSQL 15): they must be at least the server's
# major version, so compose.yaml runs PostgreSQL 15.
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 traceseal \
    && useradd --system --uid 10001 --gid traceseal --home-dir /var/lib/traceseal \
        --shell /usr/sbin/nologin traceseal \
    && install -d -o traceseal -g traceseal -m 0700 /var/lib/traceseal
COPY --from=build /opt/traceseal /opt/traceseal
ENV PATH=/opt/traceseal/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TRACESEAL_DATA_DIR=/var/lib/traceseal
USER 10001:10001
WORKDIR /var/lib/traceseal
VOLUME ["/var/lib/traceseal"]
EXPOSE 8000
# Alive, not ready: /readyz is for the load balancer (a database outage must not get the
# container restarted in a loop).
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
# One worker process per container: scale with more containers (docs/operations.md).
# SIGTERM: requests in flight get a few seconds, then background work stops.
STOPSIGNAL SIGTERM
CMD ["traceseal", "serve", "--host", "0.0.0.0", "--port", "8000"]
