"""``kabar ingest --api URL``: send documents read from files to a running stack's ``POST /articles``.

This is how an operator reaches a compose deployment: through the API, with ``KABAR_API_KEY``, so no
Redis needs publishing. Documents travel in batches under the server's item and size limits. The API
takes a batch all or nothing, so a batch it refuses (422, 413) is split and sent again until each
bad document stands alone: one bad article costs only itself, and its reason is reported with its
file. Refused keys and unreachable servers stop the run with one clear error.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

from kabar.contract.messages import RawDocument

API_KEY_HEADER: Final = "X-API-Key"
_REFUSED: Final = frozenset({413, 422})


class ApiUnusable(Exception):
    """The API cannot take anything: unreachable, the key refused, or an answer that is not kabar's."""


@dataclass
class PushReport:
    accepted: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)


def push_item(document: RawDocument) -> dict[str, Any]:
    """The ``POST /articles`` JSON object of a document (the API checks it as it checks a ``.json`` file)."""
    item: dict[str, Any] = {document.format: document.content}
    if document.url:
        item["url"] = document.url
    if document.title:
        item["title"] = document.title
    if document.published_at:
        item["published_at"] = document.published_at.isoformat()
    return item


def batches(documents: Sequence[RawDocument], max_items: int, max_bytes: int) -> Iterator[list[RawDocument]]:
    """Consecutive runs of at most ``max_items`` documents and about ``max_bytes`` of JSON each."""
    batch: list[RawDocument] = []
    size = 2
    for document in documents:
        item_size = len(json.dumps(push_item(document)).encode()) + 1
        if batch and (len(batch) >= max_items or size + item_size > max_bytes):
            yield batch
            batch, size = [], 2
        batch.append(document)
        size += item_size
    if batch:
        yield batch


class ApiPusher:
    def __init__(self, api_url: str, api_key: str | None, timeout: float = 60.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        headers = {API_KEY_HEADER: api_key} if api_key else {}
        self._client = httpx.Client(base_url=api_url.rstrip("/"), headers=headers, timeout=timeout,
                                    transport=transport or httpx.HTTPTransport(retries=3))
        self._api_url = api_url

    def push(self, documents: Sequence[RawDocument], max_items: int, max_bytes: int,
             on_sent: Callable[[int], None] | None = None) -> PushReport:
        report = PushReport()
        for batch in batches(documents, max_items, max_bytes):
            self._send(batch, report)
            if on_sent:
                on_sent(len(batch))
        return report

    def close(self) -> None:
        self._client.close()

    def _send(self, batch: list[RawDocument], report: PushReport) -> None:
        answer = self._post(batch)
        if answer.status_code == 202:
            for article in answer.json()["articles"]:
                report.accepted += 1
                report.statuses[article["status"]] = report.statuses.get(article["status"], 0) + 1
            return
        if answer.status_code in _REFUSED and len(batch) > 1:
            middle = len(batch) // 2  # halves: a few bad documents among many cost a few requests each
            self._send(batch[:middle], report)
            self._send(batch[middle:], report)
            return
        if answer.status_code in _REFUSED or answer.status_code >= 500:
            report.failures.append((batch[0].source, f"the API answered {answer.status_code}: {_detail(answer)}"))
            return
        raise ApiUnusable(self._unusable(answer))

    def _post(self, batch: list[RawDocument]) -> httpx.Response:
        body = [push_item(document) for document in batch]
        try:
            return self._client.post("/articles", json=body if len(body) > 1 else body[0])
        except httpx.HTTPError as exc:
            raise ApiUnusable(f"cannot reach the API at {self._api_url}: {exc}") from None

    def _unusable(self, answer: httpx.Response) -> str:
        if answer.status_code in {401, 403}:
            return (f"the API at {self._api_url} refused the key ({answer.status_code}: {_detail(answer)}); "
                    "set KABAR_API_KEY to the stack's key (.env)")
        return f"the API at {self._api_url} answered {answer.status_code}: {_detail(answer)}"


def _detail(answer: httpx.Response) -> str:
    """A problem detail's ``detail`` (RFC 9457), else the start of the body."""
    try:
        found = answer.json()
    except ValueError:
        return answer.text[:200]
    if isinstance(found, dict) and found.get("detail"):
        return str(found["detail"])
    return answer.text[:200]
