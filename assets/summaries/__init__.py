"""Client summaries (domain.md §4, seed 001): five cards per client written from computed facts, by a language
model when one is configured (checked against the facts), else by a deterministic template.

facts.py (what is known and may be sent), prompt.py and models.py (what the model is told and must answer),
llm.py (the openai client), template.py, grounding.py, cache.py, writer.py (the table and the run report)."""

from assets.summaries.llm import SummarySettings
from assets.summaries.writer import SUMMARIES_TABLE, SummaryReport, write_client_summaries

__all__ = ["SUMMARIES_TABLE", "SummaryReport", "SummarySettings", "write_client_summaries"]
