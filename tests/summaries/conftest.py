"""A small OpenAI-compatible HTTP server on 127.0.0.1 for the summaries tests: the real openai client talks to it
through base_url. It records every request body and answers from a script (one reply per request, then its
default reply), so a test can make the API fail, stall, answer garbage or invent figures."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import duckdb
import pytest

from assets.summaries import SummarySettings
from tests.summaries.warehouse import build_warehouse

MODEL = "gpt-test"
INVENTED = "Le chiffre d'affaires a progressé de 37 % pour atteindre 98 765,43 €."


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    delay: float = 0.0


Responder = Callable[[dict], Reply]


def block(body: dict, name: str):
    """The JSON quoted between <name> and </name> in the request's user message."""
    user = next(m["content"] for m in body["messages"] if m["role"] == "user")
    return json.loads(re.search(rf"<{name}>\n(.*)\n</{name}>", user, re.DOTALL).group(1))


def completion(content: str, finish_reason: str = "stop") -> Reply:
    payload = {"id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": MODEL,
               "choices": [{"index": 0, "finish_reason": finish_reason, "logprobs": None,
                            "message": {"role": "assistant", "content": content, "refusal": None}}],
               "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
    return Reply(body=json.dumps(payload).encode(), headers={"content-type": "application/json"})


def grounded_cards(facts: dict) -> dict:
    """What a well-behaved model writes: only figures and dates taken from the facts it was sent."""
    relationship, documents = facts["relationship"], facts["open_documents"]
    sales, notes = facts["sales_overview"], facts["recent_interactions"]
    return {
        "relationship": (f"Premier achat le {relationship['first_purchase_date']}, total de "
                         f"{relationship['total_purchases_excl_tax']} € HT." if relationship["first_purchase_date"]
                         else "Aucun achat pour l'instant."),
        "open_documents": f"{documents['invoices_late_count']} facture(s) en retard.",
        "sales_overview": (f"Panier moyen de {sales['average_basket_excl_tax']} €."
                           if sales["average_basket_excl_tax"] is not None else "Pas encore de panier moyen."),
        "recent_interactions": f"{notes['notes_count']} note(s) sur {notes['window_months']} mois.",
        "recommendations": "Faire le point avec le client.",
    }


def grounded(body: dict) -> Reply:
    return completion(json.dumps(grounded_cards(block(body, "facts")), ensure_ascii=False))


def inventing(body: dict) -> Reply:
    cards = grounded_cards(block(body, "facts"))
    cards["sales_overview"] += " " + INVENTED
    return completion(json.dumps(cards, ensure_ascii=False))


def error(status: int) -> Responder:
    # OpenAI sends retry-after-ms: a small one keeps the SDK's retries fast here
    body = json.dumps({"error": {"message": f"scripted {status}", "type": "server_error"}}).encode()
    return lambda _: Reply(status, body, {"content-type": "application/json", "retry-after-ms": "5"})


def error_echoing_key(status: int = 401) -> Responder:
    """What OpenAI answers a wrong key: an error whose message quotes the key the request carried."""
    def reply(_body: dict, authorization: str = "") -> Reply:
        key = authorization.removeprefix("Bearer ")
        body = json.dumps({"error": {"message": f"Incorrect API key provided: {key}. You can find your API key at "
                                                f"https://platform.openai.com/account/api-keys.",
                                     "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}})
        return Reply(status, body.encode(), {"content-type": "application/json"})
    reply.wants_authorization = True
    return reply


def content(text: str) -> Responder:
    return lambda _: completion(text)


def raw_body(data: bytes) -> Responder:
    return lambda _: Reply(200, data, {"content-type": "application/json"})


def stalled(seconds: float) -> Responder:
    return lambda body: replace(grounded(body), delay=seconds)


class FakeOpenAI:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.default: Responder = grounded
        self._script: deque[Responder] = deque()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        # a short poll interval: shutdown() waits for it
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01},
                                        daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/v1"

    def script(self, *responders: Responder) -> None:
        self._script.extend(responders)

    def answer(self, body: dict, authorization: str = "") -> Reply:
        with self._lock:
            self.requests.append(body)
            responder = self._script.popleft() if self._script else self.default
        if getattr(responder, "wants_authorization", False):
            return responder(body, authorization)
        return responder(body)

    def requests_for(self, client_name: str) -> list[dict]:
        return [body for body in self.requests if block(body, "facts")["client_name"] == client_name]

    def start(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            if self.path != "/v1/chat/completions":
                reply = Reply(404, b'{"error": {"message": "not found"}}')
            else:
                reply = fake.answer(body, self.headers.get("authorization", ""))
            time.sleep(reply.delay)
            try:
                self.send_response(reply.status)
                for name, value in {"content-length": str(len(reply.body)), **reply.headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(reply.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (its timeout): nothing to answer

        def log_message(self, *args) -> None:
            pass

    return Handler


@pytest.fixture
def fake_openai():
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


def llm_settings(fake: FakeOpenAI, **overrides) -> SummarySettings:
    """Settings for the fake server, one client at a time (the order of requests is the clients' order)."""
    values = {"api_key": "test-key", "base_url": fake.base_url, "model": MODEL, "timeout_seconds": 5.0,
              "max_retries": 2, "reply_attempts": 2, "max_workers": 1, "max_consecutive_failures": 0}
    return SummarySettings(**{**values, **overrides})


@pytest.fixture
def warehouse_path(tmp_path):
    return build_warehouse(tmp_path / "vigie.duckdb")


@pytest.fixture
def con(warehouse_path):
    connection = duckdb.connect(str(warehouse_path))
    yield connection
    connection.close()
