"""OpenAI-compatible chat-completions client: bounded concurrency, retries, an on-disk cache."""

from __future__ import annotations

import email.utils
import hashlib
import json
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx

from pandaset_build.json_types import JsonObject
from pandaset_build.store.atomic import write_bytes_atomic

T = TypeVar("T")
Messages = list[JsonObject]


@dataclass(frozen=True)
class ClientConfig:
    """Where and how to send requests; `params` are extra body fields (temperature, seed, ...)."""

    api_base: str
    model: str
    api_key: str | None = None
    timeout: float = 120.0
    max_retries: int = 4
    concurrency: int = 4
    backoff: float = 1.0  # first retry wait in seconds, doubled at each retry
    max_backoff: float = 60.0  # cap on any wait, Retry-After included
    jitter_seed: int = 0
    params: JsonObject = field(default_factory=dict)


@dataclass
class Reply:
    """The outcome of one request: the answer text, or the error after the last attempt."""

    key: str
    content: str | None
    usage: dict[str, int]
    seconds: float
    attempts: int
    retries: list[str]  # why each retried attempt failed ("HTTP 429", "timeout", ...)
    error: str | None = None
    cached: bool = False


def cache_key(
    model: str,
    text: str,
    images: Iterable[bytes],
    params: JsonObject,
    namespace: str,
    system: str = "",
) -> str:
    """sha256 over the model, the prompt text's hash, the images' hashes, the params and run (and
    the system prompt's hash when there is one)."""
    record = {
        "model": model,
        "prompt": hashlib.sha256(text.encode()).hexdigest(),
        "images": [hashlib.sha256(im).hexdigest() for im in images],
        "params": params,
        "namespace": namespace,
    }
    if system:
        record["system"] = hashlib.sha256(system.encode()).hexdigest()
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


class ResponseCache:
    """One JSON file per answered request, `<folder>/<key[:2]>/<key>.json`, written atomically."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> JsonObject | None:
        """The stored record, or None when absent or unreadable."""
        try:
            return json.loads(self.path(key).read_text())
        except (OSError, ValueError):
            return None

    def put(self, key: str, record: JsonObject) -> None:
        """Write atomically (temporary names are unique per thread, so writers never clash)."""
        write_bytes_atomic(self.path(key), json.dumps(record, sort_keys=True).encode())


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def message_text(message: JsonObject) -> str:
    """The answer text of a chat message whose content is a string or a list of text parts."""
    content = message.get("content")
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content or ""


def usage_counts(body: JsonObject) -> dict[str, int]:
    usage = body.get("usage") or {}
    keys = ("prompt_tokens", "completion_tokens", "total_tokens")
    return {k: int(usage[k]) for k in keys if isinstance(usage.get(k), int | float)}


class ChatClient:
    """Sends chat-completions requests; answered ones are cached and never sent again."""

    def __init__(self, config: ClientConfig, cache: ResponseCache) -> None:
        self.config = config
        self.cache = cache
        headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
        self.http = httpx.Client(headers=headers, timeout=config.timeout)
        self.url = config.api_base.rstrip("/") + "/chat/completions"
        self._rng = random.Random(config.jitter_seed)
        self._lock = threading.Lock()
        self.sent = 0  # HTTP attempts made by this client

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def key(self, text: str, images: Iterable[bytes], namespace: str, system: str = "") -> str:
        return cache_key(self.config.model, text, images, self.config.params, namespace, system)

    def _wait(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.config.max_backoff)
        with self._lock:
            jitter = self._rng.uniform(0.0, 0.5)
        return min(self.config.backoff * 2**attempt * (1 + jitter), self.config.max_backoff)

    def complete(self, key: str, messages: Callable[[], Messages]) -> Reply:
        """The cached reply for `key`, or the reply of a fresh request (cached on success)."""
        record = self.cache.get(key)
        if record is not None:
            return Reply(
                key,
                record["content"],
                record["usage"],
                record["seconds"],
                record["attempts"],
                [],
                cached=True,
            )
        body = {"model": self.config.model, "messages": messages(), **self.config.params}
        start = time.monotonic()
        retries: list[str] = []
        attempt = 0
        while True:
            attempt += 1
            with self._lock:
                self.sent += 1
            retry_after = None
            try:
                response = self.http.post(self.url, json=body)
            except httpx.TimeoutException:
                reason = "timeout"
            except httpx.TransportError as err:
                reason = f"connection error ({type(err).__name__})"
            else:
                code = response.status_code
                if code == 200:
                    return self._answered(key, response, start, attempt, retries)
                reason = f"HTTP {code}"
                if code != 429 and code < 500:
                    error = f"{reason}: {response.text[:200]}"
                    return Reply(key, None, {}, time.monotonic() - start, attempt, retries, error)
                retry_after = retry_after_seconds(response.headers.get("retry-after"))
            if attempt > self.config.max_retries:
                error = f"{reason} after {attempt} attempts"
                return Reply(key, None, {}, time.monotonic() - start, attempt, retries, error)
            retries.append(reason)
            time.sleep(self._wait(attempt - 1, retry_after))

    def _answered(
        self, key: str, response: httpx.Response, start: float, attempts: int, retries: list[str]
    ) -> Reply:
        seconds = time.monotonic() - start
        try:
            body = response.json()
            content = message_text(body["choices"][0]["message"])
        except (ValueError, KeyError, IndexError, TypeError):
            error = f"bad response body: {response.text[:200]}"
            return Reply(key, None, {}, seconds, attempts, retries, error)
        usage = usage_counts(body)
        record = {
            "model": self.config.model,
            "params": self.config.params,
            "content": content,
            "usage": usage,
            "seconds": seconds,
            "attempts": attempts,
            "retries": retries,
            "response": body,
        }
        self.cache.put(key, record)
        return Reply(key, content, usage, seconds, attempts, retries)

    def _tagged(self, tag: T, key: str, messages: Callable[[], Messages]) -> tuple[T, Reply]:
        return tag, self.complete(key, messages)

    def complete_all(
        self, jobs: Iterable[tuple[T, str, Callable[[], Messages]]]
    ) -> Iterator[tuple[T, Reply]]:
        """Replies to (tag, key, messages) jobs as they finish, at most `concurrency` in flight;
        jobs are drawn lazily, so prompts are rendered only shortly before they are sent."""
        limit = max(1, self.config.concurrency)
        with ThreadPoolExecutor(limit) as pool:
            pending: set[Future[tuple[T, Reply]]] = set()
            for tag, key, messages in jobs:
                if len(pending) >= 2 * limit:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    yield from (f.result() for f in done)
                pending.add(pool.submit(self._tagged, tag, key, messages))
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield from (f.result() for f in done)
