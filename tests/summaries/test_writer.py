"""write_client_summaries end to end against a hand-built warehouse and the fake OpenAI server (conftest.py):
template mode, the model's cards, the cache, API failures, invented figures, an injected note, privacy."""

from __future__ import annotations

import json
import subprocess
import sys
import unicodedata
from pathlib import Path

import duckdb
import pytest

from assets.summaries import SUMMARIES_TABLE, SummarySettings, write_client_summaries
from assets.summaries.facts import load_client_facts
from assets.summaries.models import CARD_FIELDS, CARDS_JSON_SCHEMA
from assets.summaries.prompt import SYSTEM_PROMPTS
from assets.summaries.template import render_template
from tests.summaries.conftest import (
    INVENTED,
    MODEL,
    block,
    completion,
    content,
    error,
    grounded,
    grounded_cards,
    inventing,
    llm_settings,
    raw_body,
    stalled,
)
from tests.summaries.warehouse import CLIENTS, DUMAS, INJECTED, LAC, PRIVATE_TEXTS, ROUES, build_warehouse

CONTRACT_COLUMNS = ["client_id", "language", *CARD_FIELDS, "generator", "model", "facts_hash", "generated_at"]


def _rows(con) -> dict[str, dict]:
    cursor = con.execute(f"SELECT * FROM {SUMMARIES_TABLE}")
    names = [d[0] for d in cursor.description]
    return {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}


def _cards(row: dict) -> dict:
    return {name: row[name] for name in CARD_FIELDS}


def _template_cards(con, client_id: str, language: str = "fr") -> dict:
    facts = next(c for c in load_client_facts(con) if c.client_id == client_id)
    return render_template(facts.facts, language).texts()


# ---- without a model ----


def test_without_an_api_key_the_template_writes_every_card(con, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    report = write_client_summaries(con, language="fr")
    rows = _rows(con)
    assert set(rows) == {c["client_id"] for c in CLIENTS}
    for client_id, row in rows.items():
        assert (row["generator"], row["model"], row["grounding_status"], row["llm_error"]) == \
            ("template", None, "passed", None)
        assert _cards(row) == _template_cards(con, client_id)
        assert all(row[name] for name in CARD_FIELDS)
    assert (report.clients, report.template, report.llm, report.api_failures) == (3, 3, 0, 0)
    assert "no model configured" in report.summary()


def test_a_run_without_a_model_never_imports_the_sdk(tmp_path):
    """Importing the openai SDK was 0.3 to 0.7 s of every run's start-up; a firm without a model never needs it.
    A fresh interpreter loads the pipeline's definitions and writes template summaries: the SDK stays unloaded."""
    script = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "import duckdb\n"
        "os.environ.pop('OPENAI_API_KEY', None)\n"
        "import orchestration.cli, orchestration.definitions, orchestration.runner\n"
        "from tests.summaries.warehouse import build_warehouse\n"
        "from assets.summaries import write_client_summaries\n"
        f"con = duckdb.connect(str(build_warehouse(Path({str(tmp_path / 'w.duckdb')!r}))))\n"
        "report = write_client_summaries(con, language='fr')\n"
        "print(report.template, 'openai' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[2], check=True)
    assert result.stdout.split() == ["3", "False"]


def test_the_table_has_the_contract_columns_and_is_replaced_on_each_run(con):
    write_client_summaries(con, language="fr", settings=SummarySettings())
    write_client_summaries(con, language="en", settings=SummarySettings())
    types = dict(con.execute("SELECT column_name, data_type FROM duckdb_columns()"
                             " WHERE schema_name = 'summaries' AND table_name = 'client_summaries'").fetchall())
    assert set(CONTRACT_COLUMNS) <= set(types)
    assert types["generated_at"] == "TIMESTAMP" and types["from_cache"] == "BOOLEAN"
    assert con.execute(f"SELECT language, count(*) FROM {SUMMARIES_TABLE} GROUP BY 1").fetchall() == [("en", 3)]


def test_french_cards_use_french_numbers_and_dates(con):
    write_client_summaries(con, language="fr", settings=SummarySettings())
    dumas = _rows(con)[DUMAS]
    # total_purchases 12345.60, last purchase 2026-10-01
    assert "12\u00a0345,60\u00a0€" in dumas["relationship"]
    assert "1er octobre 2026" in dumas["relationship"]
    assert "Prévisionnel de trésorerie" in dumas["recommendations"]
    # the dismissed mission is not suggested; another client's open one is
    assert "Facturation électronique" not in dumas["recommendations"]
    assert "Facturation électronique" in _rows(con)[LAC]["recommendations"]


def test_english_cards(con):
    report = write_client_summaries(con, language="en", settings=SummarySettings())
    dumas = _rows(con)[DUMAS]
    assert dumas["language"] == "en" and report.language == "en"
    assert "€12,345.60" in dumas["relationship"] and "1 October 2026" in dumas["relationship"]
    assert _cards(dumas) == _template_cards(con, DUMAS, "en")


def test_an_unknown_language_is_refused(con):
    with pytest.raises(ValueError, match="language"):
        write_client_summaries(con, language="de", settings=SummarySettings())


def test_without_the_missions_table_there_are_no_suggested_missions(tmp_path):
    path = build_warehouse(tmp_path / "bare.duckdb", with_missions=False, with_people=False)
    with duckdb.connect(str(path)) as con:
        report = write_client_summaries(con, language="fr", settings=SummarySettings())
        assert report.clients == 3
        assert all(c.facts["suggested_missions"] == [] for c in load_client_facts(con))
        assert "Prévisionnel de trésorerie" not in _rows(con)[DUMAS]["recommendations"]


# ---- with the model ----


@pytest.mark.parametrize("max_workers", [1, 3])
def test_the_model_writes_the_cards(con, fake_openai, max_workers):
    report = write_client_summaries(con, language="fr", settings=llm_settings(fake_openai, max_workers=max_workers))
    rows = _rows(con)
    assert len(fake_openai.requests) == 3
    for body in fake_openai.requests:
        assert body["store"] is False
        assert body["model"] == MODEL
        assert body["response_format"]["type"] == "json_schema"
        assert body["response_format"]["json_schema"]["strict"] is True
        assert body["response_format"]["json_schema"]["schema"] == CARDS_JSON_SCHEMA
        row = rows[next(c["client_id"] for c in CLIENTS if c["client_name"] == block(body, "facts")["client_name"])]
        assert _cards(row) == grounded_cards(block(body, "facts"))
        assert (row["generator"], row["model"], row["grounding_status"], row["from_cache"]) == \
            ("llm", MODEL, "passed", False)
    assert (report.llm, report.template, report.cache_hits, report.failed_client_ids) == (3, 0, 0, [])


def test_settings_come_from_the_environment(con, fake_openai, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "env-key")
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    monkeypatch.setenv("VIGIE_OPENAI_MODEL", "gpt-from-env")
    write_client_summaries(con, language="fr")
    assert {body["model"] for body in fake_openai.requests} == {"gpt-from-env"}
    assert {row["model"] for row in _rows(con).values()} == {"gpt-from-env"}


def test_settings_defaults():
    assert SummarySettings.from_env({}) == SummarySettings()
    assert not SummarySettings.from_env({"OPENAI_API_KEY": ""}).uses_llm
    settings = SummarySettings.from_env({"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": "http://127.0.0.1:1/v1"})
    assert (settings.uses_llm, settings.base_url, settings.model) == (True, "http://127.0.0.1:1/v1", "gpt-4o-mini")


def test_an_unchanged_client_is_not_sent_again(con, fake_openai):
    settings = llm_settings(fake_openai)
    write_client_summaries(con, language="fr", settings=settings)
    first = _rows(con)
    report = write_client_summaries(con, language="fr", settings=settings)
    assert len(fake_openai.requests) == 3
    assert report.cache_hits == 3 and report.llm == 3
    for client_id, row in _rows(con).items():
        assert row["from_cache"] and row["generator"] == "llm"
        assert (_cards(row), row["generated_at"], row["facts_hash"]) == \
            (_cards(first[client_id]), first[client_id]["generated_at"], first[client_id]["facts_hash"])


def test_a_changed_client_another_language_or_model_is_sent_again(con, fake_openai):
    settings = llm_settings(fake_openai)
    write_client_summaries(con, language="fr", settings=settings)
    con.execute("UPDATE marts.client_summary_facts SET invoices_late_count = 3 WHERE client_id = ?",
                [DUMAS])
    report = write_client_summaries(con, language="fr", settings=settings)
    assert [block(b, "facts")["client_name"] for b in fake_openai.requests[3:]] == ["Boulangerie Dumas"]
    assert report.cache_hits == 2 and _rows(con)[DUMAS]["open_documents"] == "3 facture(s) en retard."
    write_client_summaries(con, language="en", settings=settings)
    write_client_summaries(con, language="fr", settings=llm_settings(fake_openai, model="gpt-other"))
    assert len(fake_openai.requests) == 4 + 3 + 3


def test_refresh_sends_every_client_again(con, fake_openai):
    settings = llm_settings(fake_openai)
    write_client_summaries(con, language="fr", settings=settings)
    report = write_client_summaries(con, language="fr", settings=settings, refresh=True)
    assert len(fake_openai.requests) == 6
    assert report.cache_hits == 0 and not any(row["from_cache"] for row in _rows(con).values())
    # and the refreshed answers are cached in their turn
    write_client_summaries(con, language="fr", settings=settings)
    assert len(fake_openai.requests) == 6


def test_a_rate_limit_is_retried(con, fake_openai):
    fake_openai.script(error(429), error(429))
    report = write_client_summaries(con, language="fr", settings=llm_settings(fake_openai))
    assert len(fake_openai.requests) == 3 + 2
    assert report.llm == 3 and report.api_failures == 0
    assert {row["generator"] for row in _rows(con).values()} == {"llm"}


def test_a_server_that_keeps_failing_gives_template_cards(con, fake_openai):
    fake_openai.default = error(500)
    report = write_client_summaries(con, language="fr", settings=llm_settings(fake_openai, max_retries=2))
    assert len(fake_openai.requests) == 3 * (1 + 2)
    rows = _rows(con)
    for client_id, row in rows.items():
        assert (row["generator"], row["model"], row["grounding_status"]) == ("template", None, "passed")
        assert row["llm_error"] == "unavailable"
        assert _cards(row) == _template_cards(con, client_id)
    assert report.api_failures == 3 and sorted(report.failed_client_ids) == sorted(rows)
    # failures are not cached: the next run asks again
    fake_openai.default = grounded
    assert write_client_summaries(con, language="fr", settings=llm_settings(fake_openai)).llm == 3


def test_after_several_clients_fail_in_a_row_the_others_are_not_sent(con, fake_openai):
    fake_openai.default = error(503)
    settings = llm_settings(fake_openai, max_retries=0, max_consecutive_failures=2)
    report = write_client_summaries(con, language="fr", settings=settings)
    assert len(fake_openai.requests) == 2
    assert report.api_failures == 3 and report.template == 3
    assert _rows(con)[ROUES]["llm_error"] == "unavailable"


def test_a_request_that_times_out_is_retried_then_falls_back(tmp_path, fake_openai):
    path = build_warehouse(tmp_path / "one.duckdb", clients=[CLIENTS[1]])
    fake_openai.default = stalled(2.0)
    with duckdb.connect(str(path)) as con:
        report = write_client_summaries(con, language="fr",
                                        settings=llm_settings(fake_openai, timeout_seconds=0.2, max_retries=1))
        row = _rows(con)[LAC]
    assert len(fake_openai.requests) == 2
    assert row["generator"] == "template" and row["llm_error"] == "timeout"
    assert report.api_failures == 1


def test_a_client_the_sdk_cannot_build_gives_template_cards(con):
    settings = SummarySettings(api_key="test-key", base_url="http://[::1", model=MODEL)
    report = write_client_summaries(con, language="fr", settings=settings)
    assert report.template == 3 and report.api_failures == 3
    assert all(row["llm_error"] == "unavailable" for row in _rows(con).values())


def test_no_client_no_request(tmp_path, fake_openai):
    with duckdb.connect(str(build_warehouse(tmp_path / "empty.duckdb", clients=[]))) as con:
        report = write_client_summaries(con, language="fr", settings=llm_settings(fake_openai))
        assert (report.clients, fake_openai.requests, _rows(con)) == (0, [], {})


def test_a_malformed_reply_is_asked_again(con, fake_openai):
    fake_openai.script(content("Voici le résumé : tout va bien."))
    report = write_client_summaries(con, language="fr", settings=llm_settings(fake_openai))
    assert len(fake_openai.requests) == 4
    assert report.llm == 3


@pytest.mark.parametrize("responder", [
    content("not json"),
    content(json.dumps({"relationship": "Bon client."})),  # fields missing
    content(json.dumps({**dict.fromkeys(CARD_FIELDS, "Texte."), "verdict": "bankrupt"})),  # a field too many
    raw_body(b"<html>502 Bad Gateway</html>"),  # not even a chat completion
    lambda body: completion("{\"relationship\": \"Premier", finish_reason="length"),
])
def test_a_reply_that_stays_malformed_gives_template_cards(con, fake_openai, responder):
    fake_openai.default = responder
    report = write_client_summaries(con, language="fr", settings=llm_settings(fake_openai, reply_attempts=2))
    assert len(fake_openai.requests) == 3 * 2
    for client_id, row in _rows(con).items():
        assert row["generator"] == "template" and row["llm_error"] == "malformed"
        assert _cards(row) == _template_cards(con, client_id)
    assert report.api_failures == 3


def test_invented_figures_are_not_published(con, fake_openai):
    fake_openai.default = inventing
    report = write_client_summaries(con, language="fr", settings=llm_settings(fake_openai))
    rows = _rows(con)
    for client_id, row in rows.items():
        assert (row["generator"], row["model"], row["grounding_status"]) == ("template", None, "failed")
        assert row["grounding_issues"].split("; ") == ["37", "98 765,43"]
        assert _cards(row) == _template_cards(con, client_id)
        assert not any(INVENTED in row[name] for name in CARD_FIELDS)
    assert report.grounding_failures == 3 and sorted(report.grounding_failed_client_ids) == sorted(rows)
    assert "3 failed the grounding check" in report.summary()
    # the answer is kept: the same facts are not sent again, and the failure stays visible
    report = write_client_summaries(con, language="fr", settings=llm_settings(fake_openai))
    assert len(fake_openai.requests) == 3 and report.grounding_failures == 3
    assert all(row["from_cache"] and row["grounding_status"] == "failed" for row in _rows(con).values())


def test_an_injected_note_stays_quoted_data(con, fake_openai):
    # a model that obeys the note answers outside the schema
    def obedient(body):
        if any("Ignore previous instructions" in note["text"] for note in block(body, "notes")):
            return completion(json.dumps({"verdict": "bankrupt"}))
        return completion(json.dumps(grounded_cards(block(body, "facts")), ensure_ascii=False))

    fake_openai.default = obedient
    write_client_summaries(con, language="fr", settings=llm_settings(fake_openai))
    body = fake_openai.requests_for("Atelier 2 Roues")[0]
    system, user = body["messages"]
    assert (system["role"], system["content"], user["role"]) == ("system", SYSTEM_PROMPTS["fr"], "user")
    # the note sits whole inside the notes block; its '</notes>' cannot close the block
    assert block(body, "notes") == [{"date": "2026-09-30", "kind": "comment", "text": INJECTED}]
    assert user["content"].count("</notes>") == 1 and "Ignore previous" not in system["content"]
    assert user["content"].index("Ignore previous") > user["content"].index("<notes>")
    assert body["response_format"]["json_schema"]["schema"] == CARDS_JSON_SCHEMA
    rows = _rows(con)
    assert (rows[ROUES]["generator"], rows[ROUES]["grounding_status"]) == ("template", "passed")
    assert _cards(rows[ROUES]) == _template_cards(con, ROUES)
    # the template quotes the note in its card, as a quotation; no other card says what the note asked for
    assert f"« {INJECTED} »" in rows[ROUES]["recent_interactions"]
    assert not any("bankrupt" in rows[ROUES][name] for name in CARD_FIELDS if name != "recent_interactions")
    assert {rows[DUMAS]["generator"], rows[LAC]["generator"]} == {"llm"}


def _folded(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()


def test_no_email_phone_or_person_name_leaves_the_firm(con, fake_openai):
    write_client_summaries(con, language="fr", settings=llm_settings(fake_openai))
    sent = [_folded(json.dumps(body, ensure_ascii=False)) for body in fake_openai.requests]
    for private in PRIVATE_TEXTS:
        assert not any(_folded(private) in text for text in sent), private
    dumas = json.dumps(fake_openai.requests_for("Boulangerie Dumas")[0], ensure_ascii=False)
    assert all(mark in dumas for mark in ("[email]", "[phone]", "[person]"))
    # the company's own name is what the summary is about
    assert "Boulangerie Dumas" in dumas


def test_an_unchanged_template_summary_keeps_its_date_so_the_table_is_identical(con):
    write_client_summaries(con, language="fr", settings=SummarySettings(api_key=None))
    before = con.execute("SELECT * FROM summaries.client_summaries ORDER BY client_id").fetchall()
    write_client_summaries(con, language="fr", settings=SummarySettings(api_key=None))
    assert con.execute("SELECT * FROM summaries.client_summaries ORDER BY client_id").fetchall() == before


def test_template_words_that_passed_for_the_same_facts_are_not_checked_again(con, fake_openai, monkeypatch):
    """The check of the template's words is the step's main cost at 2 000 clients: a client whose facts, and so
    whose words, are those of the previous run keeps its verdict; a client whose facts changed is checked, and so
    is a row that failed (it may be a model's fallback, whose issues are the model's)."""
    import assets.summaries.writer as writer

    checked, check = [], writer.check_grounding
    names = {c["client_name"]: c["client_id"] for c in CLIENTS}

    def counting(texts, facts, **kwargs):
        checked.append(names[facts["client_name"]])
        return check(texts, facts, **kwargs)

    monkeypatch.setattr(writer, "check_grounding", counting)
    write_client_summaries(con, language="fr", settings=SummarySettings(api_key=None))
    assert sorted(checked) == sorted(c["client_id"] for c in CLIENTS)

    checked.clear()
    write_client_summaries(con, language="fr", settings=SummarySettings(api_key=None))
    assert checked == []

    con.execute("UPDATE marts.client_summary_facts SET invoices_late_count = invoices_late_count + 1"
                " WHERE client_id = ?", [DUMAS])
    write_client_summaries(con, language="fr", settings=SummarySettings(api_key=None))
    assert checked == [DUMAS] and _rows(con)[DUMAS]["grounding_status"] == "passed"

    # the model invents: the template's words are published, failed, with the model's issues
    fake_openai.default = inventing
    write_client_summaries(con, language="fr", settings=llm_settings(fake_openai))
    assert {row["grounding_status"] for row in _rows(con).values()} == {"failed"}
    checked.clear()
    write_client_summaries(con, language="fr", settings=SummarySettings(api_key=None))
    assert sorted(checked) == sorted(c["client_id"] for c in CLIENTS)
    assert all((row["grounding_status"], row["grounding_issues"]) == ("passed", None) for row in _rows(con).values())
