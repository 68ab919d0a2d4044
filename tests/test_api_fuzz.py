"""API hardening (issue #6): fuzzing against the OpenAPI spec, and the security settings.

Fuzzing: schemathesis generates requests for every operation of the spec of
``kabar.api:create_app`` (SQLite backend, an indexed newsroom, in-process ASGI), with the
dead-letter routes and the security middleware mounted as they are to be wired, and the API key
sent so the write paths are exercised too. Every answer must be a status the spec documents for
that operation, with the documented content type, and never a 500. The number of examples per
operation is bounded (``FUZZ_EXAMPLES``) and generation is derandomised, so a run is repeatable.

Security: writes need the key (403 while none is configured, 401 without the right one), reads
are open unless configured otherwise, request bodies are size-limited, CORS is off by default,
and no secret reaches a repr or a log line.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance

from articles import NEWSROOM
from kabar.api import create_app
from kabar.contract.deadletter import SqliteDeadLetterStore
from kabar.contract.settings import KabarSettings
from kabar.deadletter_api import deadletter_router
from kabar.service_api import ApiSecurity, install_security, redact_url
from kabar_search.backend import open_backend

KEY = "kunci-fuzz-rahasia"
FUZZ_EXAMPLES = 30


def fuzz_app(data_dir: Path) -> FastAPI:
    """The search API as ``kabar api`` serves it, its dead-letter routes on a store holding three letters."""
    config = KabarSettings(mode="embedded", data_dir=data_dir)
    backend = open_backend(config)
    backend.upsert_many(NEWSROOM, refresh=True)
    letters = SqliteDeadLetterStore(data_dir / "deadletters.sqlite3")  # where the configured store keeps them
    for number in range(3):
        letters.put("ingest", {"n": number}, ValueError("bad"), 1)
    backend.close()
    app = create_app(config, dead_letter_routes=False)  # mounted here on the store filled above
    security = ApiSecurity(KabarSettings(api_key=KEY))
    app.include_router(deadletter_router(config, security, store=letters, send=lambda stage, payload: "queued"))
    return app


def _build_fuzzed_app() -> FastAPI:
    """Built once, at import: schemathesis reads the spec when the module is collected."""
    data_dir = Path(tempfile.mkdtemp(prefix="kabar-fuzz-"))
    atexit.register(shutil.rmtree, data_dir, True)
    saved = {name: value for name, value in os.environ.items() if name.startswith("KABAR_")}
    for name in saved:
        del os.environ[name]
    os.environ["KABAR_API_KEY"] = KEY  # for routers that read the key from the environment
    try:
        return fuzz_app(data_dir)
    finally:
        del os.environ["KABAR_API_KEY"]
        os.environ.update(saved)


FUZZED_APP = _build_fuzzed_app()
schema = schemathesis.openapi.from_asgi("/openapi.json", FUZZED_APP)  # runs the app's lifespan for the session


FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))
STRICT = [not_a_server_error, status_code_conformance, content_type_conformance]
PROBLEM_TYPE = "application/problem+json"


def spec_defects(raw: dict[str, Any]) -> list[str]:
    """What an operation's spec leaves out of what the app answers (defects the fuzzing once found).

    A route with a JSON body answers 400 to a body that is not JSON, so it must document 400;
    every 422 is a problem detail, so a documented 422 must say application/problem+json
    (FastAPI's default 422 says application/json).
    """
    responses = raw.get("responses", {})
    defects = []
    if "requestBody" in raw and "400" not in responses:
        defects.append("a JSON body but no 400")
    if "422" in responses and PROBLEM_TYPE not in responses["422"].get("content", {}):
        defects.append("a 422 that is not application/problem+json")
    return defects


@schema.parametrize()
@FUZZ
def test_every_answer_is_documented_and_never_a_500(case: Any) -> None:
    case.call_and_validate(headers={"X-API-Key": KEY}, checks=STRICT)


def test_no_route_documents_its_errors_wrongly() -> None:
    found = {f"{operation.ok().method.upper()} {operation.ok().path}": spec_defects(operation.ok().definition.raw)
             for operation in schema.get_all_operations()}
    assert len(found) >= 15, sorted(found)  # every route was looked at, not an empty spec
    assert {label: defects for label, defects in found.items() if defects} == {}


def test_the_defect_check_catches_both_defects() -> None:
    body: dict[str, Any] = {"requestBody": {}, "responses": {"201": {}}}
    default_422: dict[str, Any] = {"responses": {"422": {"content": {"application/json": {}}}}}
    assert spec_defects(body) == ["a JSON body but no 400"]
    assert spec_defects(default_422) == ["a 422 that is not application/problem+json"]
    assert spec_defects({"requestBody": {}, "responses": {"400": {}, "422": {"content": {PROBLEM_TYPE: {}}}}}) == []


def test_the_fuzzed_spec_covers_every_route() -> None:
    operations = {f"{operation.ok().method.upper()} {operation.ok().path}"
                  for operation in schema.get_all_operations()}
    for expected in ("GET /search", "GET /articles/{article_id}", "GET /deadletters",
                     "POST /deadletters/{letter_id}/replay"):
        assert expected in operations, operations


# ---- security ----

def guarded_app(security: ApiSecurity) -> FastAPI:
    app = FastAPI()
    install_security(app, security)

    @app.get("/read", dependencies=[Depends(security.require_read)])
    def read() -> dict[str, str]:
        return {"ok": "read"}

    @app.post("/write", dependencies=[Depends(security.require_write)])
    async def write(request: Request) -> dict[str, int]:
        return {"received": len(await request.body())}

    return app


def test_writes_need_the_key_and_reads_are_open_by_default() -> None:
    client = TestClient(guarded_app(ApiSecurity(KabarSettings(api_key=KEY))))
    assert client.post("/write").status_code == 401
    assert client.post("/write").headers["www-authenticate"] == "Bearer"
    assert client.post("/write", headers={"X-API-Key": "salah"}).status_code == 401
    assert client.post("/write", headers={"X-API-Key": KEY}).status_code == 200
    assert client.post("/write", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
    assert client.post("/write", headers={"Authorization": "Bearer salah"}).status_code == 401
    assert client.get("/read").status_code == 200


def test_without_a_key_writes_are_off() -> None:
    client = TestClient(guarded_app(ApiSecurity(KabarSettings())))
    refused = client.post("/write", headers={"X-API-Key": ""})
    assert refused.status_code == 403 and "KABAR_API_KEY" in refused.text
    assert client.get("/read").status_code == 200


def test_reads_can_require_the_key() -> None:
    client = TestClient(guarded_app(ApiSecurity(KabarSettings(api_key=KEY, api_read_requires_key=True))))
    assert client.get("/read").status_code == 401
    assert client.get("/read", headers={"X-API-Key": KEY}).status_code == 200


def test_the_key_and_the_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KABAR_API_KEY", KEY)
    monkeypatch.setenv("KABAR_API_READ_REQUIRES_KEY", "true")
    monkeypatch.setenv("KABAR_API_MAX_REQUEST_BYTES", "2048")
    monkeypatch.setenv("KABAR_API_CORS_ORIGINS", '["https://redaksi.example"]')
    loaded = KabarSettings()
    assert loaded.api_key is not None and loaded.api_key.get_secret_value() == KEY
    assert loaded.api_read_requires_key and loaded.api_max_request_bytes == 2048
    assert loaded.api_cors_origins == ["https://redaksi.example"]
    assert KEY not in repr(loaded) and KEY not in str(loaded) and KEY not in loaded.model_dump_json()


def test_request_bodies_over_the_limit_are_refused() -> None:
    client = TestClient(guarded_app(ApiSecurity(KabarSettings(api_key=KEY, api_max_request_bytes=1000))))
    auth = {"X-API-Key": KEY}
    assert client.post("/write", content=b"x" * 1000, headers=auth).json() == {"received": 1000}
    declared = client.post("/write", content=b"x" * 1001, headers=auth)
    assert declared.status_code == 413 and declared.headers["content-type"] == "application/problem+json"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies while the body streams in
        for _ in range(5):
            yield b"y" * 400

    streamed = client.post("/write", content=chunks(), headers=auth)
    assert streamed.status_code == 413, streamed.text
    assert client.post("/write", content=b"{}", headers={**auth, "Content-Length": "abc"}).status_code == 400


def test_cors_is_off_unless_origins_are_configured() -> None:
    preflight = {"Origin": "https://jahat.example", "Access-Control-Request-Method": "POST"}
    closed = TestClient(guarded_app(ApiSecurity(KabarSettings(api_key=KEY))))
    assert "access-control-allow-origin" not in closed.options("/write", headers=preflight).headers
    assert "access-control-allow-origin" not in closed.get("/read", headers={"Origin": "https://jahat.example"}).headers

    opened = TestClient(guarded_app(ApiSecurity(KabarSettings(api_key=KEY,
                                                                    api_cors_origins=["https://redaksi.example"]))))
    allowed = opened.get("/read", headers={"Origin": "https://redaksi.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://redaksi.example"
    assert "access-control-allow-origin" not in opened.get("/read", headers={"Origin": "https://jahat.example"}).headers


def test_the_search_api_sends_no_cors_headers_by_default(tmp_path: Path) -> None:
    with TestClient(fuzz_app(tmp_path)) as client:
        response = client.get("/healthz", headers={"Origin": "https://jahat.example"})
    assert response.status_code == 200 and "access-control-allow-origin" not in response.headers


# Every read route of ``kabar api``, with what it answers once the guard lets the request through.
READS = {
    "/search?q=Kim": 200, "/articles/n01": 200, "/articles/n01/versions": 404, "/stories/story-a": 200,
    "/": 200, "/?q=Kim": 200, "/view/articles/n01": 200, "/view/stories/story-a": 200,
    "/feeds": 200, "/feeds/tidak-ada": 404, "/watchlists": 200, "/watchlists/tidak-ada": 404,
}
OPEN = ("/healthz", "/metrics", "/openapi.json")


def newsroom_api(data_dir: Path, **security: Any) -> TestClient:
    """``kabar api`` (embedded mode, the newsroom indexed) with these security settings."""
    config = KabarSettings(mode="embedded", data_dir=data_dir, **security)
    backend = open_backend(config)
    backend.upsert_many(NEWSROOM, refresh=True)
    backend.close()
    return TestClient(create_app(config))


def test_reads_are_open_by_default(tmp_path: Path) -> None:
    for security in ({}, {"api_key": KEY}):
        with newsroom_api(tmp_path / str(len(security)), **security) as client:
            for path, status in READS.items():
                assert client.get(path).status_code == status, (security, path)


def test_every_read_route_can_require_the_key(tmp_path: Path) -> None:
    with newsroom_api(tmp_path, api_key=KEY, api_read_requires_key=True) as client:
        for path, status in READS.items():
            refused = client.get(path)
            assert refused.status_code == 401, (path, refused.status_code)
            if path == "/" or path.startswith(("/?", "/view/")):  # a page: the form that asks for the key
                assert refused.headers["content-type"].startswith("text/html"), path
                assert 'id="kabar-key"' in refused.text, path
            else:
                assert refused.headers["content-type"] == PROBLEM_TYPE, path
            assert refused.headers["www-authenticate"] == "Bearer", path  # the handler keeps the headers
            assert client.get(path, headers={"X-API-Key": "salah"}).status_code == 401, path
            assert client.get(path, headers={"X-API-Key": KEY}).status_code == status, path
            assert client.get(path, headers={"Authorization": f"Bearer {KEY}"}).status_code == status, path
        for path in OPEN:
            assert client.get(path).status_code == 200, path


def test_reads_that_require_a_key_nobody_configured_are_off(tmp_path: Path) -> None:
    with newsroom_api(tmp_path, api_read_requires_key=True) as client:
        for path in READS:
            refused = client.get(path, headers={"X-API-Key": KEY})
            assert refused.status_code == 403 and "KABAR_API_KEY" in refused.json()["detail"], path


def test_problem_details_keep_the_exception_headers(tmp_path: Path) -> None:
    with newsroom_api(tmp_path) as client:
        wrong_method = client.put("/healthz")
    assert wrong_method.status_code == 405 and wrong_method.headers["content-type"] == PROBLEM_TYPE
    assert wrong_method.headers["allow"] == "GET"


def test_urls_are_redacted_for_logs() -> None:
    assert redact_url("redis://:hunter2@redis:6379/0") == "redis://:***@redis:6379/0"
    assert redact_url("https://elastic:s3cret@es.example:9200/") == "https://elastic:***@es.example:9200/"
    assert redact_url("redis://redis:6379/0") == "redis://redis:6379/0"


def test_settings_repr_hides_the_elasticsearch_api_key() -> None:
    shown = repr(KabarSettings(elasticsearch_api_key="es-api-key-rahasia"))
    assert "es-api-key-rahasia" not in shown


def test_settings_repr_hides_passwords_in_urls() -> None:
    shown = repr(KabarSettings(redis_url="redis://:hunter2@redis:6379/0",
                               elasticsearch_url="https://elastic:s3cret@es:9200",
                               opensearch_url="https://admin:geheim@os:9200"))
    assert "hunter2" not in shown and "s3cret" not in shown and "geheim" not in shown


@pytest.mark.services
@pytest.mark.timeout(180)
def test_no_redis_password_in_worker_logs_or_cli_output(tmp_path: Path) -> None:
    from test_faults import faults  # noqa: PLC0415
    from test_faults_handoff import start_worker, worker_env  # noqa: PLC0415

    password = "sandi-redis-rahasia-42"
    server = faults.RedisServer(tmp_path / "redis", persistent=False, password=password)
    server.start()
    try:
        env = worker_env(tmp_path, server.url, KABAR_LOG_LEVEL="DEBUG")
        worker = start_worker("ingest", env, tmp_path)
        try:
            bad = tmp_path / "bad.json"
            bad.write_text('{"url": "ftp://example.com/a", "text": "' + "Isi berita yang cukup panjang. " * 5 + '"}')
            outputs = [faults.kabar(env, "ingest", str(bad))]
            faults.wait_for(lambda: server.client().hlen("kabar:deadletters") == 1, 60, "a dead letter")
            outputs += [faults.kabar(env, "dlq", "list"), faults.kabar(env, "dlq", "replay", "--all")]
            server.crash()  # connection errors are logged too
            outputs.append(faults.kabar(env, "dlq", "list", timeout=60))
            faults.wait_for(lambda: "Cannot connect" in worker.log() or "Error" in worker.log(), 30, "errors logged")
        finally:
            worker.stop()
        texts = [worker.log()] + [result.stdout + result.stderr for result in outputs]
        assert "redis://:**@" in worker.log(), "the worker names the broker, masked"
        for text in texts:
            assert password not in text, text[-2000:]
    finally:
        server.stop()
