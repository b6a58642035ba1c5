"""The five summary cards (domain.md §4) and the JSON schema the language model must answer with."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

CARD_FIELDS = ("relationship", "open_documents", "sales_overview", "recent_interactions", "recommendations")
# a card is a few sentences; anything far longer is a runaway reply, not a card
MAX_CARD_CHARS = 2000


@dataclass(frozen=True)
class SummaryCards:
    relationship: str
    open_documents: str
    sales_overview: str
    recent_interactions: str
    recommendations: str

    def texts(self) -> dict[str, str]:
        return asdict(self)


CARDS_JSON_SCHEMA: dict = {
    "type": "object",
    "properties": {name: {"type": "string"} for name in CARD_FIELDS},
    "required": list(CARD_FIELDS),
    "additionalProperties": False,
}

# chat.completions structured output: the reply is JSON that matches CARDS_JSON_SCHEMA exactly
RESPONSE_FORMAT: dict = {
    "type": "json_schema",
    "json_schema": {"name": "client_summary_cards", "strict": True, "schema": CARDS_JSON_SCHEMA},
}


class MalformedReply(ValueError):
    """The model's reply is not the five cards (not JSON, other fields, empty or runaway texts)."""


def parse_cards(content: str | None) -> SummaryCards:
    """The cards of a reply's content, or MalformedReply saying what is wrong with it."""
    if not content:
        raise MalformedReply("empty reply")
    try:
        value = json.loads(content)
    except json.JSONDecodeError as error:
        raise MalformedReply(f"reply is not JSON ({error.msg} at character {error.pos})") from None
    if not isinstance(value, dict):
        raise MalformedReply(f"reply is a JSON {type(value).__name__}, not an object")
    if set(value) != set(CARD_FIELDS):
        raise MalformedReply(f"reply fields are {sorted(value)}, expected {list(CARD_FIELDS)}")
    for name in CARD_FIELDS:
        text = value[name]
        if not isinstance(text, str) or not text.strip():
            raise MalformedReply(f"card {name} is not a non-empty string")
        if len(text) > MAX_CARD_CHARS:
            raise MalformedReply(f"card {name} has {len(text)} characters (at most {MAX_CARD_CHARS})")
    return SummaryCards(**{name: value[name].strip() for name in CARD_FIELDS})
