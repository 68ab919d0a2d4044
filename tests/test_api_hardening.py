"""The HTTP API against what an attacker sends (issue #14), over a real server (uvicorn in a subprocess):
chunked bodies over the limit, 5,000-digit numbers, lone surrogates, invented methods, the push's own
size limit, and the pages' security headers. Never a 500, never a traceback in the log."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import SEEDS
from test_push import API_KEY, Api

BIG_TEXT_BYTES = 2 * 1024 * 1024  # over KABAR_API_MAX_REQUEST_BYTES (1 MiB), under KABAR_PUSH_MAX_BYTES (10 MiB)


@pytest.fixture
def api(embedded_env: dict[str, str], tmp_path: Path) -> Iterator[Api]:
    running = Api({**embedded_env, "KABAR_API_KEY": API_KEY}, tmp_path)
    yield running
    running.process.stop()


def no_traceback(api: Api) -> None:
    log = api.process.log()
    assert "Traceback" not in log and "Exception in ASGI application" not in log, log[-3000:]


def chunked_post(api: Api, path: str, body_bytes: int, headers: dict[str, str]) -> int:
    """POST a body of ``body_bytes`` with Transfer-Encoding: chunked (no Content-Length); the status."""
    host, port = api.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n{head}"
                     "Transfer-Encoding: chunked\r\n\r\n".encode())
        chunk = b"x" * 65536
        try:
            for _ in range(body_bytes // len(chunk)):
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed before the whole body was sent
        answer = sock.recv(4096).decode("latin-1")
    return int(answer.split(" ", 2)[1])


def test_a_chunked_body_over_the_limit_is_a_413_with_or_without_a_key(api: Api) -> None:
    assert chunked_post(api, "/watchlists", 3 * 1024 * 1024, {"X-API-Key": API_KEY}) == 413
    assert chunked_post(api, "/watchlists", 3 * 1024 * 1024, {}) in (401, 413)
    assert chunked_post(api, "/articles", 12 * 1024 * 1024, {"X-API-Key": API_KEY}) == 413
    no_traceback(api)


def test_the_push_limit_is_reachable_above_the_general_request_limit(api: Api) -> None:
    text = sorted(SEEDS.glob("*.txt"))[0].read_text()
    body = {"text": text + "\n\n" + ("kata " * (BIG_TEXT_BYTES // 5)), "url": "https://news.example.id/big"}
    response = api.post("/articles", json=body)
    assert response.status_code == 202, response.text
    assert api.post("/watchlists", content=b"{" + b" " * BIG_TEXT_BYTES + b"}",
                    headers={"Content-Type": "application/json"}).status_code == 413
    no_traceback(api)


def test_a_5000_digit_number_is_refused_not_a_500(api: Api) -> None:
    text = json.dumps(sorted(SEEDS.glob("*.txt"))[0].read_text())
    pushed = api.post("/articles", content=f'{{"text": {text}, "title": {"9" * 5000}}}',
                      headers={"Content-Type": "application/json"})
    assert pushed.status_code in (400, 422), pushed.text
    watched = api.post("/watchlists", content='{"query": "kim", "webhook": "https://example.com/h", "name": '
                       + "9" * 5000 + "}", headers={"Content-Type": "application/json"})
    assert watched.status_code in (400, 422), watched.text
    no_traceback(api)


def test_a_lone_surrogate_is_refused_by_name_not_a_500(api: Api) -> None:
    text = sorted(SEEDS.glob("*.txt"))[0].read_text()
    pushed = api.post("/articles", content=json.dumps({"title": "x \ud800", "text": text}),
                      headers={"Content-Type": "application/json"})
    assert pushed.status_code == 422, pushed.text
    assert "lone surrogate" in pushed.json()["detail"]
    watched = api.post("/watchlists", content=json.dumps({"query": "kim \ud800", "webhook": "https://example.com/h"}),
                       headers={"Content-Type": "application/json"})
    assert watched.status_code == 422, watched.text
    assert "lone surrogate" in watched.json()["detail"]
    no_traceback(api)


def test_invented_methods_are_one_metric_label(api: Api) -> None:
    for number in range(50):
        httpx.request(f"INVENTED{number}", f"{api.url}/search", timeout=10)
    metrics = httpx.get(f"{api.url}/metrics", timeout=10).text
    assert "INVENTED" not in metrics
    assert 'method="other"' in metrics


def test_pages_send_security_headers(api: Api) -> None:
    for path in ("/", "/?q=kim", "/view/articles/nope", "/docs"):
        response = httpx.get(api.url + path, timeout=10)
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"], path
        if path.startswith("/?") or path == "/":
            assert "script-src 'self'" in response.headers["content-security-policy"], path
        assert response.headers["x-frame-options"] == "DENY", path
        assert response.headers["x-content-type-options"] == "nosniff", path
    assert httpx.get(f"{api.url}/healthz", timeout=10).headers["x-content-type-options"] == "nosniff"


def test_a_page_without_the_key_asks_for_it_in_html(embedded_env: dict[str, str], tmp_path: Path) -> None:
    running = Api({**embedded_env, "KABAR_API_KEY": API_KEY, "KABAR_API_READ_REQUIRES_KEY": "true"}, tmp_path)
    try:
        page = httpx.get(f"{running.url}/?q=kim", timeout=10, headers={"Accept": "text/html"})
        assert page.status_code == 401
        assert page.headers["content-type"].startswith("text/html")
        assert 'id="kabar-key"' in page.text and "/static/kabar-key.js" in page.text
        assert httpx.get(f"{running.url}/search?q=kim", timeout=10).status_code == 401  # JSON reads: unchanged
        assert httpx.get(f"{running.url}/?q=kim", timeout=10, headers={"X-API-Key": API_KEY}).status_code == 200
    finally:
        running.process.stop()


def test_redis_down_is_a_503_naming_it_not_a_500(embedded_env: dict[str, str], tmp_path: Path) -> None:
    from conftest import free_port  # noqa: PLC0415

    env = {**embedded_env, "KABAR_API_KEY": API_KEY, "KABAR_MODE": "services", "KABAR_SEARCH_BACKEND": "sqlite",
           "KABAR_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    running = Api(env, tmp_path)
    try:
        text = sorted(SEEDS.glob("*.txt"))[0].read_text()
        pushed = running.post("/articles", json={"text": text, "url": "https://news.example.id/redis-down"})
        assert pushed.status_code == 503, pushed.text
        assert "Redis" in pushed.json()["detail"]
        no_traceback(running)
    finally:
        running.process.stop()
