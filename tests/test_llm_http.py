"""The OpenAI-compatible HTTP backend against a small server started here on 127.0.0.1 (stdlib only)."""

from __future__ import annotations

import json
import math
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from plait import PlaitError
from plait.llm import (
    EmptyAnswerError,
    LanguageModelError,
    ModelTimeoutError,
    OpenAICompatibleModel,
    ServerError,
)


def char_logprob(c: str) -> float:
    """The fake server's log-probability of a one-character token."""
    return -1.0 if c in "aeiou" else -0.25


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass

    def do_POST(self):
        server = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        server.requests.append((self.path, body, dict(self.headers)))
        mode = server.mode
        if mode == "error":
            self._send(503, b'{"error": "model is loading, try again"}')
            return
        if mode == "slow":
            time.sleep(0.6)
        if mode == "not json":
            self._send(200, b"<html>proxy error</html>")
            return
        if mode == "no choices":
            self._send(200, json.dumps({"choices": []}).encode())
            return
        if self.path == "/v1/chat/completions":
            content = "" if mode == "empty" else "echo: " + body["messages"][-1]["content"]
            self._send(200, json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode())
            return
        if body.get("echo"):
            prompt = body["prompt"]  # one token per character, the first without a log-probability (as OpenAI)
            lps = None if mode == "no logprobs" else [None] + [char_logprob(c) for c in prompt[1:]]
            logprobs = {"tokens": list(prompt), "token_logprobs": lps, "text_offset": list(range(len(prompt)))}
            self._send(200, json.dumps({"choices": [{"text": prompt, "logprobs": logprobs}]}).encode())
            return
        text = "   " if mode == "empty" else "ok:" + body["prompt"][-3:]
        self._send(200, json.dumps({"choices": [{"text": text}]}).encode())

    def _send(self, status: int, payload: bytes):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        try:
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (the timeout test)
            pass


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.requests = []
    srv.mode = "ok"
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join()


def model(srv, **kw) -> OpenAICompatibleModel:
    host, port = srv.server_address
    return OpenAICompatibleModel(f"http://{host}:{port}/v1", "tiny", **kw)


def test_complete_sends_the_options_and_returns_the_text(server):
    lm = model(server, api_key="sk-test")
    text = lm.complete("Q: abc", max_tokens=5, temperature=0.7, seed=3, grammar='root ::= "x"', stop=["\n"])
    assert text == "ok:abc"
    path, body, headers = server.requests[-1]
    assert path == "/v1/completions"
    assert body == {
        "model": "tiny",
        "prompt": "Q: abc",
        "max_tokens": 5,
        "temperature": 0.7,
        "seed": 3,
        "stop": ["\n"],
        "grammar": 'root ::= "x"',
    }
    assert headers["Authorization"] == "Bearer sk-test"


def test_chat_uses_the_chat_endpoint(server):
    assert model(server).chat([{"role": "user", "content": "hi"}]) == "echo: hi"
    assert server.requests[-1][0] == "/v1/chat/completions"


def test_score_sums_the_completion_tokens_logprobs(server):
    prompt = "The sky is"
    scores = model(server).score(prompt, [" blue", " grey"])
    expected = [sum(char_logprob(c) for c in comp) for comp in (" blue", " grey")]
    assert scores == pytest.approx(expected)
    body = server.requests[-1][1]
    assert body["echo"] is True and body["logprobs"] == 0 and body["prompt"] == prompt + " grey"


def test_server_error_gives_status_and_body(server):
    server.mode = "error"
    with pytest.raises(ServerError, match=r"HTTP 503 .*POST /v1/completions: \{\"error\": \"model is loading") as e:
        model(server).complete("x")
    assert isinstance(e.value, LanguageModelError) and isinstance(e.value, PlaitError)


def test_body_that_is_not_json_is_a_server_error(server):
    server.mode = "not json"
    with pytest.raises(ServerError, match=r"not JSON: '<html>proxy error</html>'"):
        model(server).complete("x")


def test_timeout(server):
    server.mode = "slow"
    with pytest.raises(ModelTimeoutError, match=r"did not answer POST /v1/completions within 0.1 s.*raise timeout="):
        model(server, timeout=0.1).complete("x")


def test_empty_answers(server):
    server.mode = "empty"
    with pytest.raises(
        EmptyAnswerError, match=r"tiny at http://127\.0\.0\.1:\d+ gave an empty answer to POST /v1/comp"
    ):
        model(server).complete("x")
    with pytest.raises(EmptyAnswerError, match=r"empty answer to POST /v1/chat/completions"):
        model(server).chat([{"role": "user", "content": "hi"}])
    server.mode = "no choices"
    with pytest.raises(EmptyAnswerError, match=r"without choices: \{\"choices\": \[\]\}"):
        model(server).complete("x")
    server.mode = "no logprobs"
    with pytest.raises(EmptyAnswerError, match=r"no prompt log-probabilities for ' blue'.*echo=true"):
        model(server).score("sky", [" blue"])


def test_unreachable_server_is_a_server_error():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = srv.server_address[1]
    srv.server_close()  # nothing listens on this port any more
    lm = OpenAICompatibleModel(f"http://127.0.0.1:{port}", "tiny", timeout=5)
    with pytest.raises(ServerError, match=r"cannot reach tiny at http://127\.0\.0\.1:\d+ \(POST /v1/completions\)"):
        lm.complete("x")


def test_endpoint_failures_inside_a_predicate_name_it(server):
    import plait
    from plait.llm import LLMPredicate

    program = (
        'nn(judge, [T], Y, [yes, no]) :: relevant(T, Y).\nnote("the sky is blue").\nkeep :- note(T), relevant(T, yes).'
    )
    net = LLMPredicate(model(server, timeout=0.1), "Relevant? {}\nAnswer:", [" yes", " no"])
    m = plait.Model(program, {"judge": net})
    yes, no = (sum(char_logprob(c) for c in word) for word in (" yes", " no"))
    assert float(m("keep")[0, 0]) == pytest.approx(math.exp(yes) / (math.exp(yes) + math.exp(no)))
    fresh = plait.Model(program, {"judge": LLMPredicate(model(server, timeout=0.1), "Other? {}", [" yes", " no"])})
    server.mode = "error"
    with pytest.raises(ServerError, match=r"network 'judge' of neural predicate relevant/2: tiny at .* HTTP 503"):
        fresh("keep")
    server.mode = "slow"
    with pytest.raises(ModelTimeoutError, match=r"neural predicate relevant/2: tiny at .* within 0.1 s"):
        fresh("keep")
