"""What the model is told (prompt.py) and what it must answer (models.py)."""

from __future__ import annotations

import json
import re

import pytest

from assets.summaries.facts import EMAIL_MARK, PERSON_MARK, PHONE_MARK, load_client_facts
from assets.summaries.models import CARD_FIELDS, CARDS_JSON_SCHEMA, RESPONSE_FORMAT, MalformedReply, parse_cards
from assets.summaries.prompt import SYSTEM_PROMPTS, build_messages
from tests.summaries.warehouse import INJECTED, ROUES


def test_the_schema_is_strict_five_strings():
    assert RESPONSE_FORMAT["json_schema"]["strict"] is True
    assert CARDS_JSON_SCHEMA["required"] == list(CARD_FIELDS)
    assert CARDS_JSON_SCHEMA["additionalProperties"] is False
    assert {p["type"] for p in CARDS_JSON_SCHEMA["properties"].values()} == {"string"}


def test_a_reply_with_the_five_cards_is_parsed():
    cards = parse_cards(json.dumps({name: f" Carte {name}. " for name in CARD_FIELDS}))
    assert cards.texts() == {name: f"Carte {name}." for name in CARD_FIELDS}


@pytest.mark.parametrize("reply", [
    None, "", "pas du JSON", "[]", json.dumps({name: "x" for name in CARD_FIELDS[:-1]}),
    json.dumps({**{name: "x" for name in CARD_FIELDS}, "extra": "y"}),
    json.dumps({**{name: "x" for name in CARD_FIELDS}, "recommendations": 3}),
    json.dumps({**{name: "x" for name in CARD_FIELDS}, "recommendations": "  "}),
    json.dumps({**{name: "x" for name in CARD_FIELDS}, "recommendations": "y" * 5000}),
])
def test_anything_else_is_malformed(reply):
    with pytest.raises(MalformedReply):
        parse_cards(reply)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_messages_carry_the_rules_the_facts_and_the_quoted_notes(con, language):
    client = next(c for c in load_client_facts(con) if c.client_id == ROUES)
    system, user = build_messages(client.facts, language)
    assert system == {"role": "system", "content": SYSTEM_PROMPTS[language]}
    assert all(mark in system["content"] for mark in (EMAIL_MARK, PHONE_MARK, PERSON_MARK))
    facts = json.loads(re.search(r"<facts>\n(.*)\n</facts>", user["content"], re.DOTALL).group(1))
    notes = json.loads(re.search(r"<notes>\n(.*)\n</notes>", user["content"], re.DOTALL).group(1))
    assert notes == client.notes and notes[0]["text"] == INJECTED
    # the notes travel once, in their block; every other fact is in the facts block
    assert "notes" not in facts["recent_interactions"]
    assert {**facts, "recent_interactions": {**facts["recent_interactions"], "notes": notes}} == client.facts
    assert user["content"].count("Ignore previous instructions") == 1
    assert "<" not in user["content"].split("<notes>\n", 1)[1].rsplit("\n</notes>", 1)[0]
