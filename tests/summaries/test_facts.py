"""The facts sent to the model: what is read, what is taken out, and the hash that identifies them."""

from __future__ import annotations

import hashlib
import json

import duckdb
import pytest

from assets.summaries.facts import (
    EMAIL_MARK,
    PERSON_MARK,
    PHONE_MARK,
    Redactor,
    facts_hash,
    firm_person_names,
    load_client_facts,
    load_open_missions,
)
from tests.summaries.warehouse import COLLABORATORS, DUMAS, LAC, ROUES, TIME_TRACKING_USERS, build_warehouse


def _by_id(con) -> dict:
    return {c.client_id: c for c in load_client_facts(con)}


def test_facts_hold_the_cards_of_every_client(con):
    facts = _by_id(con)
    assert list(facts) == sorted([DUMAS, LAC, ROUES])
    dumas = facts[DUMAS].facts
    assert dumas["client_name"] == "Boulangerie Dumas"
    assert dumas["relationship"]["total_purchases_excl_tax"] == 12345.6
    assert dumas["relationship"]["last_purchase_date"] == "2026-10-01"
    assert dumas["open_documents"]["open_opportunities"][0]["step"] == "Négociation"
    assert dumas["sales_overview"]["purchases_by_year_excl_tax"] == {"2024": 4000, "2025": 5000, "2026": 3345.6}
    assert [n["date"] for n in facts[DUMAS].notes] == ["2026-10-20", "2026-09-15", "2026-06-02"]
    assert facts[LAC].facts["relationship"]["first_purchase_date"] is None
    assert facts[LAC].notes == []


def test_only_open_missions_are_suggested(con):
    missions = load_open_missions(con)
    assert [m["rule_id"] for m in missions[DUMAS]] == ["cash_below_one_month"]
    assert [m["rule_id"] for m in missions[LAC]] == ["e_invoicing"]
    assert ROUES not in missions
    titles = [m["mission_title"] for m in _by_id(con)[DUMAS].facts["suggested_missions"]]
    assert titles == ["Prévisionnel de trésorerie"]


def test_without_the_missions_table_there_are_none(tmp_path):
    with duckdb.connect(str(build_warehouse(tmp_path / "w.duckdb", with_missions=False))) as con:
        assert load_open_missions(con) == {}


def test_the_firms_people_come_from_the_practice_and_time_tracking_exports(con, tmp_path):
    assert set(firm_person_names(con)) == set(COLLABORATORS) | set(TIME_TRACKING_USERS)
    with duckdb.connect(str(build_warehouse(tmp_path / "w.duckdb", with_people=False))) as bare:
        assert firm_person_names(bare) == []


def test_notes_are_redacted(con):
    notes = [n["text"] for n in _by_id(con)[DUMAS].notes]
    assert notes[0] == (f"Appel de {PERSON_MARK} : elle demande un devis. Rappeler {PERSON_MARK} au {PHONE_MARK}"
                        f" ou écrire à {EMAIL_MARK}.")
    assert notes[2] == (f"Préparer le bilan avec {PERSON_MARK} ; standard au {PHONE_MARK}. {PERSON_MARK} a classé"
                        f" les pièces.")
    # what is not personal stays as written
    assert notes[1] == "Le gérant s'inquiète des délais de paiement (septembre 2026)."


@pytest.mark.parametrize("text, expected", [
    ("Écrire à jean.dupont+compta@exemple.co.uk.", f"Écrire à {EMAIL_MARK}."),
    ("Tél. 04 50 11 12 34, 0450111234, 04.50.11.12.34 ou 04-50-11-12-34.",
     f"Tél. {PHONE_MARK}, {PHONE_MARK}, {PHONE_MARK} ou {PHONE_MARK}."),
    ("Portable +33 6 12 34 56 78 ou +33 (0)6 12 34 56 78 ou 0033 612345678.",
     f"Portable {PHONE_MARK} ou {PHONE_MARK} ou {PHONE_MARK}."),
    ("Bureau suisse +41 22 123 45 67.", f"Bureau suisse {PHONE_MARK}."),
    ("Vu avec manon colin, COLIN Manon et Manon-Colin.", f"Vu avec {PERSON_MARK}, {PERSON_MARK} et {PERSON_MARK}."),
    ("Zoe Stagiaire et Zoé STAGIAIRE.", f"{PERSON_MARK} et {PERSON_MARK}."),
    ("M. Jean-Paul Martin, Mme Durand et Madame Le Goff ont appelé.",
     f"{PERSON_MARK}, {PERSON_MARK} et {PERSON_MARK} ont appelé."),
    ("Dr Martin a écrit.", f"{PERSON_MARK} a écrit."),
])
def test_personal_data_is_replaced_by_marks(text, expected):
    assert Redactor(["Manon Colin", "Zoé Stagiaire"]).redact(text) == expected


@pytest.mark.parametrize("text", [
    "SIREN 123 456 789, facture du 2026-10-01 de 12 345,60 € (+1 234,50 € sur 3 mois).",
    "Trésorerie nette : -2 450,00 € au 31/10/2026 ; compte 512000.",
    "Me rappeler demain : M. le maire est d'accord.",
    "Colinéaire et Manonville ne sont pas des personnes.",
    "CA de 85000 HT, SIRET 732 829 320 00074, carte 4111 1111 1111 1112 (Luhn faux), TVA FR12345678901.",
    "Acompte 30 % - Prévisionnel ; Bulletins de paie - 09/2026 ; Relancer le 12 pour la facture.",
    "Le mot de passe a été changé ; login en panne.",
])
def test_figures_dates_and_ordinary_words_are_kept(text):
    assert Redactor(["Manon Colin", "Jean Colin"]).redact(text) == text


def test_the_hash_is_the_sha256_of_the_canonical_json():
    facts = {"b": [1, 2.5, None], "a": {"é": "x", "d": "2026-10-01"}}
    canonical = '{"a":{"d":"2026-10-01","é":"x"},"b":[1,2.5,null]}'
    assert facts_hash(facts) == hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert facts_hash(json.loads(json.dumps(facts))) == facts_hash({"a": facts["a"], "b": facts["b"]})


def test_the_hash_is_stable_across_reads_and_follows_the_facts(warehouse_path):
    with duckdb.connect(str(warehouse_path)) as con:
        first = {c.client_id: c.facts_hash for c in load_client_facts(con)}
    with duckdb.connect(str(warehouse_path)) as con:
        assert {c.client_id: c.facts_hash for c in load_client_facts(con)} == first
        con.execute("UPDATE marts.client_summary_facts SET average_basket = 493.83"
                    " WHERE client_id = ?", [DUMAS])
        changed = {c.client_id: c.facts_hash for c in load_client_facts(con)}
    assert len(set(first.values())) == 3
    assert changed[DUMAS] != first[DUMAS]
    assert {k: v for k, v in changed.items() if k != DUMAS} == {k: v for k, v in first.items() if k != DUMAS}


def test_the_hash_does_not_move_with_the_reference_date(con):
    before = {c.client_id: c.facts_hash for c in load_client_facts(con)}
    con.execute("UPDATE marts.client_summary_facts"
                " SET as_of_date = as_of_date + 1, interactions_from = interactions_from + 1")
    assert {c.client_id: c.facts_hash for c in load_client_facts(con)} == before
