"""Celery entry point of the ingest worker (``kabar worker ingest``)."""

from kabar.contract.runner import register_stage
from kabar.contract.settings import get_settings
from kabar_ingest.stage import build_handler

ingest = register_stage("ingest", lambda: build_handler(get_settings()))
