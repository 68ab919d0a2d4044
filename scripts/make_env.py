#!/usr/bin/env python3
"""Write the .env that docker-compose.yml reads: generated secrets and where alerts go.

    python3 scripts/make_env.py --alert-webhook https://chat.example.org/hooks/kabar
    python3 scripts/make_env.py --alert-webhook ... --search-engine opensearch   # OpenSearch in place of Elasticsearch

Standard library only, so it runs before anything is installed. The file is created with mode 0600
and never overwritten (pass --force to replace it, which changes every secret: Elasticsearch keeps
the passwords it already has in its data volume, so only do that on a fresh stack).
"""

from __future__ import annotations

import argparse
import os
import secrets
import string
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
ALPHABET = string.ascii_letters + string.digits  # safe inside a URL and a JSON string

# name -> what it is for (written as a comment above the value)
SECRETS = {
    "KABAR_API_KEY": "sent as X-API-Key by clients that write (POST /articles, kabar ingest --api)",
    "ELASTIC_PASSWORD": "the elastic superuser: Kibana login and operators' Elasticsearch calls",
    "KIBANA_PASSWORD": "kibana_system, the user Kibana itself connects as",
    "KABAR_ELASTICSEARCH_PASSWORD": "the kabar user the kabar services connect as (kabar-* indices only)",
    "KIBANA_ENCRYPTION_KEY": "encrypts Kibana sessions and saved-object secrets",
}


def generate(length: int = 32) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def render(alert_webhook: str, search_engine: str = "elasticsearch") -> str:
    lines = ["# Written by scripts/make_env.py. Keep it secret: it is in .gitignore and .dockerignore.", ""]
    for name, purpose in SECRETS.items():
        lines += [f"# {purpose}", f"{name}={generate()}", ""]
    lines += ["# Where Alertmanager sends kabar's alerts (ops/alertmanager/alertmanager.yml)",
              f"ALERT_WEBHOOK_URL={alert_webhook}", "",
              "# The search engine: the compose profile that runs it, and the backend kabar talks to",
              f"COMPOSE_PROFILES={search_engine}", f"KABAR_SEARCH_BACKEND={search_engine}", ""]
    return "\n".join(lines)


def checked_webhook(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname or any(char.isspace() for char in url):
        raise argparse.ArgumentTypeError(f"not an http(s) URL: {url!r}")
    return url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alert-webhook", required=True, type=checked_webhook,
                        help="the http(s) URL Alertmanager posts alerts to (a chat bridge, an incident tool)")
    parser.add_argument("--output", type=Path, default=ROOT / ".env", help="default: .env next to docker-compose.yml")
    parser.add_argument("--force", action="store_true", help="replace an existing file (new secrets)")
    parser.add_argument("--search-engine", choices=("elasticsearch", "opensearch"), default="elasticsearch",
                        help="elasticsearch (with Kibana, the default) or opensearch in its place")
    args = parser.parse_args(argv)
    if args.output.exists() and not args.force:
        print(f"error: {args.output} exists; keep it, or pass --force on a fresh stack", file=sys.stderr)
        return 1
    descriptor = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(render(args.alert_webhook, args.search_engine))
    args.output.chmod(0o600)
    print(f"wrote {args.output} (mode 0600): the API key is KABAR_API_KEY, the Kibana login is elastic / "
          "ELASTIC_PASSWORD")
    return 0


if __name__ == "__main__":
    sys.exit(main())
