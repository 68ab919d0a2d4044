# One image for every kabar service; docker-compose.yml picks the command.
# Exact base version (docker-library's python 3.11.16-slim-trixie); see docs/operations.md on pinning digests.
FROM python:3.11.16-slim-trixie

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    KABAR_DATA_DIR=/data

WORKDIR /app

# Dependencies first, pinned by the lock (constraints.txt, `make lock`): this layer is rebuilt only when
# pyproject.toml or the lock changes, not on every source edit.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install --constraint constraints.txt --requirement /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Then kabar itself, without touching the dependencies installed above.
COPY README.md ./
COPY src ./src
COPY services ./services
RUN pip install --no-deps --constraint constraints.txt . \
    && useradd --create-home --uid 10001 kabar && mkdir -p /data && chown kabar /data

USER kabar
VOLUME ["/data"]
EXPOSE 8000 9100
# Each service's health check is in docker-compose.yml: the services share this image but not a port.
# checkov:skip=CKV_DOCKER_2: health checks are per service in docker-compose.yml
CMD ["kabar", "--help"]
