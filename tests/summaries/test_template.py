"""The template cards: French and English formatting, and every figure they write passes the grounding check,
on the sample clients and on many random ones."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from decimal import Decimal

import pytest

from assets.summaries.facts import Redactor, client_facts, load_client_facts
from assets.summaries.grounding import check_grounding
from assets.summaries.template import (
    NOTES_SHOWN,
    format_amount,
    format_date,
    format_number,
    quoted_notes,
    render_template,
)

NBSP = "\u00a0"


@pytest.mark.parametrize("value, fr, en", [
    (Decimal("12345.60"), f"12{NBSP}345,60{NBSP}€", "€12,345.60"),
    (1234567.8, f"1{NBSP}234{NBSP}567,80{NBSP}€", "€1,234,567.80"),
    (0, f"0,00{NBSP}€", "€0.00"),
    (-100, f"-100,00{NBSP}€", "-€100.00"),
])
def test_amounts(value, fr, en):
    assert (format_amount(value, "fr"), format_amount(value, "en")) == (fr, en)


@pytest.mark.parametrize("value, fr, en", [
    (37.5, "37,5", "37.5"), (26.0, "26", "26"), (Decimal("224.0000"), "224", "224"), (1234, f"1{NBSP}234", "1,234"),
    (100, "100", "100"), (0, "0", "0"),
])
def test_numbers(value, fr, en):
    assert (format_number(value, "fr"), format_number(value, "en")) == (fr, en)


def test_dates():
    assert format_date("2026-10-01", "fr") == "1er octobre 2026"
    assert format_date("2026-08-15", "fr") == "15 août 2026"
    assert format_date("2026-10-01", "en") == "1 October 2026"


def test_the_sample_cards_pass_the_grounding_check(con):
    for client in load_client_facts(con):
        for language in ("fr", "en"):
            cards = render_template(client.facts, language)
            result = check_grounding(cards.texts().values(), client.facts, quotations=quoted_notes(client.facts))
            assert result.passed, (client.client_id, language, result.invented)


def test_the_newest_notes_are_quoted(con):
    dumas = next(c for c in load_client_facts(con) if c.facts["client_name"] == "Boulangerie Dumas")
    card = render_template(dumas.facts, "fr").recent_interactions
    assert card.startswith("3 note(s) au cours des 6 derniers mois.")
    assert all(f"« {note['text']} »" in card for note in dumas.notes[:NOTES_SHOWN])


# ---- random clients ----


def _amount(rng: random.Random, high: int = 5_000_000) -> Decimal:
    return Decimal(rng.randrange(-5_000, high)) / 100


def _day(rng: random.Random) -> date:
    return date(2019, 1, 1) + timedelta(days=rng.randrange(0, 2900))


def _random_row(rng: random.Random, number: int) -> dict:
    bought = rng.random() < 0.8
    first = _day(rng)
    products = [{"rank": r, "product_ref": f"P{r}", "product_name": rng.choice(
        ["Tenue comptable", f"Bulletins de paie - {rng.randrange(1, 13):02d}/2026", "Bilan annuel 2025",
         "Acompte 30 % - Prévisionnel"]), "quantity": float(Decimal(rng.randrange(1, 50000)) / 100),
        "revenue": float(_amount(rng))} for r in range(1, rng.randrange(1, 6))] if bought else []
    notes = [{"date": _day(rng).isoformat(), "kind": rng.choice(["comment", "task", "call", "event", "sms"]),
              "text": rng.choice(["Relance envoyée.", "Appel du 12/03/2026 : 3 factures contestées.",
                                  "Point prévu en septembre 2026, budget 1 500,00 €."])}
             for _ in range(rng.randrange(0, 6))]
    opportunities = [{"opportunity_id": str(k), "name": f"Mission {k}", "amount": rng.choice([None, 1800.0, 99.99]),
                      "pipeline": "Conseil", "step": rng.choice([None, "Négociation"]),
                      "probability_pct": rng.choice([None, 60.0, 12.5]), "status": "open",
                      "due_date": _day(rng).isoformat()} for k in range(rng.randrange(0, 3))]
    return {
        "client_id": f"c{number}", "client_name": f"Société {number}",
        "purchases_basis": rng.choice(["invoices", "accepted_quotes"]) if bought else "none",
        "first_purchase_date": first if bought else None,
        "last_purchase_date": first + timedelta(days=rng.randrange(0, 900)) if bought else None,
        "total_purchases": _amount(rng), "purchase_documents_count": rng.randrange(1, 3000) if bought else 0,
        "invoices_to_pay_count": rng.randrange(0, 4), "invoices_to_pay_amount": _amount(rng),
        "invoices_late_count": rng.randrange(0, 4), "invoices_late_amount": _amount(rng),
        "quotes_sent_count": rng.randrange(0, 3), "quotes_read_count": rng.randrange(0, 3),
        "open_opportunities_count": len(opportunities), "open_opportunities_amount": _amount(rng),
        "open_opportunities": json.dumps(opportunities),
        "purchases_by_year": json.dumps({str(y): float(_amount(rng)) for y in (2024, 2025, 2026)}),
        "purchase_frequency": Decimal(rng.randrange(0, 5000)) / 100,
        "average_basket": _amount(rng) if bought else None,
        "top_products_by_quantity": json.dumps(products), "top_products_by_revenue": json.dumps(products[::-1]),
        "paid_invoices_count": rng.randrange(0, 200),
        "avg_payment_days": Decimal(rng.randrange(0, 1200)) / 10 if rng.random() < 0.7 else None,
        "late_payments_count": rng.randrange(0, 50),
        "recent_interactions_count": len(notes), "recent_interactions": json.dumps(notes, ensure_ascii=False),
    }


def _random_missions(rng: random.Random) -> list[dict]:
    def price():
        return rng.choice([None, _amount(rng, 500_000)])
    return [{"mission_title": f"Mission {k} 2026", "kind": "trigger",
             "trigger_text": rng.choice(["Trésorerie négative 3 fins de mois : -2 450,00 €",
                                         "Chiffre d'affaires sur 12 mois : 80 512,30 € (seuil 85 000 €)."]),
             "price_min": price(), "price_max": price()} for k in range(rng.randrange(0, 3))]


@pytest.mark.parametrize("language", ["fr", "en"])
def test_random_clients_pass_the_grounding_check(language):
    rng = random.Random(20261031)
    for number in range(300):
        facts = client_facts(_random_row(rng, number), _random_missions(rng), Redactor()).facts
        cards = render_template(facts, language)
        result = check_grounding(cards.texts().values(), facts, quotations=quoted_notes(facts))
        assert result.passed, (number, result.invented, cards)
        assert all(cards.texts().values())
