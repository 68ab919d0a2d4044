"""The Celery application and its queues: one queue per stage (``kabar.contract.stages``).

Delivery guarantees (why each option is set as it is):

- acks late, rejected on worker loss, prefetch 1: a message is acknowledged only once its
  outcome is safe in Redis (``kabar.contract.runner``), and a crashed worker takes at most
  one unacknowledged message per process down with it, which Redis delivers again after
  ``KABAR_BROKER_VISIBILITY_TIMEOUT``;
- JSON only: every message is a ``kabar.contract.messages`` model (or a batch of them);
- the visibility timeout must outlast the longest retry countdown and hand-off, which a
  worker holds unacknowledged (checked here, at start).

The rest of the machinery lives in rooms of its own: sending (``queues``), the in-flight
ledger and its reconciler (``inflight``), failure and retry policy (``failures``) and the
stage runner (``runner``).
"""

from __future__ import annotations

from celery import Celery
from kombu import Queue  # type: ignore[attr-defined]

from kabar.contract.settings import KabarSettings, get_settings
from kabar.contract.stages import QUEUES, task_name


def create_celery_app(settings: KabarSettings) -> Celery:
    longest_countdown = min(settings.task_retry_backoff_max,
                            settings.task_retry_backoff_base * 2 ** max(0, settings.task_max_retries - 1))
    longest_hold = max(longest_countdown, settings.handoff_timeout)
    if settings.broker_visibility_timeout <= longest_hold:
        raise ValueError(
            f"KABAR_BROKER_VISIBILITY_TIMEOUT ({settings.broker_visibility_timeout} s) must be longer than the longest "
            f"retry countdown and KABAR_HANDOFF_TIMEOUT ({longest_hold:g} s): a worker holds a message that long, "
            "and Redis would hand it to a second worker meanwhile"
        )
    app = Celery("kabar", broker=settings.redis_url)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=settings.worker_prefetch_multiplier,
        task_queues=[Queue(stage, routing_key=stage) for stage in QUEUES],  # type: ignore[no-untyped-call]
        task_routes={task_name(stage): {"queue": stage, "routing_key": stage} for stage in QUEUES},
        task_default_queue="ingest",
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": settings.broker_visibility_timeout,
            "unacked_restore_interval": settings.broker_restore_interval,
            "unacked_restore_throttle": 1,  # look every interval (kombu's default: every 10th)
            # The lock of that look outlives a worker or a Redis that dies holding it (it is in the AOF):
            # kombu's 300 s would hold every restore up that long; a third of the visibility timeout will not.
            "unacked_mutex_expire": max(5, min(300, settings.broker_visibility_timeout // 3)),
        },
        # A task running when the broker connection drops carries on: its hand-offs wait for Redis.
        worker_cancel_long_running_tasks_on_connection_loss=False,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    return app


app = create_celery_app(get_settings())
