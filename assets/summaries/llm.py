"""The language model behind the summaries, through the openai SDK's chat completions with structured output.

Transport failures (timeouts, connection errors, 408/409/429/5xx) are retried by the SDK itself, with its
exponential backoff (honouring the server's Retry-After); a reply that is not the five cards is asked again a few
times. Whatever happens, `CardWriter.write` returns a result and never raises: the summaries fall back to the
template for that client."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import openai

from assets.summaries.models import RESPONSE_FORMAT, MalformedReply, SummaryCards, parse_cards
from assets.summaries.prompt import build_messages

DEFAULT_MODEL = "gpt-4o-mini"


@dataclass(frozen=True)
class SummarySettings:
    api_key: str | None = None  # none: template cards only
    base_url: str | None = None  # any OpenAI-compatible endpoint; none: the SDK's default
    model: str = DEFAULT_MODEL
    timeout_seconds: float = 60.0  # one HTTP request
    max_retries: int = 3  # the SDK's retries of one request
    reply_attempts: int = 2  # requests per client while the reply is malformed
    max_workers: int = 4  # clients written at the same time
    max_output_tokens: int = 1500
    # after this many clients in a row whose request failed, the others are not sent (the API is down)
    max_consecutive_failures: int = 5

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SummarySettings:
        """OPENAI_API_KEY, OPENAI_BASE_URL and VIGIE_OPENAI_MODEL; empty values count as unset."""
        env = os.environ if environ is None else environ
        return cls(api_key=env.get("OPENAI_API_KEY") or None, base_url=env.get("OPENAI_BASE_URL") or None,
                   model=env.get("VIGIE_OPENAI_MODEL") or DEFAULT_MODEL)

    @property
    def uses_llm(self) -> bool:
        return bool(self.api_key)


@dataclass(frozen=True)
class WriteResult:
    cards: SummaryCards | None
    error: str | None = None
    request_failed: bool = False  # the API itself failed (as opposed to a reply that was not the cards)


class CardWriter:
    """Writes one client's cards with the configured model; safe to share between threads."""

    def __init__(self, settings: SummarySettings):
        self.settings = settings
        self._client = openai.OpenAI(api_key=settings.api_key, base_url=settings.base_url,
                                     timeout=settings.timeout_seconds, max_retries=settings.max_retries)

    def write(self, facts: dict, language: str) -> WriteResult:
        messages = build_messages(facts, language)
        problem = "no attempt"
        for _ in range(max(1, self.settings.reply_attempts)):
            try:
                completion = self._client.chat.completions.create(
                    model=self.settings.model, messages=messages, response_format=RESPONSE_FORMAT,
                    max_completion_tokens=self.settings.max_output_tokens,
                    store=False,  # the firm's client data is not kept by the provider
                )
            except openai.OpenAIError as error:
                return WriteResult(None, _describe(error), request_failed=True)
            except ValueError as error:  # the SDK lets a response body that is not JSON out as a decoding error
                problem = f"response body is not JSON ({error})"
                continue
            try:
                return WriteResult(_cards(completion))
            except MalformedReply as error:
                problem = str(error)
        return WriteResult(None, f"malformed reply: {problem}")

    def close(self) -> None:
        self._client.close()


def _cards(completion) -> SummaryCards:
    choices = getattr(completion, "choices", None)
    if not choices:
        raise MalformedReply(f"reply has no choices ({type(completion).__name__})")
    choice = choices[0]
    if choice.finish_reason == "length":
        raise MalformedReply("reply cut at the token limit")
    if choice.message.refusal:
        raise MalformedReply(f"model refused: {choice.message.refusal[:200]}")
    return parse_cards(choice.message.content)


def _describe(error: openai.OpenAIError) -> str:
    status = getattr(error, "status_code", None)
    return f"{type(error).__name__}{f' (HTTP {status})' if status else ''}: {str(error)[:300]}"
