# One image for every kabar service; docker-compose.yml picks the command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    KABAR_DATA_DIR=/data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
COPY services ./services
RUN pip install . && useradd --create-home --uid 10001 kabar && mkdir -p /data && chown kabar /data

USER kabar
VOLUME ["/data"]
EXPOSE 8000 9100
CMD ["kabar", "--help"]
