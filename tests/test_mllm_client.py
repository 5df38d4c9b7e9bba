"""Chat client against a real local HTTP server: retries, Retry-After, timeouts, the cache."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

from mllm_data import Answer, ChatServer

from pandaset_build.mllm.client import (
    ChatClient,
    ClientConfig,
    ResponseCache,
    cache_key,
    retry_after_seconds,
)

MESSAGES = [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]


def client(server: ChatServer, cache: Path, **options: Any) -> ChatClient:
    config = ClientConfig(api_base=server.url, model="m", backoff=0.01, **options)
    return ChatClient(config, ResponseCache(cache))


def text_of(body: dict[str, Any]) -> str:
    return body["messages"][0]["content"][0]["text"]


def test_cache_key_covers_model_prompt_images_params_and_run() -> None:
    base = cache_key("m", "p", [b"a", b"b"], {"seed": 0}, "run0")
    assert base == cache_key("m", "p", [b"a", b"b"], {"seed": 0}, "run0")
    others = [
        cache_key("n", "p", [b"a", b"b"], {"seed": 0}, "run0"),
        cache_key("m", "q", [b"a", b"b"], {"seed": 0}, "run0"),
        cache_key("m", "p", [b"b", b"a"], {"seed": 0}, "run0"),
        cache_key("m", "p", [b"a", b"b"], {"seed": 1}, "run0"),
        cache_key("m", "p", [b"a", b"b"], {"seed": 0}, "run1"),
    ]
    assert len({base, *others}) == 6


def test_retry_after_header() -> None:
    assert retry_after_seconds("2") == 2.0
    assert retry_after_seconds("0.5") == 0.5
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a past date


def test_429_retried_honouring_retry_after_then_cached(tmp_path: Path) -> None:
    seen: Counter[str] = Counter()

    def script(body: dict[str, Any]) -> Answer:
        seen[text_of(body)] += 1
        if seen[text_of(body)] == 1:
            return Answer(status=429, headers={"Retry-After": "0.3"})
        return Answer(content="ok")

    with ChatServer(script) as server, client(server, tmp_path) as c:
        start = time.monotonic()
        reply = c.complete("k1", lambda: MESSAGES)
        assert time.monotonic() - start >= 0.3
        assert (reply.content, reply.error, reply.attempts, reply.retries) == (
            "ok",
            None,
            2,
            ["HTTP 429"],
        )
        assert reply.usage["total_tokens"] == 120
        again = c.complete("k1", lambda: MESSAGES)
        assert again.cached and again.content == "ok"
        assert len(server.received) == 2  # the cached reply sent nothing
    assert not list(tmp_path.rglob("*.tmp"))
    assert ResponseCache(tmp_path).get("k1")["content"] == "ok"


def test_timeouts_retried_then_reported_and_not_cached(tmp_path: Path) -> None:
    with ChatServer(lambda body: Answer(content="late", delay=0.6)) as server:
        with client(server, tmp_path, timeout=0.15, max_retries=2) as c:
            reply = c.complete("k", lambda: MESSAGES)
        assert reply.content is None
        assert reply.error == "timeout after 3 attempts"
        assert reply.retries == ["timeout", "timeout"]
        assert c.sent == 3
    assert ResponseCache(tmp_path).get("k") is None


def test_server_errors_retried_client_errors_not(tmp_path: Path) -> None:
    def script(body: dict[str, Any]) -> Answer:
        return Answer(status=503) if text_of(body) == "hi" else Answer(status=400)

    with ChatServer(script) as server, client(server, tmp_path, max_retries=1) as c:
        assert c.complete("a", lambda: MESSAGES).error == "HTTP 503 after 2 attempts"
        bad = [{"role": "user", "content": [{"type": "text", "text": "bad"}]}]
        reply = c.complete("b", lambda: bad)
        assert reply.error.startswith("HTTP 400") and reply.attempts == 1
        assert len(server.received) == 3


def test_api_key_params_and_concurrency_bound(tmp_path: Path) -> None:
    with ChatServer(lambda body: Answer(content="x", delay=0.1)) as server:
        with client(server, tmp_path, api_key="secret", concurrency=3, params={"seed": 7}) as c:
            jobs = [(i, f"k{i}", lambda: MESSAGES) for i in range(9)]
            start = time.monotonic()
            done = dict(c.complete_all(jobs))
            elapsed = time.monotonic() - start
        assert sorted(done) == list(range(9))
        assert elapsed >= 0.3  # 9 requests of 0.1 s, at most 3 at a time
        assert all(h["Authorization"] == "Bearer secret" for h in server.headers)
        assert all(b["seed"] == 7 and b["model"] == "m" for b in server.received)
