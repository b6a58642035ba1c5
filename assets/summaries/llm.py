"""The language model behind the summaries, through the openai SDK's chat completions with structured output.

Transport failures (timeouts, connection errors, 408/409/429/5xx) are retried by the SDK itself, with its
exponential backoff (honouring the server's Retry-After); a reply that is not the five cards is asked again a few
times. Whatever happens, `CardWriter.write` returns a result and never raises: the summaries fall back to the
template for that client.

A failure is kept as one category of ERROR_CATEGORIES, never as the provider's words: an error body may echo the
request, the API key included ("Incorrect API key provided: ..."), and whatever is kept ends up in the warehouse,
the published marts and the logs. `WriteResult.detail` says a little more for the logs (the exception's class and
HTTP status), still without the provider's text."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

from assets.summaries.models import RESPONSE_FORMAT, MalformedReply, SummaryCards, parse_cards
from assets.summaries.prompt import build_messages

if TYPE_CHECKING:
    import openai


def _sdk() -> ModuleType:
    """The openai SDK, imported when a model is first used: a firm without one never needs it, and its import was
    0.3 to 0.7 s of every run's start-up, before the first asset."""
    import openai

    return openai


DEFAULT_MODEL = "gpt-4o-mini"

TIMEOUT, RATE_LIMIT, REFUSED, MALFORMED, UNAVAILABLE = "timeout", "rate_limit", "refused", "malformed", "unavailable"
# timeout: no answer in time; rate_limit: 429 after the retries; refused: 401/403, a content filter or the model's
# refusal, any other 4xx; malformed: a reply that is not the five cards; unavailable: 5xx, connection errors, an
# endpoint that does not exist or a client that cannot be built
ERROR_CATEGORIES = (TIMEOUT, RATE_LIMIT, REFUSED, MALFORMED, UNAVAILABLE)


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
    error: str | None = None  # one of ERROR_CATEGORIES
    request_failed: bool = False  # the API itself failed (as opposed to a reply that was not the cards)
    detail: str | None = None  # for the logs: exception class, HTTP status; never the provider's text


class CardWriter:
    """Writes one client's cards with the configured model; safe to share between threads."""

    def __init__(self, settings: SummarySettings):
        self.settings = settings
        self._client = _sdk().OpenAI(api_key=settings.api_key, base_url=settings.base_url,
                                     timeout=settings.timeout_seconds, max_retries=settings.max_retries)

    def write(self, facts: dict, language: str) -> WriteResult:
        messages = build_messages(facts, language)
        category, problem = MALFORMED, "no attempt"
        for _ in range(max(1, self.settings.reply_attempts)):
            try:
                completion = self._client.chat.completions.create(
                    model=self.settings.model, messages=messages, response_format=RESPONSE_FORMAT,
                    max_completion_tokens=self.settings.max_output_tokens,
                    store=False,  # the firm's client data is not kept by the provider
                )
            except _sdk().OpenAIError as error:
                return WriteResult(None, error_category(error), request_failed=True, detail=_describe(error))
            except ValueError:  # the SDK lets a response body that is not JSON out as a decoding error
                category, problem = MALFORMED, "response body is not JSON"
                continue
            try:
                return WriteResult(_cards(completion))
            except _Refused as refusal:
                category, problem = REFUSED, str(refusal)
            except MalformedReply as error:
                category, problem = MALFORMED, str(error)
        return WriteResult(None, category, detail=problem)

    def close(self) -> None:
        self._client.close()


class _Refused(MalformedReply):
    """The model or the provider's filter declined to answer."""


def _cards(completion) -> SummaryCards:
    choices = getattr(completion, "choices", None)
    if not choices:
        raise MalformedReply(f"reply has no choices ({type(completion).__name__})")
    choice = choices[0]
    if choice.finish_reason == "length":
        raise MalformedReply("reply cut at the token limit")
    if choice.finish_reason == "content_filter":
        raise _Refused("reply stopped by the content filter")
    if choice.message.refusal:
        raise _Refused("the model refused")  # its words stay out of the logs and the tables
    return parse_cards(choice.message.content)


def error_category(error: BaseException) -> str:
    """What kind of failure an exception of the openai SDK is, as one of ERROR_CATEGORIES."""
    openai = _sdk()
    if isinstance(error, openai.APITimeoutError):
        return TIMEOUT
    if isinstance(error, openai.RateLimitError):
        return RATE_LIMIT
    if isinstance(error, openai.APIResponseValidationError):
        return MALFORMED
    if isinstance(error, openai.APIStatusError):
        status = error.status_code
        if status >= 500 or status in (404, 408, 409):
            return UNAVAILABLE
        return REFUSED  # 401, 403, a content filter's 400, any other request the provider turned down
    return UNAVAILABLE  # connection errors, and anything else the SDK raises


def _describe(error: openai.OpenAIError) -> str:
    """The exception's class and HTTP status: never str(error), which quotes the provider's answer."""
    status = getattr(error, "status_code", None)
    return f"{type(error).__name__}{f' (HTTP {status})' if status else ''}"
