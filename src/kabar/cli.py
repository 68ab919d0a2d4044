"""The ``kabar`` command line.

Imports are inside the commands: ``kabar search`` should not pay for loading NER models,
and ``kabar worker`` must set up Prometheus' multiprocess directory before anything
imports prometheus_client.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol

import typer

from kabar.contract.stages import ALERT_STAGE, QUEUES

if TYPE_CHECKING:
    from datetime import datetime

    from kabar.contract.deadletter import DeadLetterStore
    from kabar.contract.messages import DeadLetter, RawDocument
    from kabar.contract.settings import KabarSettings

app = typer.Typer(help="kabar: news ingestion, enrichment and search.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
dlq_app = typer.Typer(help="Inspect and replay dead letters.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")

WORKER_MODULES = {
    "feeds": "kabar_ingest.schedule",
    "ingest": "kabar_ingest.tasks",
    "enrich": "kabar_enrich.tasks",
    "index": "kabar_search.tasks",
    ALERT_STAGE: "kabar_search.watch.tasks",
}
DEFAULT_SEEDS = Path("seeds")
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def _settings() -> KabarSettings:
    from kabar.contract.settings import get_settings  # noqa: PLC0415

    return get_settings()


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _read_all(path: Path, max_bytes: int) -> tuple[list[RawDocument], int]:
    """Read every file under ``path``; one clear line on stderr per bad file."""
    from kabar_ingest.reader import BadDocument, iter_files, read_path  # noqa: PLC0415

    try:
        files = list(iter_files(path))
    except BadDocument as exc:
        raise _fail(str(exc)) from None
    documents: list[RawDocument] = []
    failures = 0
    for file in files:
        try:
            result = read_path(file, max_bytes)
        except Exception as exc:  # the guard: whatever one file does, it costs only itself
            logging.getLogger(__name__).debug("reading %s failed", file, exc_info=exc)
            failures += 1
            _error_line(file, f"could not be read: {_describe(exc)}")
            continue
        if result.error:
            failures += 1
            _error_line(file, result.error)
        documents.extend(result.documents)
    return documents, failures


def _describe(exc: BaseException) -> str:
    from kabar.contract.deadletter import describe  # noqa: PLC0415

    return describe(exc)


def _error_line(source: object, reason: str) -> None:
    """``error: SOURCE: REASON`` on stderr, one line whatever the name holds: bytes that are not UTF-8 and
    control characters (a newline in a file name) are shown as escapes."""
    from kabar.contract.surrogates import escape_text  # noqa: PLC0415

    line = escape_text(f"error: {source}: {reason}")
    typer.echo(_CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", line), err=True)


def _run_inline(documents: list[RawDocument], settings: KabarSettings) -> tuple[Counter[str], int]:
    from kabar.embedded import InlinePipeline, build_handlers  # noqa: PLC0415

    pipeline = InlinePipeline(build_handlers(settings))
    counts: Counter[str] = Counter()
    failures = 0
    for document in _progress(documents, "processing"):
        try:
            outcome = pipeline.run(document.model_dump(mode="json"))
        except Exception as exc:  # the guard: the pipeline dead-letters failures; this is what even that missed
            logging.getLogger(__name__).debug("processing %s failed", document.source, exc_info=exc)
            counts["failed"] += 1
            failures += 1
            _error_line(document.source, f"could not be processed: {_describe(exc)}")
            continue
        counts[outcome.status] += 1
        if outcome.status == "failed":
            failures += 1
            _error_line(document.source, f"{outcome.stage} failed: {outcome.reason}")
    return counts, failures


def _progress(items: list[RawDocument], label: str) -> Any:
    """A progress bar on a terminal for long runs; plain iteration otherwise."""
    if len(items) < 50 or not sys.stderr.isatty():
        return items
    from rich.progress import track  # noqa: PLC0415

    return track(items, description=label, console=None, transient=True)


def _summary(read: int, counts: Counter[str], bad_files: int) -> str:
    parts = [f"{read} document(s) read", f"{counts['indexed']} indexed", f"{counts['unchanged']} unchanged",
             f"{counts['repeat']} exact repeat(s) skipped", f"{counts['failed'] + bad_files} failed"]
    return ", ".join(parts)


@app.command()
def ingest(
    path: Annotated[Path, typer.Argument(help="A file or a folder of .txt, .html and .json articles.")],
    api: Annotated[str | None, typer.Option(
        help="A running kabar API (e.g. http://127.0.0.1:8000): POST the articles there with KABAR_API_KEY.",
    )] = None,
) -> None:
    """Ingest articles: in-process (embedded mode), onto the ingest queue (services mode) or through an API."""
    settings = _settings()
    documents, bad_files = _read_all(path, settings.max_document_bytes)
    if api is not None:
        bad_files += _push_to_api(documents, api, settings)
    elif settings.mode == "services":
        from kabar.contract.queues import enqueue_many  # noqa: PLC0415

        messages = enqueue_many("ingest", documents)
        typer.echo(f"{len(documents)} document(s) queued for ingest in {len(messages)} message(s), "
                   f"{bad_files} file(s) refused")
    else:
        counts, failed = _run_inline(documents, settings)
        bad_files += failed
        typer.echo(_summary(len(documents), counts, bad_files - failed))
    if bad_files:
        raise typer.Exit(1)


@app.command()
def demo(
    path: Annotated[Path, typer.Argument(help="Articles to run through the pipeline.")] = DEFAULT_SEEDS,
    limit: Annotated[int, typer.Option(help="At most this many rows in the table.")] = 20,
) -> None:
    """Run the whole pipeline in-process on PATH (default seeds/) and print what it found."""
    settings = _settings().model_copy(update={"mode": "embedded"})
    documents, bad_files = _read_all(path, settings.max_document_bytes)
    counts, failed = _run_inline(documents, settings)
    _print_articles(settings, limit)
    typer.echo(_summary(len(documents), counts, bad_files))
    typer.echo(f"Search the stored index: kabar search \"Kim Jong Un\"   (data in {settings.data_dir})")
    if bad_files or failed:
        raise typer.Exit(1)


def _print_articles(settings: KabarSettings, limit: int) -> None:
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    from kabar_search.backend import open_backend  # noqa: PLC0415

    backend = open_backend(settings)
    try:
        docs = backend.recent(limit)
    finally:
        backend.close()
    table = Table(title=f"kabar: {len(docs)} article(s) in the index", show_lines=True)
    for column in ("id", "title", "lang", "people", "places", "organisations", "duplicate of", "story"):
        table.add_column(column, overflow="fold")
    for doc in reversed(docs):  # oldest first: the order they were ingested in
        title = doc["title"] if len(doc["title"]) <= 90 else doc["title"][:89] + "…"
        table.add_row(
            doc["id"][:12], title, f"{doc['language']} {doc['language_confidence']:.2f}",
            _top_entities(doc, "PER"), _top_entities(doc, "LOC"), _top_entities(doc, "ORG"),
            (doc.get("duplicate_of") or "-")[:12], doc["story_id"][:12],
        )
    Console(width=max(160, Console().width)).print(table)


def _top_entities(doc: dict[str, Any], label: str, top: int = 4) -> str:
    counts = Counter(entity["canonical"] for entity in doc.get("entities", []) if entity["label"] == label)
    return ", ".join(name for name, _ in counts.most_common(top)) or "-"


def _push_to_api(documents: list[RawDocument], api_url: str, settings: KabarSettings) -> int:
    """Send the documents to ``api_url``; the number that failed. Exits 2 when the API takes nothing."""
    from kabar.api_client import ApiPusher, ApiUnusable  # noqa: PLC0415

    key = settings.api_key.get_secret_value() if settings.api_key else None
    pusher = ApiPusher(api_url, key)
    # Under the push's limit (the API applies KABAR_PUSH_MAX_BYTES to POST /articles), with room to spare.
    max_bytes = int(0.9 * settings.push_max_bytes)
    try:
        report = pusher.push(documents, settings.push_max_items, max_bytes)
    except ApiUnusable as exc:
        raise _fail(str(exc)) from None
    finally:
        pusher.close()
    for source, reason in report.failures:
        typer.echo(f"error: {source}: {reason}", err=True)
    outcomes = ", ".join(f"{count} {status}" for status, count in sorted(report.statuses.items()))
    typer.echo(f"{len(documents)} document(s) read, {report.accepted} accepted by {api_url}"
               f"{f' ({outcomes})' if outcomes else ''}, {len(report.failures)} refused")
    return len(report.failures)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help='Words, "phrases" and -excluded words.')],
    limit: Annotated[int, typer.Option(min=1, max=100)] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Search the index of the configured backend."""
    from kabar_search.backend import open_backend  # noqa: PLC0415
    from kabar_search.query import QueryError, parse_query  # noqa: PLC0415

    try:
        parsed = parse_query(query)
    except QueryError as exc:
        raise _fail(str(exc)) from None
    backend = open_backend(_settings())
    try:
        result = backend.search(parsed, query, limit)
    finally:
        backend.close()
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
        return
    typer.echo(f"{result.total} article(s) match {query!r}")
    for hit in result.hits:
        typer.echo(f"{hit.id[:12]}  [{hit.language}]  {hit.title}")
        typer.echo(f"              {hit.highlight.replace(chr(10), ' ')}")


@app.command()
def worker(
    stage: Annotated[str, typer.Argument(help=f"The stage: {', '.join(WORKER_MODULES)}.")],
    concurrency: Annotated[int | None, typer.Option(help="Processes (default KABAR_WORKER_CONCURRENCY).")] = None,
) -> None:
    """Run the Celery worker of one stage, with its Prometheus metrics endpoint."""
    if stage not in WORKER_MODULES:
        raise _fail(f"unknown stage {stage!r}; choose one of {', '.join(WORKER_MODULES)}")
    settings = _settings()
    from kabar.contract.multiproc import prepare_multiprocess_dir, worker_metrics_dir  # noqa: PLC0415

    prepare_multiprocess_dir(worker_metrics_dir(settings.data_dir / "prometheus", stage))
    import importlib  # noqa: PLC0415

    importlib.import_module(WORKER_MODULES[stage])
    from kabar.contract.worker import run_worker  # noqa: PLC0415

    if stage == "index":
        # Threads, so that many messages wait in one bulk write (kabar_search.buffer).
        run_worker(stage, concurrency or settings.index_worker_concurrency, settings.metrics_port, pool="threads",
                   metrics_host=settings.metrics_host)
    elif stage == ALERT_STAGE:
        # Threads: a webhook that answers slowly holds one thread for at most KABAR_ALERT_TIMEOUT, not a process.
        run_worker(stage, concurrency or 16, settings.metrics_port, pool="threads", metrics_host=settings.metrics_host)
    else:
        run_worker(stage, concurrency or settings.worker_concurrency, settings.metrics_port,
                   metrics_host=settings.metrics_host)


@app.command()
def api(
    host: Annotated[str | None, typer.Option(help="Default KABAR_API_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Default KABAR_API_PORT.")] = None,
) -> None:
    """Serve the search API (OpenAPI docs at /docs)."""
    import uvicorn  # noqa: PLC0415

    settings = _settings()
    uvicorn.run("kabar.api:create_app", factory=True, host=host or settings.api_host,
                port=port or settings.api_port, log_level="info")


@app.command()
def enrich(
    jsonl: Annotated[bool, typer.Option("--jsonl", help="Read JSON lines on stdin, write JSON lines.")] = False,
    store: Annotated[Path | None, typer.Option(help="SQLite file of near-duplicate/story state to use and keep.")]
    = None,
) -> None:
    """Enrich JSON lines {"id","text"} or {"id","html"} from stdin: one output line per input, in order.

    Output fields: id, language, language_confidence, paragraph_languages[{start,end,language,confidence}]
    (paragraphs in another language), entities[{text,label,start,end,canonical,id}], published_at (UTC ISO
    8601 or null), fingerprint, duplicate_of, story_id, and text for html input.
    Links are made within this run only, unless --store names a state file.
    """
    if not jsonl:
        raise _fail("only --jsonl input is supported")
    from kabar.jsonl import enrich_lines  # noqa: PLC0415

    failures = enrich_lines(sys.stdin, sys.stdout, _settings(), store)
    if failures:
        raise typer.Exit(1)


@app.command()
def extract(
    jsonl: Annotated[bool, typer.Option("--jsonl", help="Read JSON lines on stdin, write JSON lines.")] = False,
) -> None:
    """Extract the article of JSON lines {"id","html"} from stdin, as ingest does; writes {"id","title","text"}
    per line."""
    if not jsonl:
        raise _fail("only --jsonl input is supported")
    from kabar.jsonl import extract_lines  # noqa: PLC0415

    if extract_lines(sys.stdin, sys.stdout):
        raise typer.Exit(1)




def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%SZ}" if moment else "?"


def _stage_option(stage: str | None) -> str | None:
    if stage is not None and stage not in QUEUES:
        raise _fail(f"unknown stage {stage!r}; choose one of {', '.join(QUEUES)}")
    return stage


@dlq_app.command("list")
def dlq_list(
    limit: Annotated[int, typer.Option(min=1)] = 100,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    stage: Annotated[str | None, typer.Option(help="Only this stage's dead letters.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line, message excluded.")] = False,
) -> None:
    """Dead letters, oldest first: id, stage, attempts, first and last failure, reason."""
    from kabar.contract.deadletter import dead_letters  # noqa: PLC0415

    store = dead_letters()
    stage = _stage_option(stage)
    for letter in store.list(limit, offset, stage):
        if as_json:
            typer.echo(letter.model_dump_json(exclude={"message"}))
            continue
        typer.echo(f"{letter.id}  {letter.stage:7} attempts={letter.attempts}  first={_when(letter.first_failed_at)}"
                   f"  last={_when(letter.last_failed_at)}  {letter.reason}")
    if not as_json:
        typer.echo(f"{store.count(stage)} dead letter(s)")
        interrupted = store.replaying()
        if interrupted:
            typer.echo(f"{len(interrupted)} replay(s) in progress or interrupted: "
                       f"{', '.join(letter.id for letter in interrupted)} (`kabar dlq replay ID` takes one over "
                       "once its lease has run out)")


@dlq_app.command("show")
def dlq_show(letter_id: str) -> None:
    """One dead letter with its message, as JSON."""
    from kabar.contract.deadletter import dead_letters  # noqa: PLC0415

    letter = dead_letters().get(letter_id)
    if letter is None:
        raise _fail(f"no dead letter {letter_id!r}")
    typer.echo(letter.model_dump_json(indent=2))


@dlq_app.command("replay")
def dlq_replay(
    letter_ids: Annotated[list[str] | None, typer.Argument(help="Dead letter ids (see `kabar dlq list`).")] = None,
    replay_all: Annotated[bool, typer.Option("--all", help="Replay every dead letter (of --stage).")] = False,
    stage: Annotated[str | None, typer.Option(help="With --all: only this stage's dead letters.")] = None,
) -> None:
    """Send dead letters' messages to their stage again. Idempotent: a letter is sent once per failure.

    Services mode: onto the stage's queue. Embedded mode: through the pipeline, here and now.
    A message that fails again is dead-lettered afresh, under the same id.
    """
    from kabar.contract.deadletter import dead_letters, replay  # noqa: PLC0415

    store = dead_letters()
    stage = _stage_option(stage)
    if replay_all == bool(letter_ids):
        raise _fail("name dead letter ids, or pass --all")
    ids = letter_ids or [letter.id for letter in _all_letters(store, stage)]
    from kabar.deadletter_api import replay_sender  # noqa: PLC0415 - loads the API's modules

    send = replay_sender(_settings())
    failed = False
    for letter_id in ids:
        result = replay(store, letter_id, send)
        if result.status == "replayed":
            outcome = result.outcome or "queued"
            failed = failed or outcome.startswith("failed")
            typer.echo(f"replayed {letter_id} to the {result.stage} stage: {outcome}")
        elif result.status == "already-replayed":
            typer.echo(f"{letter_id} was already replayed at {_when(result.replayed_at)}; not sent again")
        elif result.status == "in-progress":
            typer.echo(f"{letter_id} is being replayed by someone else; not sent again")
        else:
            typer.echo(f"error: no dead letter {letter_id!r}", err=True)
            failed = True
    if replay_all:
        typer.echo(f"{len(ids)} dead letter(s) replayed")
    if failed:
        raise typer.Exit(1)


def _all_letters(store: DeadLetterStore, stage: str | None) -> list[DeadLetter]:
    letters: list[DeadLetter] = []
    while batch := store.list(500, len(letters), stage):
        letters.extend(batch)
    return letters


@dlq_app.command("purge")
def dlq_purge(
    letter_ids: Annotated[list[str] | None, typer.Argument(help="Only these dead letters (default: all).")] = None,
    stage: Annotated[str | None, typer.Option(help="Only this stage's dead letters.")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Really delete them: without it, nothing is deleted.")] = False,
) -> None:
    """Delete dead letters for good (their messages are gone). Needs --yes."""
    from kabar.contract.deadletter import dead_letters  # noqa: PLC0415

    store = dead_letters()
    stage = _stage_option(stage)
    if letter_ids:
        chosen = [letter.id for letter_id in letter_ids if (letter := store.get(letter_id)) is not None
                  and (stage is None or letter.stage == stage)]
    else:
        chosen = [letter.id for letter in _all_letters(store, stage)]
    if not yes:
        raise _fail(f"this would delete {len(chosen)} dead letter(s) and their messages for good; "
                    "run again with --yes to delete them")
    removed = store.purge(chosen)
    typer.echo(f"purged {removed} dead letter(s)")


# --- watchlists: saved searches that post an alert to a webhook (kabar_search.watch) ------------

watchlists_app = typer.Typer(help="Saved searches that alert a webhook once per new matching story.",
                             no_args_is_help=True)
app.add_typer(watchlists_app, name="watchlists")


@watchlists_app.command("add")
def watchlists_add(  # noqa: PLR0917 - one parameter per option
    query: Annotated[str, typer.Argument(help='Words, "phrases" and -excluded words, as in `kabar search`.')],
    webhook: Annotated[str, typer.Option(help="http(s) URL the alerts are POSTed to.")],
    name: Annotated[str | None, typer.Option(help="A label for people.")] = None,
    language: Annotated[list[str] | None, typer.Option(help="Only this language (repeatable; ORed).")] = None,
    source: Annotated[list[str] | None, typer.Option(help="Only this source domain (repeatable; ORed).")] = None,
    entity: Annotated[list[str] | None, typer.Option(help="Only articles naming this entity (repeatable; "
                                                          "all required).")] = None,
    entity_id: Annotated[list[str] | None, typer.Option(help="Only articles naming the entity of this id, e.g. "
                                                             "loc:north-korea (repeatable; all required).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the watchlist as JSON.")] = False,
) -> None:
    """Create a watchlist; prints its id."""
    from pydantic import ValidationError  # noqa: PLC0415

    from kabar_search.watch.models import Watchlist, WatchlistSpec, first_problem  # noqa: PLC0415
    from kabar_search.watch.store import TooManyWatchlists, open_watchlist_store  # noqa: PLC0415

    try:
        spec = WatchlistSpec(query=query, webhook=webhook, name=name, languages=language or [],
                             sources=source or [], entities=entity or [], entity_ids=entity_id or [])
    except ValidationError as exc:
        raise _fail(first_problem(exc)) from None
    watchlist = Watchlist.create(spec)
    settings = _settings()
    store = open_watchlist_store(settings)
    try:
        store.add(watchlist, settings.max_watchlists)
    except TooManyWatchlists as exc:
        raise _fail(str(exc)) from None
    finally:
        store.close()
    typer.echo(watchlist.model_dump_json(indent=2) if as_json else watchlist.id)


@watchlists_app.command("list")
def watchlists_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Every watchlist: id, alerts so far, query, filters, webhook."""
    import json  # noqa: PLC0415

    from kabar_search.watch.store import open_watchlist_store  # noqa: PLC0415

    store = open_watchlist_store(_settings())
    try:
        found = store.list()
        counts = store.alert_counts(watchlist.id for watchlist in found)
    finally:
        store.close()
    for watchlist in found:
        if as_json:
            typer.echo(json.dumps({**watchlist.model_dump(mode="json"), "alert_count": counts[watchlist.id]},
                                  ensure_ascii=False))
            continue
        filters = " ".join([*(f"language={v}" for v in watchlist.languages),
                            *(f"source={v}" for v in watchlist.sources),
                            *(f"entity={v!r}" for v in watchlist.entities),
                            *(f"entity_id={v}" for v in watchlist.entity_ids)])
        typer.echo(f"{watchlist.id}  alerts={counts[watchlist.id]}  {watchlist.query!r}"
                   f"{'  ' + filters if filters else ''}  -> {watchlist.webhook}")
    if not as_json:
        typer.echo(f"{len(found)} watchlist(s)")


class _RemovableStore(Protocol):
    def remove(self, item_id: str, /) -> bool: ...
    def close(self) -> None: ...


def _remove_from(store: _RemovableStore, item_id: str, what: str) -> None:
    """Remove one item from a store and close it; exit 2 if there was no such item."""
    try:
        removed = store.remove(item_id)
    finally:
        store.close()
    if not removed:
        raise _fail(f"no {what} {item_id!r}")
    typer.echo(f"removed {item_id}")


@watchlists_app.command("remove")
def watchlists_remove(watchlist_id: Annotated[str, typer.Argument(help="The id `kabar watchlists add` printed.")],
                      ) -> None:
    """Remove a watchlist and its alerts; alerts still queued for it are dropped."""
    from kabar_search.watch.store import open_watchlist_store  # noqa: PLC0415

    _remove_from(open_watchlist_store(_settings()), watchlist_id, "watchlist")


def main() -> None:
    level = os.environ.get("KABAR_LOG_LEVEL", "WARNING").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if level != "DEBUG":
        # The search client logs each retry of an unreachable server with a traceback; the one line below says it.
        logging.getLogger("elastic_transport").setLevel(logging.ERROR)
    try:
        app()
    except Exception as exc:  # one clear line, never a traceback (KABAR_LOG_LEVEL=DEBUG logs it)
        from kabar.cli_errors import one_line  # noqa: PLC0415

        logging.getLogger(__name__).debug("kabar failed", exc_info=exc)
        typer.echo(f"error: {one_line(exc)}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()



# kabar feeds: RSS/Atom feeds (kabar_ingest.feeds). Kept at the end of the file on purpose.

feeds_app = typer.Typer(help="RSS/Atom feeds: add, list, remove, poll now, and the beat scheduler.",
                        no_args_is_help=True)
app.add_typer(feeds_app, name="feeds")


@feeds_app.command("add")
def feeds_add(
    url: Annotated[str, typer.Argument(help="The feed's URL (http or https).")],
    name: Annotated[str | None, typer.Option(help="A name to show (default: the feed's title).")] = None,
    interval: Annotated[float | None, typer.Option(min=60, help="Seconds between polls (default KABAR_FEED_INTERVAL).")]
    = None,
) -> None:
    """Add a feed to poll. Its host must not be a private address unless KABAR_FETCH_ALLOW_HOSTS allows it."""
    from kabar_ingest.feeds import new_feed, open_feed_store  # noqa: PLC0415
    from kabar_ingest.fetch import AddressPolicy, FetchError  # noqa: PLC0415

    settings = _settings()
    try:
        feed = new_feed(url, name, interval, settings)
        AddressPolicy.from_settings(settings).check_host(feed.url)
    except FetchError as exc:
        raise _fail(str(exc)) from None
    store = open_feed_store(_settings())
    try:
        stored, created = store.add(feed)
    finally:
        store.close()
    typer.echo(f"{'added' if created else 'already there:'} {stored.id}  {stored.url}")


@feeds_app.command("list")
def feeds_list(as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False) -> None:
    """The feeds, with their last poll's outcome."""
    from kabar_ingest.feeds import open_feed_store  # noqa: PLC0415

    store = open_feed_store(_settings())
    try:
        feeds = store.all()
    finally:
        store.close()
    for feed in feeds:
        if as_json:
            typer.echo(feed.model_dump_json())
            continue
        outcome: str = feed.last_status or "never polled"
        if feed.last_error:
            outcome += f" ({feed.last_error})"
        skipped = (f"  last poll skipped {feed.last_skipped} ({_reasons(feed.last_skipped_reasons)})"
                   if feed.last_skipped else "")
        typer.echo(f"{feed.id}  {feed.url}  every {feed.interval:g} s  next {_when(feed.next_poll_at)}  "
                   f"sent {feed.entries_sent}  {outcome}{skipped}")
    if not as_json:
        typer.echo(f"{len(feeds)} feed(s)")


@feeds_app.command("remove")
def feeds_remove(feed_id: Annotated[str, typer.Argument(help="The feed's id (see `kabar feeds list`).")]) -> None:
    """Stop polling a feed."""
    from kabar_ingest.feeds import open_feed_store  # noqa: PLC0415

    _remove_from(open_feed_store(_settings()), feed_id, "feed")


@feeds_app.command("poll")
def feeds_poll(
    feed_ids: Annotated[list[str] | None, typer.Argument(help="Only these feeds (default: every feed).")] = None,
) -> None:
    """Poll feeds once, now. Embedded mode: new entries' pages are fetched and run through the pipeline
    here. Services mode: they are queued for the feeds workers."""
    from kabar.embedded import inline_pipeline  # noqa: PLC0415
    from kabar_ingest.feeds import open_feed_store, open_fetcher  # noqa: PLC0415
    from kabar_ingest.sinks import InlineDocuments, InlinePages, poll_round, queue_page  # noqa: PLC0415

    settings = _settings()
    store = open_feed_store(settings)
    fetcher = open_fetcher(settings)
    try:
        feeds = store.all()
        if feed_ids:
            unknown = sorted(set(feed_ids) - {feed.id for feed in feeds})
            if unknown:
                raise _fail(f"no feed {', '.join(unknown)}")
            feeds = [feed for feed in feeds if feed.id in feed_ids]
        if not feeds:
            typer.echo("no feeds; add one with `kabar feeds add URL`")
            return
        pages = None if settings.mode == "services" else InlinePages(
            fetcher, InlineDocuments(inline_pipeline(settings)), settings.max_document_bytes)
        reports = poll_round(feeds, store, fetcher, settings, queue_page if pages is None else pages)
    finally:
        fetcher.close()
        store.close()
    failed = _print_poll_reports(reports, pages)
    if settings.mode == "services":
        typer.echo(f"{sum(report.sent for report in reports)} page(s) queued for the feeds workers")
    if failed:
        raise typer.Exit(1)


def _reasons(counts: dict[str, int]) -> str:
    return ", ".join(f"{reason}: {count}" for reason, count in sorted(counts.items()))


def _print_poll_reports(reports: list[Any], pages: Any) -> bool:
    """One line per feed (and, embedded, what became of its pages); True when anything failed."""
    failed = False
    for report in reports:
        line = f"{report.feed_id}  {report.url}: {report.status.replace('_', ' ')}"
        if report.status == "fetched":
            line += f", {report.entries} entries, {report.new} new, {report.sent} sent"
            if report.skipped:
                line += f", {report.skipped} skipped ({_reasons(report.skipped_reasons)})"
        if report.error:
            line += f": {report.error}"
            failed = True
        typer.echo(line, err=bool(report.error))
        outcomes = pages.outcomes.get(report.feed_id, []) if pages is not None else []
        if outcomes:
            counts = Counter(outcome.status for outcome in outcomes)
            typer.echo("    pages: " + ", ".join(f"{count} {status}" for status, count in sorted(counts.items())))
        for outcome in outcomes:
            if outcome.status == "failed":
                failed = True
                typer.echo(f"    error: {outcome.reason}", err=True)
    return failed


@feeds_app.command("beat")
def feeds_beat() -> None:
    """Run the Celery beat scheduler that polls due feeds every KABAR_FEED_TICK seconds (run exactly one)."""
    settings = _settings()
    import kabar_ingest.schedule  # noqa: PLC0415, F401 - registers the tasks and the beat schedule
    from kabar.contract.celery_app import app as celery_app  # noqa: PLC0415

    schedule_dir = settings.data_dir / "beat"
    schedule_dir.mkdir(parents=True, exist_ok=True)
    celery_app.start(["beat", "--schedule", str(schedule_dir / "schedule"), "--loglevel", "INFO"])
