"""The bad-input corpus (tests/bad_inputs/generate.py, made in a temporary directory) through
``kabar ingest``, embedded and through the services: every bad file gets one clear error or a
dead letter with its reason, repairable ones are indexed repaired, no worker crashes, and the
good articles of the same batch are indexed.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bad_inputs.generate import UNSAFE_CHARS, Case, write
from bad_inputs.generate import cases as make_cases
from conftest import SEEDS, EngineUnderTest, run_kabar
from kabar.contract.settings import KabarSettings
from kabar_ingest.identity import article_id, canonical_url
from kabar_ingest.reader import read_path
from kabar_search.backend import open_backend
from test_faults import faults

GOOD_SEEDS = sorted(SEEDS.glob("*.txt"))[:2]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Case]]:
    """The bad inputs and two good articles in one folder: one batch."""
    inbox = tmp_path_factory.mktemp("bad-inputs") / "inbox"
    cases = write(inbox)
    for seed in GOOD_SEEDS:
        shutil.copy(seed, inbox / seed.name)
    return inbox, cases


def by_expect(cases: list[Case], expect: str) -> list[Case]:
    return [case for case in cases if case.expect == expect]


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def expected_indexed(cases: list[Case]) -> int:
    repaired = len(by_expect(cases, "indexed"))
    partial = sum(case.good_items for case in cases)
    return len(GOOD_SEEDS) + repaired + partial


def url_ids(cases: list[Case]) -> set[str]:
    ids = {article_id(canonical_url(case.url), "") for case in by_expect(cases, "indexed") if case.url}
    for case in cases:
        if case.good_items:
            ids |= {article_id(canonical_url(item["url"]), "") for item in json.loads(case.content)
                    if "2999" not in str(item.get("published_at"))}
    return ids


def check_refusals(stderr: str, inbox: Path, cases: list[Case]) -> None:
    lines = error_lines(stderr)
    for case in by_expect(cases, "refused"):
        mine = [line for line in lines if line.startswith(f"error: {inbox / case.name}: ")]
        assert len(mine) == 1, (case.name, mine)
        assert case.reason in mine[0], (case.name, mine[0])


def check_repaired(docs: list[dict[str, Any]], cases: list[Case]) -> None:
    """Every indexed document is clean; the repaired cases came out as they should."""
    for doc in docs:
        assert doc["title"].strip() and len(doc["title"]) <= 1000, doc["title"][:100]
        for char in UNSAFE_CHARS:
            assert char not in doc["title"] and char not in doc["text"], (doc["id"], repr(char))
    found = {doc["id"]: doc for doc in docs}
    for case in by_expect(cases, "indexed"):
        if case.url is None:
            continue
        doc = found[article_id(canonical_url(case.url), "")]
        for field, expected in case.checks.items():
            assert str(doc[field]).removesuffix("Z").removesuffix("+00:00") == expected, (case.name, field, doc[field])


@pytest.mark.parametrize("case", [case for case in make_cases(big_mb=1) if case.expect == "refused"],
                         ids=lambda case: case.name)
def test_the_reader_refuses_each_bad_file_with_its_reason(case: Case, tmp_path: Path) -> None:
    path = tmp_path / case.name
    path.write_bytes(case.content)
    result = read_path(path, max_bytes=512 * 1024 if case.name == "text-20mb.txt" else 10 * 1024 * 1024)
    assert result.error is not None and case.reason in result.error, result.error
    assert len(result.documents) == case.good_items


def test_bad_inputs_through_kabar_ingest_embedded(corpus: tuple[Path, list[Case]],
                                                  embedded_env: dict[str, str]) -> None:
    inbox, cases = corpus
    result = run_kabar(["ingest", str(inbox)], embedded_env, timeout=300)
    assert result.returncode == 1, result.stderr[-3000:]
    check_refusals(result.stderr, inbox, cases)
    lines = error_lines(result.stderr)
    for case in by_expect(cases, "dead-letter"):
        mine = [line for line in lines if line.startswith(f"error: {inbox / case.name}: ingest failed: ")]
        assert len(mine) == 1 and case.reason in mine[0], (case.name, mine)
    assert len(lines) == len(by_expect(cases, "refused")) + len(by_expect(cases, "dead-letter")), lines
    assert f", {expected_indexed(cases)} indexed," in result.stdout, result.stdout
    assert "Traceback" not in result.stderr

    listed = run_kabar(["dlq", "list"], embedded_env).stdout
    assert f"{len(by_expect(cases, 'dead-letter'))} dead letter(s)" in listed
    for case in by_expect(cases, "dead-letter"):
        assert case.reason in listed, case.name

    backend = open_backend(KabarSettings(mode="embedded", data_dir=Path(embedded_env["KABAR_DATA_DIR"])))
    try:
        docs = backend.recent(100)
    finally:
        backend.close()
    assert len(docs) == expected_indexed(cases)
    assert url_ids(cases) <= {doc["id"] for doc in docs}
    check_repaired(docs, cases)


@pytest.fixture
def stack(tmp_path: Path, engine: EngineUnderTest) -> Iterator[faults.Stack]:
    with faults.running_stack(tmp_path / "stack", faults.FAST_RECOVERY, search_backend=engine.name,
                              engine_url=engine.url) as running:
        yield running


@pytest.mark.services
@pytest.mark.timeout(300)
def test_bad_inputs_through_the_services(corpus: tuple[Path, list[Case]], stack: faults.Stack) -> None:
    inbox, cases = corpus
    result = stack.kabar("ingest", str(inbox), timeout=300)
    assert result.returncode == 1, result.stderr[-3000:]
    check_refusals(result.stderr, inbox, cases)
    queued = len(GOOD_SEEDS) + sum(case.good_items for case in cases) + len(by_expect(cases, "indexed")) \
        + len(by_expect(cases, "dead-letter"))
    assert f"{queued} document(s) queued for ingest" in result.stdout, result.stdout

    # Past the reader: messages another producer could put on the queue.
    big = {"source": "push", "format": "text", "content": "kata " * (3 * 1024 * 1024)}  # 15 MB
    for payload in ("bukan objek", {"source": 5, "format": "pdf", "content": None}, big):
        stack.kabar_send("ingest", payload)
    raw_reasons = ["a message must be a JSON object, not str", "validation error", "over the 10.5 MB limit"]

    dead_letters = len(by_expect(cases, "dead-letter")) + len(raw_reasons)
    faults.wait_for(lambda: len(stack.indexed()) == expected_indexed(cases) and len(stack.dead_letters()) ==
                    dead_letters and stack.pipeline_idle(), 120, f"the batch settled\n{stack.logs()}")
    reasons = [letter["reason"] for letter in stack.dead_letters()]
    for expected in [case.reason for case in by_expect(cases, "dead-letter")] + raw_reasons:
        assert sum(expected in reason for reason in reasons) == 1, (expected, reasons)

    assert stack.restarts == [] and all(proc.alive() for proc in stack.workers.values()), "no worker crashed"
    logs = stack.logs(tail=10**7)
    assert "WorkerLostError" not in logs and "Unrecoverable" not in logs

    hits = httpx.post(f"{stack.engine_url}/{stack.alias}/_search", timeout=30,
                      json={"size": 100, "query": {"match_all": {}}}).json()["hits"]["hits"]
    docs = [hit["_source"] for hit in hits]
    assert url_ids(cases) <= {doc["id"] for doc in docs}
    check_repaired(docs, cases)

    # Every dead letter can be replayed; still bad, each comes back with its reason, nothing lost.
    replayed = stack.kabar("dlq", "replay", "--all")
    assert replayed.returncode == 0 and f"{dead_letters} dead letter(s) replayed" in replayed.stdout, replayed.stdout
    faults.wait_for(lambda: len(stack.dead_letters()) == dead_letters and stack.pipeline_idle(), 120,
                    f"the replayed letters back\n{stack.logs()}")
    assert sorted(letter["reason"] for letter in stack.dead_letters()) == sorted(reasons)
    assert len(stack.indexed()) == expected_indexed(cases)
