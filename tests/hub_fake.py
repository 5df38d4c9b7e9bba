"""A local stand-in for the Hugging Face Hub: the endpoints `create_repo` and `upload_folder`
call (validate-yaml, tree, preupload, LFS batch and basic transfer, commit, revision), recording
every request. Its answers follow what `huggingface_hub` expects (its source, version 2.x)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

REPO = r"(?P<repo>[\w.-]+/[\w.-]+)"
LFS_SUFFIXES = (".parquet", ".png", ".jpg", ".jpeg", ".arrow")
LFS_MIN_BYTES = 10 * 2**20


def git_blob_sha1(data: bytes) -> str:
    """The git object id of a blob (what the Hub returns as `oid` of a regular file)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Request:
    method: str
    path: str
    body: Any = None


@dataclass
class Repo:
    private: bool
    files: dict[str, bytes] = field(default_factory=dict)  # path -> content
    lfs: dict[str, str] = field(default_factory=dict)  # path -> sha256 of an LFS file
    commits: list[list[dict[str, Any]]] = field(default_factory=list)

    @property
    def head(self) -> str:
        return hashlib.sha1(json.dumps(len(self.commits)).encode()).hexdigest()


class FakeHub:
    """Threaded HTTP server on 127.0.0.1; `hold_uploads_after(n)` stalls LFS uploads past n."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.repos: dict[str, Repo] = {}
        self.objects: dict[str, bytes] = {}  # LFS storage by sha256
        self.lock = threading.Lock()
        self.stored_limit: int | None = None
        self.release = threading.Event()
        self.held = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeHub:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def hold_uploads_after(self, stored: int | None) -> None:
        """Store the first `stored` LFS uploads; hold every later one without storing it."""
        with self.lock:
            self.stored_limit = stored
            self.held = 0
        if stored is None:
            self.release.set()
        else:
            self.release.clear()

    def calls(self, method: str, pattern: str, since: int = 0) -> list[Request]:
        with self.lock:
            return [
                r
                for r in self.requests[since:]
                if r.method == method and re.fullmatch(pattern, r.path)
            ]

    # ------------------------------------------------------------------ endpoints

    def route(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> Any:
        if method == "POST" and path == "/api/repos/create":
            return self.create_repo(json.loads(body))
        if method == "POST" and path == "/api/validate-yaml":
            return self.validate_yaml(json.loads(body))
        if m := re.fullmatch(rf"/api/datasets/{REPO}/tree/(?P<rev>[^/]+)", path):
            return self.tree(m["repo"])
        if m := re.fullmatch(rf"/api/datasets/{REPO}/revision/(?P<rev>[^/]+)", path):
            return self.revision(m["repo"])
        if m := re.fullmatch(rf"/api/datasets/{REPO}/preupload/(?P<rev>[^/]+)", path):
            return self.preupload(m["repo"], json.loads(body))
        if m := re.fullmatch(rf"/datasets/{REPO}\.git/info/lfs/objects/batch", path):
            return self.lfs_batch(m["repo"], json.loads(body))
        if m := re.fullmatch(r"/lfs-upload/(?P<oid>[0-9a-f]{64})", path):
            return self.lfs_put(m["oid"], body)
        if m := re.fullmatch(rf"/api/datasets/{REPO}/commit/(?P<rev>[^/]+)", path):
            lines = [json.loads(line) for line in body.splitlines() if line.strip()]
            return self.commit(m["repo"], lines)
        return 404, {"error": f"fake hub: no route for {method} {path}"}

    def create_repo(self, payload: dict[str, Any]) -> Any:
        repo_id = f"{payload['organization']}/{payload['name']}"
        url = f"{self.url}/datasets/{repo_id}"
        with self.lock:
            if repo_id in self.repos:  # the Hub's 409 carries the url, which create_repo reads
                return 409, {"error": "You already created this dataset repo", "url": url}
            self.repos[repo_id] = Repo(private=payload.get("visibility") == "private")
        return 200, {"url": url, "name": repo_id}

    def validate_yaml(self, payload: dict[str, Any]) -> Any:
        header = payload["content"].split("---\n")[1]
        try:
            yaml.safe_load(header)
        except yaml.YAMLError as err:
            return 400, {"errors": [{"message": str(err)}], "warnings": []}
        return 200, {"errors": [], "warnings": []}

    def _repo(self, repo_id: str) -> Repo:
        return self.repos[repo_id]

    def tree(self, repo_id: str) -> Any:
        if repo_id not in self.repos:
            return 404, {"error": "Repository not found"}
        repo = self._repo(repo_id)
        entries = []
        for path, content in sorted(repo.files.items()):
            entry = {"type": "file", "path": path, "size": len(content)}
            entry["oid"] = git_blob_sha1(content)
            if path in repo.lfs:
                entry["lfs"] = {"oid": repo.lfs[path], "size": len(content), "pointerSize": 134}
            entries.append(entry)
        return 200, entries

    def revision(self, repo_id: str) -> Any:
        repo = self._repo(repo_id)
        return 200, {"id": repo_id, "sha": repo.head, "private": repo.private, "siblings": []}

    def preupload(self, repo_id: str, payload: dict[str, Any]) -> Any:
        if repo_id not in self.repos:
            return 404, {"error": "Repository not found"}
        repo = self._repo(repo_id)
        files = []
        for f in payload["files"]:
            sample = base64.b64decode(f["sample"])
            lfs = f["path"].endswith(LFS_SUFFIXES) or f["size"] > LFS_MIN_BYTES or b"\0" in sample
            oid = None
            if f["path"] in repo.files:
                content = repo.files[f["path"]]
                oid = repo.lfs[f["path"]] if lfs else git_blob_sha1(content)
            mode = "lfs" if lfs else "regular"
            files.append({"path": f["path"], "uploadMode": mode, "shouldIgnore": False, "oid": oid})
        return 200, {"files": files, "commitOid": repo.head}

    def lfs_batch(self, repo_id: str, payload: dict[str, Any]) -> Any:
        objects = []
        for obj in payload["objects"]:
            entry = {"oid": obj["oid"], "size": obj["size"]}
            if obj["oid"] not in self.objects:
                entry["actions"] = {"upload": {"href": f"{self.url}/lfs-upload/{obj['oid']}"}}
            objects.append(entry)
        return 200, {"transfer": "basic", "objects": objects}

    def lfs_put(self, oid: str, body: bytes) -> Any:
        if hashlib.sha256(body).hexdigest() != oid:
            return 400, {"error": "sha256 mismatch"}
        with self.lock:
            hold = self.stored_limit is not None and len(self.objects) >= self.stored_limit
            if hold:
                self.held += 1
            else:
                self.objects[oid] = body
        if hold:
            self.release.wait()
            return 503, {"error": "fake hub: upload held, then dropped"}
        return 200, {}

    def commit(self, repo_id: str, lines: list[dict[str, Any]]) -> Any:
        repo = self._repo(repo_id)
        ops = lines[1:]
        for op in ops:
            if op["key"] == "lfsFile" and op["value"]["oid"] not in self.objects:
                return 400, {"error": f"LFS object of {op['value']['path']} was never uploaded"}
        with self.lock:
            for op in ops:
                value = op["value"]
                if op["key"] == "file":
                    repo.files[value["path"]] = base64.b64decode(value["content"])
                    repo.lfs.pop(value["path"], None)
                elif op["key"] == "lfsFile":
                    repo.files[value["path"]] = self.objects[value["oid"]]
                    repo.lfs[value["path"]] = value["oid"]
                elif op["key"] == "deletedFile":
                    repo.files.pop(value["path"], None)
                    repo.lfs.pop(value["path"], None)
            repo.commits.append(ops)
        url = f"{self.url}/datasets/{repo_id}/commit/{repo.head}"
        return 200, {"commitUrl": url, "commitOid": repo.head, "success": True}

    # ------------------------------------------------------------------ HTTP

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        if size == 0:
                            self.rfile.readline()
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                body = self._body()
                recorded: Any = None
                if parts.path.endswith("/commit/main"):
                    recorded = [json.loads(line) for line in body.splitlines() if line.strip()]
                elif body and not parts.path.startswith("/lfs-upload/"):
                    recorded = json.loads(body)
                with hub.lock:
                    hub.requests.append(Request(self.command, parts.path, recorded))
                status, payload = hub.route(self.command, parts.path, parse_qs(parts.query), body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                # the client may have been killed while its request was held
                with contextlib.suppress(BrokenPipeError):
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = _serve

        return Handler
