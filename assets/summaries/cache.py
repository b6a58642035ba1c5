"""Cards the language model already wrote, kept across runs in the warehouse: a client whose facts, the prompt,
the model and the language are unchanged is not sent again. The key names the client too, so two clients with
identical facts each keep their own cards. The cache keeps the model's cards as written; the grounding check runs
again on every use, so an improved check also judges old answers. The writer stores new cards in the same
transaction as the summaries table (writer.py): the cache never holds cards the table did not take."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from assets.summaries.models import CARD_FIELDS, SummaryCards
from assets.summaries.prompt import PROMPT_VERSION

CACHE_TABLE = "summaries.summary_cache"


@dataclass(frozen=True)
class CachedCards:
    cards: SummaryCards
    generated_at: datetime


@dataclass(frozen=True)
class CacheEntry:
    """New cards to keep, written with the summaries table (`store_cached`)."""

    key: str
    client_id: str
    language: str
    model: str
    facts_hash: str
    cards: SummaryCards
    generated_at: datetime


def cache_key(client_id: str, facts_hash: str, model: str, language: str) -> str:
    return hashlib.sha256(
        f"{client_id}|{facts_hash}|{PROMPT_VERSION}|{model}|{language}".encode()).hexdigest()


def ensure_cache_table(con) -> None:
    card_columns = ", ".join(f"{name} VARCHAR NOT NULL" for name in CARD_FIELDS)
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {CACHE_TABLE.split('.')[0]}")
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {CACHE_TABLE} (cache_key VARCHAR PRIMARY KEY, client_id VARCHAR NOT NULL,"
        f" language VARCHAR NOT NULL, model VARCHAR NOT NULL, prompt_version VARCHAR NOT NULL,"
        f" facts_hash VARCHAR NOT NULL, {card_columns}, generated_at TIMESTAMP NOT NULL)"
    )


def load_cached(con, keys: Iterable[str]) -> dict[str, CachedCards]:
    keys = list(keys)
    if not keys:
        return {}
    rows = con.execute(
        f"SELECT cache_key, {', '.join(CARD_FIELDS)}, generated_at FROM {CACHE_TABLE}"
        f" WHERE cache_key IN (SELECT unnest(?::VARCHAR[]))",
        [keys],
    ).fetchall()
    return {row[0]: CachedCards(SummaryCards(*row[1:-1]), row[-1]) for row in rows}


def store_cached(con, entry: CacheEntry) -> None:
    """Keep the cards under their key; the client's older cards in this language go (their facts are gone).
    Call it inside the transaction that writes the summaries table."""
    con.execute(f"DELETE FROM {CACHE_TABLE} WHERE client_id = ? AND language = ? AND cache_key <> ?",
                [entry.client_id, entry.language, entry.key])
    # OR REPLACE: a refreshed client gets the same key again
    con.execute(
        f"INSERT OR REPLACE INTO {CACHE_TABLE} (cache_key, client_id, language, model, prompt_version, facts_hash,"
        f" {', '.join(CARD_FIELDS)}, generated_at) VALUES ({', '.join('?' * (7 + len(CARD_FIELDS)))})",
        [entry.key, entry.client_id, entry.language, entry.model, PROMPT_VERSION, entry.facts_hash,
         *entry.cards.texts().values(), entry.generated_at],
    )
