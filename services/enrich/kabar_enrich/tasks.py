"""Celery entry point of the enrich worker (``kabar worker enrich``)."""

from kabar.contract.celery_app import register_stage
from kabar.contract.settings import get_settings
from kabar_enrich.stage import build_handler

enrich = register_stage("enrich", lambda: build_handler(get_settings()))
