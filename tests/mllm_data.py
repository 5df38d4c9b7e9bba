"""Test helpers for the MLLM bench: a small bench parquet and a scripted chat-completions server."""

from __future__ import annotations

import hashlib
import io
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from pandaset_build.config import vocab
from pandaset_build.formats.manifest import MANIFEST
from pandaset_build.mllm.views import decode_data_url
from pandaset_build.store.masks import encode_mask

USAGE = {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}


def png_bytes(rng: np.random.Generator, width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def bench_rows(count: int, regions: int = 3, seed: int = 0) -> list[dict[str, Any]]:
    """Rows in the exporter's BENCH layout: random tiny images, labels and boxes."""
    rng = np.random.default_rng(seed)
    width, height = 24, 16
    rows = []
    for i in range(count):
        entries = []
        for r in range(regions):
            x, y = int(rng.integers(0, 12)), int(rng.integers(0, 8))
            mask = np.zeros((height, width), dtype=bool)
            mask[y : y + 6, x : x + 8] = True
            entries.append(
                {
                    "region_id": r + 1,
                    "name": f"thing{r}",
                    "description": "",
                    "category_id": r,
                    "bbox": [float(x), float(y), 8.0, 6.0],
                    "mask": encode_mask(mask) if r == 0 else None,
                    "anchor_distortion": int(rng.integers(0, 15)),
                    "anchor_severity": int(rng.integers(0, 4)),
                    "anchor_score": float(rng.uniform()),
                    "target_distortion": int(rng.integers(0, 15)),
                    "target_severity": int(rng.integers(0, 4)),
                    "target_score": float(rng.uniform()),
                    "comparison": int(rng.integers(0, 5)),
                }
            )
        rows.append(
            {
                "tag": f"img{i}.png",
                "anchor_version": "mixed",
                "target_version": "mixed2",
                "anchor_image": {"bytes": png_bytes(rng, width, height), "path": None},
                "target_image": {"bytes": png_bytes(rng, width, height), "path": None},
                "anchor_image_score": 0.5,
                "target_image_score": 0.4,
                "image_comparison": 0,
                "regions": entries,
            }
        )
    return rows


def write_bench(folder: Path, rows: list[dict[str, Any]], shards: int = 2) -> Path:
    """`folder/data/test-XXXXX-of-YYYYY.parquet` as `split-bench` lays a bench split out."""
    (folder / "data").mkdir(parents=True, exist_ok=True)
    per = -(-len(rows) // shards)
    for s in range(shards):
        part = rows[s * per : (s + 1) * per]
        path = folder / "data" / f"test-{s:05d}-of-{shards:05d}.parquet"
        pq.write_table(pa.Table.from_pylist(part), path)
    manifest = {"layout": "bench", "recipe_hash": "", "scores": {}, "files": {}}
    (folder / MANIFEST).write_text(json.dumps(manifest))
    return folder


def entry(pair: Any, i: int, **changes: Any) -> dict[str, Any]:
    """A correct type (b) answer entry for region i (label names), with fields replaced."""
    r = pair.regions[i]
    out = {
        "index": i,
        "anchor": {
            "distortion": vocab.DISTORTIONS[r.anchor.distortion],
            "severity": r.anchor.severity,
            "score": round(r.anchor.score * 0.8 + 0.1, 4),
        },
        "target": {
            "distortion": vocab.DISTORTIONS[r.target.distortion],
            "severity": r.target.severity,
            "score": round(r.target.score * 0.5 + 0.2, 4),
        },
        "comparison": vocab.COMPARISONS[r.comparison],
    }
    for path, value in changes.items():
        node = out
        *parents, leaf = path.split("__")
        for p in parents:
            node = node[p]
        node[leaf] = value
    return out


@dataclass
class Answer:
    """What the scripted server does with one request."""

    content: str | None = None
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    usage: dict[str, int] = field(default_factory=lambda: dict(USAGE))


def image_hashes(body: dict[str, Any]) -> list[str]:
    """sha256 of each image a request carries, decoded from its data URLs."""
    parts = user_parts(body)
    urls = [p["image_url"]["url"] for p in parts if p["type"] == "image_url"]
    return [hashlib.sha256(decode_data_url(u)).hexdigest() for u in urls]


def user_parts(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The content parts of a request's user turn (after the system message, if any)."""
    return next(m["content"] for m in body["messages"] if m["role"] == "user")


def request_text(body: dict[str, Any]) -> str:
    return "".join(p["text"] for p in user_parts(body) if p["type"] == "text")


class ChatServer:
    """A chat-completions server on 127.0.0.1:<free port> answering from `script(body)`."""

    def __init__(self, script: Callable[[dict[str, Any]], Answer]) -> None:
        self.script = script
        self.received: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.received.append(body)
                    server.headers.append(dict(self.headers))
                answer = (
                    server.script(body)
                    if self.path == "/v1/chat/completions"
                    else Answer(status=404)
                )
                time.sleep(answer.delay)
                payload = {
                    "id": "x",
                    "object": "chat.completion",
                    "model": body.get("model"),
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": answer.content},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": answer.usage,
                }
                data = json.dumps(payload if answer.status == 200 else {"error": "no"}).encode()
                try:
                    self.send_response(answer.status)
                    for k, v in answer.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> ChatServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
