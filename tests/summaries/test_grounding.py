"""The grounding check: numbers and dates of a written text against the facts, in the forms French and English
texts write them."""

from __future__ import annotations

import pytest

from assets.summaries.grounding import check_grounding, find_tokens

FACTS = {
    "client_name": "Atelier 2 Roues",
    "relationship": {"first_purchase_date": "2024-01-31", "last_purchase_date": "2026-10-01",
                     "total_purchases_excl_tax": 12345.6, "purchase_documents_count": 25},
    "open_documents": {"invoices_late_count": 2, "invoices_late_amount_excl_tax": 1280.5,
                       "open_opportunities": [{"amount_excl_tax": 1800, "probability_pct": 60}]},
    "sales_overview": {"purchases_by_year_excl_tax": {"2024": 4000, "2025": 1500},
                       "avg_payment_days": 31.5, "late_payments_count": 0},
    "recent_interactions": {"window_months": 6, "notes": [
        {"date": "2026-09-15", "kind": "comment",
         "text": "Questions sur la facturation électronique de septembre 2026, voir la facture 2025-114."}]},
    "suggested_missions": [{"trigger_text": "Trésorerie nette négative 3 fins de mois : -2 450,00 €.",
                            "price_min_excl_tax": 1200, "price_max_excl_tax": None}],
}


def _invented(text: str) -> tuple[str, ...]:
    return check_grounding([text], FACTS).invented


@pytest.mark.parametrize("text", [
    "Total des achats : 12 345,60 € HT.",  # French grouping and decimal comma
    "Total des achats : 12\u00a0345,60\u00a0€ HT.",  # no-break spaces
    "Total des achats : 12\u202f345,6 €.",  # narrow no-break space, one decimal
    "Total purchases: €12,345.60.",  # English
    "Total : 12.345,60 €.",  # dot grouping
    "Total : 12345.60 €, 2 factures en retard pour 1 280,50 €.",
    "Probabilité de 60 %.",
    "Délai moyen de 31,5 jours ; 0 facture payée en retard.",
    "Achats 2024 : 4 000,00 € ; 2025 : 1 500,00 €.",  # years as keys of the facts
    "Dernier achat le 1er octobre 2026 ; premier le 31 janvier 2024.",
    "Last purchase on October 1, 2026, first on 31 January 2024.",
    "Dernier achat le 01/10/2026 ; premier le 2024-01-31.",
    "Dernier achat le 1/10/2026.",
    "Last purchase on 10/01/2026.",  # month/day, as written in English
    "Une note de septembre 2026 ; des achats depuis janvier 2024, en 2026.",
    "Une note du 15 septembre.",
    "Notes des 6 derniers mois.",
    "Trésorerie négative 3 fins de mois (2 450,00 €) : mission à 1 200 €.",  # figures of a trigger sentence
    "La facture 2025-114 est contestée.",  # a number that is in a note
    "L'Atelier 2 Roues a 2 factures en retard.",  # a digit of the company's name
    "Rien à signaler.",
])
def test_figures_and_dates_from_the_facts_pass(text):
    assert _invented(text) == ()


@pytest.mark.parametrize("text, invented", [
    ("Le chiffre d'affaires a progressé de 37 % pour atteindre 98 765,43 €.", ("37", "98 765,43")),
    ("Total des achats : 12 346 € HT.", ("12 346",)),  # rounded: not what the facts say
    ("Total purchases: €12,345.61.", ("12,345.61",)),
    ("Dernier achat le 2 octobre 2026.", ("2 octobre 2026",)),
    ("Last purchase on October 2, 2026.", ("October 2, 2026",)),
    ("Dernier achat le 03/10/2026.", ("03/10/2026",)),
    ("Dernier achat le 2026-10-03.", ("2026-10-03",)),
    ("Client depuis mars 2023.", ("mars 2023",)),
    ("Une note du 16 septembre.", ("16 septembre",)),
    ("Objectif pour 2031.", ("2031",)),
    ("Prévoir 12 rendez-vous.", ("12",)),
    ("Au T4, trois relances.", ("4",)),
])
def test_invented_figures_and_dates_are_reported_as_written(text, invented):
    assert _invented(text) == invented


def test_the_sign_of_an_amount_does_not_matter():
    assert _invented("Une trésorerie de 2 450,00 € sous zéro.") == ()
    assert check_grounding(["Avoir de -100,00 €."], {"total": 100}).passed


def test_an_ambiguous_written_number_passes_when_either_reading_is_a_fact():
    assert check_grounding(["1,500 documents"], {"count": 1500}).passed
    assert check_grounding(["1,500 jours"], {"days": 1.5}).passed
    assert not check_grounding(["1,500"], {"days": 15}).passed


def test_a_space_grouped_number_may_be_several_facts():
    # 'les 2 450 ...' reads as 2450, or as 2 then 450
    assert check_grounding(["sur 6 450 notes"], {"months": 6, "notes": 450}).passed
    assert not check_grounding(["sur 6 451 notes"], {"months": 6, "notes": 450}).passed


def test_every_card_is_checked_and_each_token_reported_once():
    result = check_grounding(["Total : 99 €.", "Encore 99 €.", "Et 98 €."], FACTS)
    assert result.invented == ("99", "98") and not result.passed


def test_tokens_are_found_in_reading_order():
    assert [t.text for t in find_tokens("Le 1er octobre 2026, 12 345,60 € puis 37 %.")] == \
        ["1er octobre 2026", "12 345,60", "37"]


def test_a_date_that_does_not_exist_is_read_as_numbers():
    assert [(t.kind, t.text) for t in find_tokens("le 31/02/2026")] == \
        [("number", "31"), ("number", "02"), ("number", "2026")]
