# sfsync worker image: configuration only through the environment,
# rules mounted at /app/mappings (SFSYNC_MAPPINGS), state in PostgreSQL
# (SFSYNC_DATABASE_URL) or in /data/sfsync.db by default.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
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
ENTRYPOINT ["sfsync"]
CMD ["run"]
