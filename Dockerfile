# syntax=docker/dockerfile:1
# The analytics service: web (gunicorn) and worker (Huey) run from this one image.
#   docker build -t analytics-service .
#   docker run -e DATABASE_URL=… -e REDIS_URL=… -e JWT_SECRET_KEY=… -e TRUSTED_HOSTS=… analytics-service
# Port 8000 is for a reverse proxy that reads requests whole (docs/nginx/; docker-compose.yml
# runs it), never for the internet: a sync worker holds one connection until it is complete.

# --- build: the dependencies, pinned, in a virtualenv -------------------------------------------
FROM python:3.12-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY .ci/constraints.txt ./constraints.txt
COPY analytics_app ./analytics_app
# Install the package to resolve its dependencies, then remove it: the service runs from /app,
# beside its templates, static files and migrations.
RUN pip install -c constraints.txt . && pip uninstall -y analytics-service

# --- runtime: no compilers, no build files, an unprivileged user ---------------------------------
FROM python:3.12-slim
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin analytics \
    && mkdir -p /data/exports \
    && chown analytics:analytics /data/exports
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY wsgi.py ./
COPY analytics_app ./analytics_app
COPY migrations ./migrations
COPY templates ./templates
COPY static ./static
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    FLASK_APP=wsgi \
    APP_ENV=production \
    BIND=0.0.0.0:8000 \
    EXPORT_DIR=/data/exports \
    METRICS_BIND=0.0.0.0:9100 \
    WORKER_METRICS_BIND=0.0.0.0:9101
USER analytics
# 8000: the service, for the proxy; 9100 (web) and 9101 (worker): Prometheus metrics, for the
# monitoring network only. The health check names a trusted host (TRUSTED_HOSTS).
EXPOSE 8000 9100 9101
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; r.urlopen(r.Request('http://127.0.0.1:8000/api/analytics/healthz', headers={'Host': os.environ.get('TRUSTED_HOSTS', 'localhost').split(',')[0].lstrip('.')}), timeout=4)"]
CMD ["gunicorn", "-c", "python:analytics_app.gunicorn_conf", "wsgi:app"]
