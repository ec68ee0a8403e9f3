# One image for every Linli service; the command picks the target (`linli run tickets`, or all).
# Two stages: the build stage installs the runtime-only lock (no test, lint or benchmark packages) into a
# virtual environment and compiles the bytecode; the final stage copies only that and the sources.
# The base is pinned to a patch release (add its @sha256 digest where your registry policy asks for one).
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/linli
COPY requirements-runtime.lock /tmp/requirements-runtime.lock
RUN /opt/linli/bin/pip install -r /tmp/requirements-runtime.lock
WORKDIR /app
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
COPY host ./host
COPY ops ./ops
# editable: Alembic's revision folders and the services' data files are read from /app as they are in the repo
RUN /opt/linli/bin/pip install --no-deps -e . \
    && /opt/linli/bin/python -m compileall -q -j 0 /opt/linli /app

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/linli/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LINLI_HTTP_HOST=0.0.0.0 \
    LINLI_VAR_DIR=/var/lib/linli
# the data folders exist and belong to the service user before any volume is mounted on them, so a fresh
# named volume starts with that owner (photos are written to /var/lib/linli/media)
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/linli --shell /usr/sbin/nologin linli \
    && mkdir -p /var/lib/linli/media \
    && chown -R linli:linli /var/lib/linli
COPY --from=build /opt/linli /opt/linli
COPY --from=build /app /app
WORKDIR /app
USER linli
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status != 200)"]
CMD ["linli", "run"]
