# sfsync worker image: configuration only through the environment,
# rules mounted at /app/mappings (SFSYNC_MAPPINGS), state in PostgreSQL
# (SFSYNC_DATABASE_URL) or in /data/sfsync.db by default.
# See docs/OPERATIONS.md for running it in production and scaling out.
FROM python:3.11-slim

# Memory (docs/PERFORMANCE.md, "The daemon's memory"): by default glibc gives each
# writer thread a heap of its own, and each keeps what a large cycle freed; and
# after a cycle that left more than SFSYNC_MAX_MEMORY_MB resident (the first pull
# over a large org), `sfsync run` starts afresh in the same process (exec).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    MALLOC_ARENA_MAX=2 \
    SFSYNC_MAX_MEMORY_MB=180 \
    SFSYNC_MAPPINGS=/app/mappings \
    SFSYNC_DATABASE_URL=sqlite:////data/sfsync.db

WORKDIR /app
COPY pyproject.toml README.md ./
COPY sfsync ./sfsync
COPY mappings ./mappings
RUN pip install . \
 && useradd --system --uid 10001 --home /app sfsync \
 && mkdir -p /data && chown sfsync /data

USER sfsync
VOLUME ["/data"]
# Status page, /metrics, /healthz, /readyz. The server binds 127.0.0.1 unless
# SFSYNC_STATUS_HOST says otherwise: set it to 0.0.0.0 to publish the port.
EXPOSE 9731
# Unhealthy when no cycle has succeeded for SFSYNC_HEALTH_MAX_AGE seconds
# (default 3 x SFSYNC_INTERVAL_SECONDS, at least 600). The start period leaves
# room for a first cycle over a large backlog.
HEALTHCHECK --interval=60s --timeout=15s --start-period=10m --retries=3 \
  CMD ["sfsync", "health"]
ENTRYPOINT ["sfsync"]
CMD ["run"]
