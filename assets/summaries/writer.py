"""The client summaries (domain.md §4) written into the warehouse: table summaries.client_summaries, one row per
client, rewritten on every run.

Each client gets the language model's cards when a key is configured, the model answered with the five cards and
every number and date in them is in the facts (and no card holds a URL or starts like a spreadsheet formula);
otherwise the template's cards (generator = template), with the reason in the row: grounding_status = failed and
what was wrong in grounding_issues, or the category of the API's failure in llm_error (llm.ERROR_CATEGORIES,
never the provider's text). The model's answers are cached (summaries.summary_cache), so an unchanged client is
not sent again unless `refresh` is set; new answers are cached in the transaction that writes the table. Nothing
the model or its API does makes this fail."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

from assets.settings import LANGUAGES
from assets.summaries.cache import CacheEntry, cache_key, ensure_cache_table, load_cached, store_cached
from assets.summaries.facts import ClientFacts, load_client_facts
from assets.summaries.grounding import GroundingResult, check_grounding, check_model_cards
from assets.summaries.llm import UNAVAILABLE, CardWriter, SummarySettings, WriteResult
from assets.summaries.models import CARD_FIELDS, SummaryCards
from assets.summaries.prompt import PROMPT_VERSION
from assets.summaries.template import quoted_notes, render_template
from assets.warehouse import relation_exists, replace_table, transaction

log = logging.getLogger(__name__)

SUMMARIES_TABLE = "summaries.client_summaries"
SUMMARY_COLUMNS = {
    "client_id": "VARCHAR NOT NULL",
    "language": "VARCHAR NOT NULL",
    **{name: "VARCHAR NOT NULL" for name in CARD_FIELDS},
    "generator": "VARCHAR NOT NULL",  # llm or template
    "model": "VARCHAR",  # the model that wrote the published cards; null for the template
    "prompt_version": "VARCHAR",
    "facts_hash": "VARCHAR NOT NULL",
    "generated_at": "TIMESTAMP NOT NULL",  # UTC; for cached cards, when the model wrote them
    "grounding_status": "VARCHAR NOT NULL",  # passed, or failed: the text had figures or dates not in the facts
    "grounding_issues": "VARCHAR",  # URL / formula found, then the invented numbers and dates as written; '; '
    "llm_error": "VARCHAR",  # why the model's cards could not be had: one of llm.ERROR_CATEGORIES
    "from_cache": "BOOLEAN NOT NULL",
}


@dataclass
class SummaryReport:
    language: str
    model: str | None  # none when no API key is configured
    clients: int = 0
    llm: int = 0
    template: int = 0
    cache_hits: int = 0
    grounding_failures: int = 0
    api_failures: int = 0
    grounding_failed_client_ids: list[str] = field(default_factory=list)
    api_failed_client_ids: list[str] = field(default_factory=list)

    @property
    def failed_client_ids(self) -> list[str]:
        return sorted({*self.grounding_failed_client_ids, *self.api_failed_client_ids})

    def summary(self) -> str:
        writer = f"model {self.model}" if self.model else "no model configured"
        return (f"{self.clients} client summaries ({self.language}, {writer}): {self.llm} by the model"
                f" ({self.cache_hits} from cache), {self.template} by the template;"
                f" {self.grounding_failures} failed the grounding check, {self.api_failures} API failures")

    def count(self, row: dict) -> None:
        self.clients += 1
        if row["generator"] == "llm":
            self.llm += 1
        else:
            self.template += 1
        self.cache_hits += row["from_cache"]
        if row["grounding_status"] == "failed":
            self.grounding_failures += 1
            self.grounding_failed_client_ids.append(row["client_id"])
        if row["llm_error"]:
            self.api_failures += 1
            self.api_failed_client_ids.append(row["client_id"])


@dataclass(frozen=True)
class _ModelCards:
    """What the model gave for one client: its cards, or why there are none."""

    cards: SummaryCards | None
    generated_at: datetime
    error: str | None = None
    from_cache: bool = False


def write_client_summaries(con, *, language: str, refresh: bool = False,
                           settings: SummarySettings | None = None) -> SummaryReport:
    """(Re)write summaries.client_summaries from marts.client_summary_facts.

    `con`: an open read-write DuckDB connection to the warehouse; `settings`: None reads the environment
    (OPENAI_API_KEY, OPENAI_BASE_URL, VIGIE_OPENAI_MODEL); `refresh`: ask the model again even for clients
    whose cached cards still match their facts."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, got {language!r}")
    settings = settings or SummarySettings.from_env()
    clients = load_client_facts(con)
    to_cache: list[CacheEntry] = []
    model_cards = _model_cards(con, clients, language, refresh, settings, to_cache) if settings.uses_llm else {}
    report = SummaryReport(language, settings.model if settings.uses_llm else None)
    now = _now()
    previous = _previous_summaries(con)
    rows = []
    for client in clients:
        row = _summary_row(client, language, model_cards.get(client.client_id), settings.model, now, previous)
        # a summary written again word for word keeps its date, so unchanged inputs publish an identical table
        if (same := previous.get(_content(row))) is not None:
            row["generated_at"] = same.generated_at
        report.count(row)
        rows.append(row)
    _replace_summaries(con, rows, to_cache)
    log.info(report.summary())
    return report


def _model_cards(con, clients: list[ClientFacts], language: str, refresh: bool, settings: SummarySettings,
                 to_cache: list[CacheEntry]) -> dict[str, _ModelCards]:
    """The model's cards of every client, from the cache or the API; new ones are appended to `to_cache`."""
    ensure_cache_table(con)
    keys = {c.client_id: cache_key(c.client_id, c.facts_hash, settings.model, language) for c in clients}
    cached = {} if refresh else load_cached(con, keys.values())
    found = {c.client_id: _ModelCards(hit.cards, hit.generated_at, from_cache=True)
             for c in clients if (hit := cached.get(keys[c.client_id]))}
    to_send = [c for c in clients if c.client_id not in found]
    if not to_send:
        return found
    try:
        writer = CardWriter(settings)
    except Exception as error:  # a configuration the SDK refuses (a malformed base URL...) fails no run either
        # the class only: the message may quote the configuration
        log.error("cannot build the openai client (%s)", type(error).__name__)
        return {**found, **{c.client_id: _ModelCards(None, _now(), UNAVAILABLE) for c in to_send}}
    breaker = _Breaker(settings.max_consecutive_failures)
    try:
        with ThreadPoolExecutor(max_workers=max(1, settings.max_workers), thread_name_prefix="summaries") as pool:
            futures = {pool.submit(_write_one, writer, breaker, c.facts, language): c for c in to_send}
            # the answers are cached with the table, in one transaction (_replace_summaries)
            for future in as_completed(futures):
                client, result, now = futures[future], future.result(), _now()
                if result.cards:
                    to_cache.append(CacheEntry(keys[client.client_id], client.client_id, language, settings.model,
                                               client.facts_hash, result.cards, now))
                else:
                    log.warning("client %s: no cards from %s: %s (%s)", client.client_id, settings.model,
                                result.error, result.detail)
                found[client.client_id] = _ModelCards(result.cards, now, result.error)
    finally:
        writer.close()
    return found


class _Breaker:
    """Stops sending once `limit` clients in a row failed at the API: with the API down, each further client
    would only wait for its timeouts and retries before falling back to the template anyway."""

    def __init__(self, limit: int):
        self.limit = limit
        self._failures_in_a_row = 0
        self._lock = threading.Lock()

    @property
    def tripped(self) -> bool:
        return 0 < self.limit <= self._failures_in_a_row

    def record(self, request_failed: bool) -> None:
        with self._lock:
            self._failures_in_a_row = self._failures_in_a_row + 1 if request_failed else 0


def _write_one(writer: CardWriter, breaker: _Breaker, facts: dict, language: str) -> WriteResult:
    if breaker.tripped:
        return WriteResult(None, UNAVAILABLE, request_failed=True,
                           detail=f"not sent: {breaker.limit} clients in a row failed at the API")
    try:
        result = writer.write(facts, language)
    except Exception as error:  # the summaries never fail the run because of the model
        # the class only: an exception's message or traceback may quote the provider's answer
        log.error("unexpected error while writing a summary (%s)", type(error).__name__)
        result = WriteResult(None, UNAVAILABLE, request_failed=True, detail=f"unexpected {type(error).__name__}")
    breaker.record(result.request_failed)
    return result


def _summary_row(client: ClientFacts, language: str, model_cards: _ModelCards | None, model: str,
                 now: datetime, previous: Mapping[tuple, _Previous]) -> dict:
    row = {"client_id": client.client_id, "language": language, "facts_hash": client.facts_hash,
           "model": None, "prompt_version": None, "generated_at": now, "llm_error": None, "from_cache": False}
    template = render_template(client.facts, language)
    if model_cards and model_cards.cards:
        row["from_cache"] = model_cards.from_cache
        grounding = check_model_cards(model_cards.cards.texts(), client.facts)
        if grounding.passed:
            return {**row, **model_cards.cards.texts(), "generator": "llm", "model": model,
                    "prompt_version": PROMPT_VERSION, "generated_at": model_cards.generated_at,
                    "grounding_status": "passed", "grounding_issues": None}
        # cards that invent figures are not published: the template's are, and the failure stays in the row
    else:
        row["llm_error"] = model_cards.error if model_cards else None
        grounding = _template_grounding(client, template.texts(), previous.get(
            _content({**row, **template.texts(), "generator": "template"})))
    return {**row, **template.texts(), "generator": "template",
            "grounding_status": "passed" if grounding.passed else "failed",
            "grounding_issues": "; ".join(grounding.issues) or None}


def _template_grounding(client: ClientFacts, texts: dict[str, str], previous: _Previous | None) -> GroundingResult:
    """The template's words for these facts, checked like the model's; the same words from the same facts that
    passed in the previous run are not checked again (the template is code: its output for each client changes
    only with the client's facts). At 2 000 clients the check cost 4 s of a 6.5 s step, every morning. Words that
    failed, which may be a model's fallback, are always checked again."""
    if previous and previous.grounding_status == "passed":
        return GroundingResult(invented=())
    # the notes the template quotes are quotations, not figures it states
    return check_grounding(texts.values(), client.facts, quotations=quoted_notes(client.facts))


_CONTENT_COLUMNS = ("client_id", "language", *CARD_FIELDS, "generator", "model", "facts_hash")


class _Previous(NamedTuple):
    generated_at: datetime
    grounding_status: str


def _content(row: dict) -> tuple:
    return tuple(row[c] for c in _CONTENT_COLUMNS)


def _previous_summaries(con) -> dict[tuple, _Previous]:
    """The previous run's summaries, keyed by what they say: when each was written, and its check's verdict."""
    if not relation_exists(con, *SUMMARIES_TABLE.split(".")):
        return {}
    rows = con.execute(f"SELECT {', '.join(_CONTENT_COLUMNS)}, generated_at, grounding_status"
                       f" FROM {SUMMARIES_TABLE}").fetchall()
    return {tuple(row[:-2]): _Previous(*row[-2:]) for row in rows}


def _replace_summaries(con, rows: list[dict], to_cache: list[CacheEntry]) -> None:
    """One transaction: readers see the previous summaries or the new ones, never a half-written table, and the
    new cards enter the cache with the table that publishes them, or not at all."""
    with transaction(con):
        for entry in to_cache:
            store_cached(con, entry)
        replace_table(con, SUMMARIES_TABLE, SUMMARY_COLUMNS, rows)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
