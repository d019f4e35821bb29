"""A small Hugging Face Hub-compatible HTTP server on 127.0.0.1, for the test suite.

The real ``huggingface_hub`` client is pointed at it (``HF_ENDPOINT``) so that uploads,
downloads, refs and errors go through the client's own code paths without any network.
Standard library only (``http.server``), threaded, HTTP/1.1 keep-alive.

Repos live in memory as git-like commits: every commit has a 40-hex sha, a parent, a message
and a complete map ``path -> blob``. A blob is stored either as a regular git file or as an LFS
file (the server decides per upload, see :attr:`LoopbackHub.upload_mode`). Revisions are
branches, tags, ``refs/pr/N`` or (full or >= 7 characters unique prefix) commit shas.

Test helpers on :class:`LoopbackHub`: a request log (:attr:`~LoopbackHub.requests`,
:meth:`~LoopbackHub.count`), fault injection (:meth:`~LoopbackHub.fail_next`), an outage on the
same port (:meth:`~LoopbackHub.down`), and direct inspection/seeding of repos
(:meth:`~LoopbackHub.repo_state`, :meth:`~LoopbackHub.files`, :meth:`~LoopbackHub.create_repo`,
:meth:`~LoopbackHub.commit`).

Example::

    hub = LoopbackHub().start()
    os.environ["HF_ENDPOINT"] = hub.url      # before huggingface_hub is imported
    ...
    hub.stop()
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import http.server
import itertools
import json
import re
import socket
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator, NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["LoopbackHub", "LoggedRequest", "DEFAULT_NAMESPACE", "UPLOAD_MODES"]

DEFAULT_NAMESPACE = "wzoo-test-user"
UPLOAD_MODES = ("regular", "lfs", "auto")

_API_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
_URL_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}
_PREFIX_TYPES = {"datasets": "dataset", "spaces": "space"}
_SHA_RE = re.compile(r"[0-9a-f]{40}")
_HEX_RE = re.compile(r"[0-9a-f]{7,40}")
_PR_RE = re.compile(r"refs/pr/(\d+)")
_AUTO_LFS_SIZE = 10 * 1024 * 1024  # "auto" mode: files at least this large go to LFS (as on the Hub)
_LFS_UPLOAD_ROUTE = "-/lfs-upload"  # PUT {url}/-/lfs-upload/{type}/{ns}/{name}/{oid}

_GITATTRIBUTES = b"""\
*.bin filter=lfs diff=lfs merge=lfs -text
*.ckpt filter=lfs diff=lfs merge=lfs -text
*.h5 filter=lfs diff=lfs merge=lfs -text
*.npy filter=lfs diff=lfs merge=lfs -text
*.npz filter=lfs diff=lfs merge=lfs -text
*.onnx filter=lfs diff=lfs merge=lfs -text
*.pt filter=lfs diff=lfs merge=lfs -text
*.pth filter=lfs diff=lfs merge=lfs -text
*.safetensors filter=lfs diff=lfs merge=lfs -text
*.tar.gz filter=lfs diff=lfs merge=lfs -text
*.zip filter=lfs diff=lfs merge=lfs -text
"""


class LoggedRequest(NamedTuple):
    """One entry of the request log. ``path`` is the raw request target (query included);
    ``status`` is 0 for a connection dropped on purpose by :meth:`LoopbackHub.fail_next`."""

    method: str
    path: str
    status: int


# --------------------------------------------------------------------------------------------
# Storage model
# --------------------------------------------------------------------------------------------


def _git_blob_sha1(data: bytes) -> str:
    h = hashlib.sha1()
    h.update(b"blob %d\0" % len(data))
    h.update(data)
    return h.hexdigest()


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + ".%03dZ" % int((ts % 1) * 1000)


class Blob:
    """File content plus how it is stored (regular git blob or LFS object)."""

    __slots__ = ("content", "lfs", "size", "sha256", "git_sha1", "pointer")

    def __init__(self, content: bytes, lfs: bool = False):
        self.content = bytes(content)
        self.lfs = bool(lfs)
        self.size = len(self.content)
        self.sha256 = hashlib.sha256(self.content).hexdigest()
        self.pointer = (
            b"version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n"
            % (self.sha256.encode(), self.size)
            if self.lfs
            else b""
        )
        # git oid of what git stores: the pointer file for LFS, the content otherwise
        self.git_sha1 = _git_blob_sha1(self.pointer if self.lfs else self.content)

    @property
    def etag(self) -> str:
        """What the Hub sends as (linked) ETag: sha256 for LFS files, the git blob sha1 otherwise."""
        return self.sha256 if self.lfs else self.git_sha1

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Blob) and (self.content, self.lfs) == (other.content, other.lfs)

    def __hash__(self) -> int:
        return hash((self.sha256, self.lfs))

    def __repr__(self) -> str:
        return f"Blob(size={self.size}, lfs={self.lfs}, sha256={self.sha256[:12]}…)"


@dataclass
class Commit:
    sha: str
    parent: str | None
    title: str
    message: str
    author: str
    date: float
    files: dict[str, Blob]


@dataclass
class Repo:
    repo_type: str
    repo_id: str
    private: bool = False
    created: float = field(default_factory=time.time)
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    prs: dict[int, str] = field(default_factory=dict)
    lfs_objects: dict[str, bytes] = field(default_factory=dict)

    def resolve(self, rev: str) -> str | None:
        """Commit sha for a branch, tag, refs/... name or (prefix of a) sha; None if unknown."""
        if rev in self.branches:
            return self.branches[rev]
        if rev in self.tags:
            return self.tags[rev]
        if rev.startswith("refs/heads/") and rev[11:] in self.branches:
            return self.branches[rev[11:]]
        if rev.startswith("refs/tags/") and rev[10:] in self.tags:
            return self.tags[rev[10:]]
        m = _PR_RE.fullmatch(rev)
        if m and int(m.group(1)) in self.prs:
            return self.prs[int(m.group(1))]
        if _SHA_RE.fullmatch(rev):
            return rev if rev in self.commits else None
        if _HEX_RE.fullmatch(rev):
            found = [sha for sha in self.commits if sha.startswith(rev)]
            return found[0] if len(found) == 1 else None
        return None

    def branch_name(self, rev: str) -> str | None:
        """Name of the writable ref ``rev`` designates (branch or refs/pr/N), else None."""
        if rev in self.branches:
            return rev
        if rev.startswith("refs/heads/") and rev[11:] in self.branches:
            return rev[11:]
        m = _PR_RE.fullmatch(rev)
        if m and int(m.group(1)) in self.prs:
            return rev
        return None

    def head(self, branch: str) -> str:
        m = _PR_RE.fullmatch(branch)
        return self.prs[int(m.group(1))] if m else self.branches[branch]

    def set_head(self, branch: str, sha: str) -> None:
        m = _PR_RE.fullmatch(branch)
        if m:
            self.prs[int(m.group(1))] = sha
        else:
            self.branches[branch] = sha

    def history(self, sha: str) -> list[Commit]:
        out = []
        cur: str | None = sha
        while cur is not None:
            c = self.commits[cur]
            out.append(c)
            cur = c.parent
        return out


class _HubError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, headers=None, extra=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


@dataclass
class _Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering


@dataclass
class _Fault:
    method: str | None
    path_contains: str
    status: int
    remaining: int
    body: bytes
    headers: dict[str, str]

    def matches(self, method: str, raw_path: str) -> bool:
        if self.remaining <= 0:
            return False
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path_contains in raw_path or self.path_contains in unquote(raw_path)


def _json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> _Response:
    h = {"Content-Type": "application/json; charset=utf-8"}
    h.update(headers or {})
    return _Response(status, json.dumps(obj).encode(), h)


def _parse_json(body: bytes) -> Any:
    if not body:
        return {}
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise _HubError(400, f"Invalid JSON body: {e}") from None


def _truthy(value: str | None) -> bool:
    return value is not None and value.strip().lower() in ("1", "true", "yes", "on")


def _front_matter(text: str) -> str | None:
    """The YAML block of a README (between leading '---' lines), or None if there is none."""
    m = re.match(r"^\s*---[ \t]*\r?\n(.*?)(?:\r?\n)?---[ \t]*(?:\r?\n|$)", text, re.S)
    return m.group(1) if m else None


def _load_card_data(text: str) -> tuple[dict | None, str | None]:
    """(metadata, error) of a README's YAML header; PyYAML is optional (no check without it)."""
    block = _front_matter(text)
    if block is None:
        return None, None
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - pyyaml is a dependency of the project
        return None, None
    try:
        data = yaml.safe_load(block)
    except yaml.YAMLError as e:
        return None, f"Invalid YAML in README.md metadata: {e}"
    if data is None:
        return {}, None
    if not isinstance(data, dict):
        return None, "README.md metadata must be a YAML mapping"
    return data, None


# --------------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------------


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    hub: "LoopbackHub"

    def handle_error(self, request, client_address):  # noqa: D401 - stdlib hook
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (OSError, ValueError)):  # resets, closed sockets during down()/stop()
            return
        self.hub._record_error(traceback.format_exc())


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "wzoo-loopback-hub/1.0"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are closed after this
    wbufsize = -1  # buffered: headers and body leave in one write (no Nagle/delayed-ACK stalls)
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.server.hub._track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.hub._untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # silence stderr logging
        pass

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ValueError("connection closed inside a chunked body")
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while True:  # trailers, up to the empty line
                        trailer = self.rfile.readline(65537)
                        if trailer in (b"\r\n", b"\n", b""):
                            break
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline()  # CRLF after the chunk
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        hub = self.server.hub
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            resp = _json_response({"error": "Malformed request body"}, 400)
        else:
            resp = hub._handle(self.command, self.path, self.headers, body)
        hub._log(self.command, self.path, 0 if resp.drop else resp.status)
        if resp.drop:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.send_response(resp.status)
        headers = dict(resp.headers)
        headers.setdefault("Content-Length", str(len(resp.body)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD" and resp.body:
            self.wfile.write(resp.body)
        self.wfile.flush()

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _serve


# --------------------------------------------------------------------------------------------
# The hub
# --------------------------------------------------------------------------------------------


class LoopbackHub:
    """In-memory, Hub-compatible HTTP server on ``host`` (default 127.0.0.1).

    Thread-safe; usable as a context manager (``with LoopbackHub() as hub:``).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, namespace: str = DEFAULT_NAMESPACE):
        self.host = host
        self.port = port
        self.namespace = namespace
        self.upload_mode = "regular"
        self._lock = threading.RLock()
        self._repos: dict[tuple[str, str], Repo] = {}
        self._log_entries: list[LoggedRequest] = []
        self._faults: list[_Fault] = []
        self._errors: list[str] = []
        self._conns: set[socket.socket] = set()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._counter = itertools.count()

    # ---- lifecycle ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:40123`` (stable across :meth:`down`)."""
        if not self.port:
            raise RuntimeError("LoopbackHub has not been started yet")
        return f"http://{self.host}:{self.port}"

    @property
    def is_up(self) -> bool:
        return self._httpd is not None

    def start(self) -> "LoopbackHub":
        """Bind (port 0 = pick a free one the first time, then always the same) and serve."""
        with self._lock:
            if self._httpd is not None:
                return self
            httpd = _HTTPServer((self.host, self.port), _Handler)
            httpd.hub = self
            self.port = httpd.server_address[1]
            self._httpd = httpd
            self._thread = threading.Thread(
                target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name=f"loopback-hub:{self.port}", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Close the listening socket and every open connection (the port is released)."""
        with self._lock:
            httpd, thread = self._httpd, self._thread
            self._httpd = self._thread = None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        with self._lock:
            conns = list(self._conns)
        for conn in conns:  # keep-alive connections would otherwise go on being served
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    @contextmanager
    def down(self) -> Iterator["LoopbackHub"]:
        """Make the server unreachable (connections refused) inside the block, then serve again
        on the SAME port (huggingface_hub reads ``HF_ENDPOINT`` once, at import)."""
        was_up = self.is_up
        self.stop()
        try:
            yield self
        finally:
            if was_up:
                self.start()

    def __enter__(self) -> "LoopbackHub":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _track(self, conn: socket.socket) -> None:
        with self._lock:
            self._conns.add(conn)

    def _untrack(self, conn: socket.socket) -> None:
        with self._lock:
            self._conns.discard(conn)

    # ---- request log, faults, internal errors ---------------------------------------------

    @property
    def requests(self) -> list[LoggedRequest]:
        """Snapshot of the request log: ``LoggedRequest(method, path, status)`` in arrival order."""
        with self._lock:
            return list(self._log_entries)

    def clear_log(self) -> None:
        with self._lock:
            self._log_entries.clear()

    def count(self, method: str | None = None, path_contains: str | None = None, status: int | None = None) -> int:
        """Number of logged requests matching all the given criteria (``path_contains`` is
        matched against the raw and the URL-unquoted path)."""
        n = 0
        for r in self.requests:
            if method is not None and r.method != method.upper():
                continue
            if path_contains is not None and path_contains not in r.path and path_contains not in unquote(r.path):
                continue
            if status is not None and r.status != status:
                continue
            n += 1
        return n

    def _log(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self._log_entries.append(LoggedRequest(method, path, status))

    def fail_next(
        self,
        method: str | None,
        path_contains: str,
        status: int = 500,
        times: int = 1,
        *,
        body: bytes | str | dict | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` requests whose method is ``method`` (None = any) and whose
        path contains ``path_contains`` with ``status`` instead of serving them (the request is
        read, and logged with that status). ``status=0`` drops the connection without answering;
        ``status=-1`` serves the request and then drops the connection (the answer is lost).
        A 2xx status fakes success without doing anything (e.g. an LFS PUT that stores nothing).

        Note: the client retries 408/429/5xx (and dropped connections) on preupload, the LFS
        batch and the LFS PUT with 1, 2, 4, 8, 8 s waits; use a 4xx there for a fast failure.
        The commit POST, HEAD and GET of ``resolve`` are not retried on 5xx.
        """
        if isinstance(body, dict):
            payload = json.dumps(body).encode()
        elif isinstance(body, str):
            payload = body.encode()
        elif body is None:
            payload = b"" if 200 <= status < 300 else json.dumps({"error": f"Injected fault ({status})"}).encode()
        else:
            payload = body
        with self._lock:
            self._faults.append(_Fault(method, path_contains, int(status), int(times), payload, dict(headers or {})))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def pending_faults(self) -> list[tuple[str | None, str, int, int]]:
        """(method, path_contains, status, remaining) of faults not yet used up."""
        with self._lock:
            return [(f.method, f.path_contains, f.status, f.remaining) for f in self._faults if f.remaining > 0]

    @property
    def errors(self) -> list[str]:
        """Tracebacks of exceptions raised inside the server (bugs: they answered 500)."""
        with self._lock:
            return list(self._errors)

    def clear_errors(self) -> None:
        with self._lock:
            self._errors.clear()

    def _record_error(self, tb: str) -> None:
        with self._lock:
            self._errors.append(tb)

    def _take_fault(self, method: str, raw_path: str) -> _Fault | None:
        with self._lock:
            for f in self._faults:
                if f.matches(method, raw_path):
                    f.remaining -= 1
                    return f
            return None

    # ---- direct access for tests -----------------------------------------------------------

    def reset(self) -> None:
        """Drop every repo (the log, faults and upload mode are left alone)."""
        with self._lock:
            self._repos.clear()

    def repo_exists(self, repo_id: str, repo_type: str = "model") -> bool:
        with self._lock:
            return (repo_type, repo_id) in self._repos

    def list_repos(self, repo_type: str | None = None) -> list[str]:
        with self._lock:
            return sorted(rid for (t, rid) in self._repos if repo_type is None or t == repo_type)

    def repo_state(self, repo_id: str, repo_type: str = "model") -> dict[str, Any]:
        """A deep, comparable snapshot of a repo (``==`` tells "unchanged"):
        ``{"branches": {name: sha}, "tags": {name: sha}, "prs": {n: sha},
        "commits": {sha: {"parent", "title", "message", "files": {path: Blob}}}}``.
        Uploaded-but-uncommitted LFS objects are not part of it (see :meth:`lfs_objects`).
        Raises KeyError if the repo does not exist."""
        with self._lock:
            repo = self._repos[(repo_type, repo_id)]
            return {
                "branches": dict(repo.branches),
                "tags": dict(repo.tags),
                "prs": dict(repo.prs),
                "commits": {
                    c.sha: {"parent": c.parent, "title": c.title, "message": c.message, "files": dict(c.files)}
                    for c in repo.commits.values()
                },
            }

    def lfs_objects(self, repo_id: str, repo_type: str = "model") -> set[str]:
        """sha256 of every LFS object PUT to the repo (committed or not)."""
        with self._lock:
            return set(self._repos[(repo_type, repo_id)].lfs_objects)

    def files(self, repo_id: str, revision: str = "main", repo_type: str = "model") -> dict[str, bytes]:
        """``{path: content}`` at a revision. Raises KeyError for an unknown repo or revision."""
        with self._lock:
            repo = self._repos[(repo_type, repo_id)]
            sha = repo.resolve(revision)
            if sha is None:
                raise KeyError(revision)
            return {p: b.content for p, b in repo.commits[sha].files.items()}

    def lfs_files(self, repo_id: str, revision: str = "main", repo_type: str = "model") -> set[str]:
        """Paths stored as LFS files at a revision."""
        with self._lock:
            repo = self._repos[(repo_type, repo_id)]
            sha = repo.resolve(revision)
            if sha is None:
                raise KeyError(revision)
            return {p for p, b in repo.commits[sha].files.items() if b.lfs}

    def commits(self, repo_id: str, revision: str = "main", repo_type: str = "model") -> list[str]:
        """Commit shas reachable from a revision, newest first."""
        with self._lock:
            repo = self._repos[(repo_type, repo_id)]
            sha = repo.resolve(revision)
            if sha is None:
                raise KeyError(revision)
            return [c.sha for c in repo.history(sha)]

    def create_repo(
        self,
        repo_id: str,
        repo_type: str = "model",
        *,
        private: bool = False,
        files: dict[str, bytes | str] | None = None,
        lfs: bool | None = None,
        exist_ok: bool = False,
    ) -> str:
        """Create a repo server-side (no HTTP); optionally commit ``files`` on main. Returns the
        head sha of main."""
        if "/" not in repo_id:
            repo_id = f"{self.namespace}/{repo_id}"
        with self._lock:
            key = (repo_type, repo_id)
            if key not in self._repos:
                self._new_repo(repo_type, repo_id, private)
            elif not exist_ok:
                raise ValueError(f"repo {repo_type}:{repo_id} exists")
            if files:
                return self.commit(repo_id, files, repo_type=repo_type, lfs=lfs)
            return self._repos[key].branches["main"]

    def commit(
        self,
        repo_id: str,
        files: dict[str, bytes | str] | None = None,
        *,
        delete: tuple[str, ...] | list[str] = (),
        message: str = "Commit from the test suite",
        branch: str = "main",
        repo_type: str = "model",
        lfs: bool | None = None,
    ) -> str:
        """Commit server-side (no HTTP). ``lfs``: None = follow :attr:`upload_mode`. Returns the sha."""
        with self._lock:
            repo = self._repos[(repo_type, repo_id)]
            head = repo.head(branch)
            new_files = dict(repo.commits[head].files)
            for p in delete:
                new_files.pop(p, None)
            for p, data in (files or {}).items():
                raw = data.encode() if isinstance(data, str) else bytes(data)
                as_lfs = lfs if lfs is not None else self._decide_mode(repo, head, p, len(raw)) == "lfs"
                if as_lfs and len(raw) > 0:
                    repo.lfs_objects[hashlib.sha256(raw).hexdigest()] = raw
                new_files[p] = Blob(raw, lfs=as_lfs and len(raw) > 0)
            sha = self._make_commit(repo, head, new_files, message, "")
            repo.set_head(branch, sha)
            return sha

    # ---- internals: repos and commits ------------------------------------------------------

    def _new_repo(self, repo_type: str, repo_id: str, private: bool) -> Repo:
        repo = Repo(repo_type=repo_type, repo_id=repo_id, private=private)
        sha = self._make_commit(repo, None, {".gitattributes": Blob(_GITATTRIBUTES)}, "initial commit", "", "system")
        repo.branches["main"] = sha
        self._repos[(repo_type, repo_id)] = repo
        return repo

    def _make_commit(
        self, repo: Repo, parent: str | None, files: dict[str, Blob], title: str, message: str, author: str | None = None
    ) -> str:
        h = hashlib.sha1()
        h.update(f"{repo.repo_type}:{repo.repo_id}\0{parent}\0{next(self._counter)}\0{title}\0{message}\0".encode())
        for path in sorted(files):
            h.update(f"{path}\0{files[path].git_sha1}\0".encode())
        sha = h.hexdigest()
        repo.commits[sha] = Commit(sha, parent, title, message, author or self.namespace, time.time(), files)
        return sha

    def _decide_mode(self, repo: Repo, sha: str | None, path: str, size: int) -> str:
        mode = self.upload_mode
        if mode not in UPLOAD_MODES:
            raise ValueError(f"upload_mode must be one of {UPLOAD_MODES}, not {mode!r}")
        if mode != "auto":
            return mode
        if size >= _AUTO_LFS_SIZE:
            return "lfs"
        attrs = repo.commits[sha].files.get(".gitattributes") if sha else None
        for line in (attrs.content.decode("utf-8", "replace") if attrs else "").splitlines():
            parts = line.split()
            if len(parts) >= 2 and "filter=lfs" in parts[1:]:
                pattern = parts[0]
                target = path if "/" in pattern else path.rsplit("/", 1)[-1]
                if fnmatch.fnmatchcase(target, pattern):
                    return "lfs"
        return "regular"

    def _repo(self, repo_type: str, repo_id: str) -> Repo:
        repo = self._repos.get((repo_type, repo_id))
        if repo is None:
            raise _HubError(404, "Repository not found", "RepoNotFound")
        return repo

    def _sha(self, repo: Repo, rev: str) -> str:
        sha = repo.resolve(rev)
        if sha is None:
            raise _HubError(404, f"Invalid rev id: {rev}", "RevisionNotFound")
        return sha

    def _split_rev(self, repo: Repo, segs: list[str]) -> tuple[str, list[str]]:
        """Split raw URL segments into (revision, path segments). The client quotes the revision
        with safe="" (one segment); an unquoted one with '/' is matched against known refs."""
        if not segs:
            return "main", []
        first = unquote(segs[0])
        if repo.resolve(first) is not None:
            return first, segs[1:]
        for i in range(2, len(segs) + 1):
            cand = "/".join(unquote(s) for s in segs[:i])
            if repo.resolve(cand) is not None:
                return cand, segs[i:]
        return first, segs[1:]

    # ---- internals: HTTP dispatch ----------------------------------------------------------

    def _handle(self, method: str, target: str, headers: Any, body: bytes) -> _Response:
        split = urlsplit(target)
        raw_path = split.path
        fault = self._take_fault(method, target)
        if fault is not None and fault.status == -1:  # served, but the answer never arrives
            self._handle(method, target, headers, body)
            return _Response(drop=True)
        if fault is not None:
            if fault.status == 0:
                return _Response(drop=True)
            h = {"Content-Type": "application/json"} if fault.body else {}
            h.update(fault.headers)
            return _Response(fault.status, fault.body, h)
        try:
            query = parse_qs(split.query, keep_blank_values=True)
            return self._route(method, raw_path, query, headers, body)
        except _HubError as e:
            h = dict(e.headers)
            if e.code:
                h["X-Error-Code"] = e.code
            h["X-Error-Message"] = e.message.encode("ascii", "replace").decode().replace("\n", " ")
            return _json_response({"error": e.message, **e.extra}, e.status, h)
        except Exception:  # a bug in this server: answer 500 and keep the traceback for the test
            self._record_error(traceback.format_exc())
            return _json_response({"error": "Internal error in the loopback hub"}, 500)

    def _route(self, method: str, raw_path: str, query: dict, headers: Any, body: bytes) -> _Response:
        segs = [s for s in raw_path.split("/") if s != ""]
        useg = [unquote(s) for s in segs]
        if not segs:
            return _json_response({"error": "Not found"}, 404)

        if segs[0] == "api":
            return self._route_api(method, segs[1:], useg[1:], query, headers, body)

        if "/".join(segs[:2]) == _LFS_UPLOAD_ROUTE and method == "PUT" and len(useg) == 6:
            api_type, ns, name, oid = useg[2:]
            return self._lfs_put(_API_TYPES.get(api_type, api_type), f"{ns}/{name}", oid, query, body)

        repo_type = "model"
        if useg[0] in _PREFIX_TYPES and len(segs) >= 4 and (segs[3] == "resolve" or segs[2].endswith(".git")):
            repo_type = _PREFIX_TYPES[useg[0]]
            segs, useg = segs[1:], useg[1:]
        if len(segs) >= 3 and segs[2] == "resolve" and method in ("GET", "HEAD"):
            return self._resolve(method, repo_type, f"{useg[0]}/{useg[1]}", segs[3:], headers)
        if len(segs) == 6 and useg[1].endswith(".git") and useg[2:] == ["info", "lfs", "objects", "batch"]:
            if method == "POST":
                return self._lfs_batch(repo_type, f"{useg[0]}/{useg[1][:-4]}", body)
        return _json_response({"error": "Not found"}, 404)

    def _route_api(self, method: str, segs: list[str], useg: list[str], query, headers, body) -> _Response:
        if useg == ["repos", "create"] and method == "POST":
            return self._api_create_repo(_parse_json(body))
        if useg == ["repos", "delete"] and method == "DELETE":
            return self._api_delete_repo(_parse_json(body))
        if useg == ["repos", "move"] and method == "POST":
            return self._api_move_repo(_parse_json(body))
        if useg == ["validate-yaml"] and method == "POST":
            return self._api_validate_yaml(_parse_json(body))
        if useg == ["whoami-v2"] and method == "GET":
            return _json_response(
                {
                    "type": "user",
                    "id": "0" * 24,
                    "name": self.namespace,
                    "fullname": "wzoo test user",
                    "orgs": [],
                    "auth": {"type": "access_token", "accessToken": {"displayName": "wzoo-test", "role": "write"}},
                }
            )
        if len(useg) >= 3 and useg[0] in _API_TYPES:
            repo_type = _API_TYPES[useg[0]]
            repo_id = f"{useg[1]}/{useg[2]}"
            action = useg[3] if len(useg) > 3 else None
            rest = segs[4:]
            with self._lock:
                if action is None and method == "GET":
                    return self._api_info(repo_type, repo_id, "main", query)
                if action == "revision" and method == "GET":
                    repo = self._repo(repo_type, repo_id)
                    rev, _ = self._split_rev(repo, rest)
                    return self._api_info(repo_type, repo_id, rev, query)
                if action == "tree" and method == "GET":
                    return self._api_tree(repo_type, repo_id, rest, query)
                if action == "paths-info" and method == "POST":
                    return self._api_paths_info(repo_type, repo_id, rest, headers, body)
                if action == "refs" and method == "GET":
                    return self._api_refs(repo_type, repo_id, query)
                if action == "commits" and method == "GET":
                    return self._api_commits(repo_type, repo_id, rest)
                if action == "preupload" and method == "POST":
                    return self._api_preupload(repo_type, repo_id, rest, _parse_json(body))
                if action == "commit" and method == "POST":
                    return self._api_commit(repo_type, repo_id, rest, query, body)
                if action == "branch" and method in ("POST", "DELETE"):
                    return self._api_branch(method, repo_type, repo_id, rest, _parse_json(body))
                if action == "tag" and method in ("POST", "DELETE"):
                    return self._api_tag(method, repo_type, repo_id, rest, _parse_json(body))
                if action == "settings" and method == "PUT":
                    return self._api_settings(repo_type, repo_id, _parse_json(body))
        # anything else (/api/agent-harnesses, telemetry, ...) is unknown here
        return _json_response({"error": "Not found"}, 404)

    # ---- repos -----------------------------------------------------------------------------

    def _repo_url(self, repo_type: str, repo_id: str) -> str:
        return f"{self.url}/{_URL_PREFIX[repo_type]}{repo_id}"

    def _api_create_repo(self, payload: dict) -> _Response:
        name = payload.get("name")
        if not isinstance(name, str) or not name or "/" in name:
            raise _HubError(400, "Invalid repo name")
        repo_type = payload.get("type") or "model"
        if repo_type not in _URL_PREFIX:
            raise _HubError(400, f"Invalid repo type: {repo_type}")
        repo_id = f"{payload.get('organization') or self.namespace}/{name}"
        private = bool(payload.get("private")) or payload.get("visibility") == "private"
        url = self._repo_url(repo_type, repo_id)
        with self._lock:
            if (repo_type, repo_id) in self._repos:
                raise _HubError(409, f"You already created this {repo_type} repo", extra={"url": url})
            self._new_repo(repo_type, repo_id, private)
        return _json_response({"url": url, "name": repo_id, "id": repo_id})

    def _api_delete_repo(self, payload: dict) -> _Response:
        repo_type = payload.get("type") or "model"
        repo_id = f"{payload.get('organization') or self.namespace}/{payload.get('name')}"
        with self._lock:
            self._repo(repo_type, repo_id)
            del self._repos[(repo_type, repo_id)]
        return _Response(200)

    def _api_move_repo(self, payload: dict) -> _Response:
        repo_type = payload.get("type") or "model"
        src, dst = payload.get("fromRepo"), payload.get("toRepo")
        with self._lock:
            repo = self._repo(repo_type, src)
            if (repo_type, dst) in self._repos:
                raise _HubError(409, "A repo with this name already exists")
            del self._repos[(repo_type, src)]
            repo.repo_id = dst
            self._repos[(repo_type, dst)] = repo
        return _Response(200)

    def _api_validate_yaml(self, payload: dict) -> _Response:
        _, error = _load_card_data(str(payload.get("content") or ""))
        if error:
            return _json_response({"errors": [{"message": error}], "warnings": []}, 400)
        return _json_response({"errors": [], "warnings": []})

    def _api_settings(self, repo_type: str, repo_id: str, payload: dict) -> _Response:
        repo = self._repo(repo_type, repo_id)
        if "private" in payload:
            repo.private = bool(payload["private"])
        if payload.get("visibility") in ("private", "public"):
            repo.private = payload["visibility"] == "private"
        return _json_response({})

    def _api_info(self, repo_type: str, repo_id: str, rev: str, query: dict) -> _Response:
        repo = self._repo(repo_type, repo_id)
        sha = self._sha(repo, rev)
        commit = repo.commits[sha]
        siblings = []
        for path in sorted(commit.files):
            b = commit.files[path]
            sib: dict[str, Any] = {"rfilename": path, "size": b.size, "blobId": b.git_sha1}
            if b.lfs:
                sib["lfs"] = {"sha256": b.sha256, "size": b.size, "pointerSize": len(b.pointer)}
            siblings.append(sib)
        card = None
        readme = commit.files.get("README.md")
        if readme is not None:
            card, _ = _load_card_data(readme.content.decode("utf-8", "replace"))
        tags = [t for t in (card or {}).get("tags") or [] if isinstance(t, str)]
        info: dict[str, Any] = {
            "_id": hashlib.sha1(f"{repo_type}:{repo_id}".encode()).hexdigest()[:24],
            "id": repo_id,
            "author": repo_id.split("/")[0],
            "sha": sha,
            "lastModified": _iso(commit.date),
            "createdAt": _iso(repo.created),
            "private": repo.private,
            "disabled": False,
            "gated": False,
            "downloads": 0,
            "likes": 0,
            "tags": tags,
            "siblings": siblings,
            "usedStorage": sum(b.size for b in commit.files.values()),
        }
        if repo_type == "model":
            info["modelId"] = repo_id
            if card and isinstance(card.get("library_name"), str):
                info["library_name"] = card["library_name"]
            if card and isinstance(card.get("pipeline_tag"), str):
                info["pipeline_tag"] = card["pipeline_tag"]
        if card:
            info["cardData"] = card
        return _json_response(info)

    # ---- listings --------------------------------------------------------------------------

    @staticmethod
    def _file_entry(path: str, b: Blob) -> dict[str, Any]:
        entry: dict[str, Any] = {"type": "file", "oid": b.git_sha1, "size": b.size, "path": path}
        if b.lfs:
            entry["lfs"] = {"oid": b.sha256, "size": b.size, "pointerSize": len(b.pointer)}
        return entry

    @staticmethod
    def _dir_oid(files: dict[str, Blob], directory: str) -> str:
        h = hashlib.sha1(b"tree\0")
        prefix = directory + "/"
        for p in sorted(files):
            if p.startswith(prefix):
                h.update(f"{p[len(prefix):]}\0{files[p].git_sha1}\0".encode())
        return h.hexdigest()

    def _api_tree(self, repo_type: str, repo_id: str, rest: list[str], query: dict) -> _Response:
        repo = self._repo(repo_type, repo_id)
        rev, path_segs = self._split_rev(repo, rest)
        sha = self._sha(repo, rev)
        files = repo.commits[sha].files
        base = "/".join(unquote(s) for s in path_segs).strip("/")
        recursive = _truthy((query.get("recursive") or ["false"])[0])
        prefix = base + "/" if base else ""
        if base and not any(p.startswith(prefix) for p in files):
            raise _HubError(404, f"{base} does not exist on {rev}", "EntryNotFound", {"X-Repo-Commit": sha})
        dirs: set[str] = set()
        out_files: list[str] = []
        for p in files:
            if not p.startswith(prefix):
                continue
            rel_parts = p[len(prefix) :].split("/")
            if recursive:
                out_files.append(p)
                for i in range(1, len(rel_parts)):
                    dirs.add(prefix + "/".join(rel_parts[:i]))
            elif len(rel_parts) == 1:
                out_files.append(p)
            else:
                dirs.add(prefix + rel_parts[0])
        entries: list[tuple[str, dict]] = [
            (d, {"type": "directory", "oid": self._dir_oid(files, d), "path": d}) for d in dirs
        ]
        entries += [(p, self._file_entry(p, files[p])) for p in out_files]
        entries.sort(key=lambda e: e[0])
        return _json_response([e for _, e in entries])

    def _api_paths_info(self, repo_type: str, repo_id: str, rest: list[str], headers: Any, body: bytes) -> _Response:
        repo = self._repo(repo_type, repo_id)
        rev, _ = self._split_rev(repo, rest)
        sha = self._sha(repo, rev)
        files = repo.commits[sha].files
        if "json" in (headers.get("Content-Type") or ""):
            paths = _parse_json(body).get("paths") or []
        else:
            paths = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).get("paths", [])
        out = []
        for p in paths:
            p = p.strip("/")
            if p in files:
                out.append(self._file_entry(p, files[p]))
            elif any(f.startswith(p + "/") for f in files):
                out.append({"type": "directory", "oid": self._dir_oid(files, p), "path": p})
        return _json_response(out)

    def _api_refs(self, repo_type: str, repo_id: str, query: dict) -> _Response:
        repo = self._repo(repo_type, repo_id)
        data: dict[str, Any] = {
            "branches": [
                {"name": n, "ref": f"refs/heads/{n}", "targetCommit": s} for n, s in sorted(repo.branches.items())
            ],
            "tags": [{"name": n, "ref": f"refs/tags/{n}", "targetCommit": s} for n, s in sorted(repo.tags.items())],
            "converts": [],
        }
        if _truthy((query.get("include_prs") or ["0"])[0]):
            data["pullRequests"] = [
                {"name": f"refs/pr/{n}", "ref": f"refs/pr/{n}", "targetCommit": s} for n, s in sorted(repo.prs.items())
            ]
        else:
            data["pullRequests"] = []
        return _json_response(data)

    def _api_commits(self, repo_type: str, repo_id: str, rest: list[str]) -> _Response:
        repo = self._repo(repo_type, repo_id)
        rev, _ = self._split_rev(repo, rest)
        sha = self._sha(repo, rev)
        return _json_response(
            [
                {
                    "id": c.sha,
                    "title": c.title,
                    "message": c.message,
                    "authors": [{"user": c.author, "avatar": ""}],
                    "date": _iso(c.date),
                }
                for c in repo.history(sha)
            ]
        )

    # ---- refs ------------------------------------------------------------------------------

    def _api_branch(self, method: str, repo_type: str, repo_id: str, rest: list[str], payload: dict) -> _Response:
        repo = self._repo(repo_type, repo_id)
        name = "/".join(unquote(s) for s in rest)
        if not name:
            raise _HubError(400, "Missing branch name")
        if method == "DELETE":
            if name == "main":
                raise _HubError(403, "Cannot delete the default branch")
            if name not in repo.branches:
                raise _HubError(404, f"Branch {name} not found", "RevisionNotFound")
            del repo.branches[name]
            return _Response(200)
        if name.startswith("refs/") or name in repo.tags:
            raise _HubError(400, f"Invalid reference for a branch: {name}")
        if name in repo.branches:
            raise _HubError(409, f"Reference refs/heads/{name} already exists")
        start = payload.get("startingPoint") or "main"
        repo.branches[name] = self._sha(repo, start)
        return _Response(200)

    def _api_tag(self, method: str, repo_type: str, repo_id: str, rest: list[str], payload: dict) -> _Response:
        repo = self._repo(repo_type, repo_id)
        ref = "/".join(unquote(s) for s in rest)
        if method == "DELETE":
            if ref not in repo.tags:
                raise _HubError(404, f"Tag {ref} not found", "RevisionNotFound")
            del repo.tags[ref]
            return _Response(200)
        tag = payload.get("tag")
        if not isinstance(tag, str) or not tag:
            raise _HubError(400, "Missing tag name")
        sha = self._sha(repo, ref or "main")
        if tag in repo.tags:
            raise _HubError(409, f"Tag {tag} already exists")
        repo.tags[tag] = sha
        return _Response(200)

    # ---- uploads ---------------------------------------------------------------------------

    def _api_preupload(self, repo_type: str, repo_id: str, rest: list[str], payload: dict) -> _Response:
        repo = self._repo(repo_type, repo_id)
        rev, _ = self._split_rev(repo, rest)
        sha = self._sha(repo, rev)
        files = repo.commits[sha].files
        out = []
        for f in payload.get("files") or []:
            path = f.get("path")
            if not isinstance(path, str):
                raise _HubError(400, "Invalid preupload payload")
            existing = files.get(path)
            out.append(
                {
                    "path": path,
                    "uploadMode": self._decide_mode(repo, sha, path, int(f.get("size") or 0)),
                    "shouldIgnore": False,
                    "oid": None if existing is None else (existing.sha256 if existing.lfs else existing.git_sha1),
                }
            )
        return _json_response({"files": out, "commitOid": sha})

    def _lfs_batch(self, repo_type: str, repo_id: str, body: bytes) -> _Response:
        payload = _parse_json(body)
        with self._lock:
            repo = self._repo(repo_type, repo_id)
            stored = dict.fromkeys(repo.lfs_objects)
        if payload.get("operation", "upload") != "upload":
            raise _HubError(400, "Only the 'upload' operation is supported by the loopback hub")
        objects = []
        api_type = f"{repo_type}s"
        for obj in payload.get("objects") or []:
            oid, size = obj.get("oid"), obj.get("size")
            if not isinstance(oid, str) or not isinstance(size, int):
                raise _HubError(400, "Invalid LFS batch object")
            entry: dict[str, Any] = {"oid": oid, "size": size}
            if oid not in stored:
                href = f"{self.url}/{_LFS_UPLOAD_ROUTE}/{api_type}/{repo_id}/{oid}?size={size}"
                entry["authenticated"] = True
                entry["actions"] = {"upload": {"href": href, "expires_in": 3600}}
            objects.append(entry)
        return _json_response(
            {"transfer": "basic", "objects": objects, "hash_algo": "sha256"},
            headers={"Content-Type": "application/vnd.git-lfs+json"},
        )

    def _lfs_put(self, repo_type: str, repo_id: str, oid: str, query: dict, body: bytes) -> _Response:
        actual = hashlib.sha256(body).hexdigest()
        if actual != oid:
            raise _HubError(400, f"sha256 mismatch: expected {oid}, got {actual}")
        size = (query.get("size") or [None])[0]
        if size is not None and int(size) != len(body):
            raise _HubError(400, f"size mismatch: expected {size}, got {len(body)}")
        with self._lock:
            self._repo(repo_type, repo_id).lfs_objects[oid] = body
        return _Response(200)

    def _api_commit(self, repo_type: str, repo_id: str, rest: list[str], query: dict, body: bytes) -> _Response:
        repo = self._repo(repo_type, repo_id)
        rev, _ = self._split_rev(repo, rest)
        lines = []
        for raw in body.splitlines():
            if raw.strip():
                try:
                    lines.append(json.loads(raw))
                except json.JSONDecodeError as e:
                    raise _HubError(400, f"Invalid NDJSON line: {e}") from None
        if not lines or lines[0].get("key") != "header":
            raise _HubError(400, "The first line of a commit must be its header")
        header = lines[0].get("value") or {}
        create_pr = _truthy((query.get("create_pr") or ["0"])[0])

        branch = repo.branch_name(rev)
        if branch is None:
            if repo.resolve(rev) is None:
                raise _HubError(404, f"Invalid rev id: {rev}", "RevisionNotFound")
            if not create_pr:
                raise _HubError(400, f"Cannot commit to {rev}: not a branch")
        base = repo.head(branch) if branch is not None else self._sha(repo, rev)
        parent_commit = header.get("parentCommit")
        if parent_commit is not None and parent_commit != base:
            raise _HubError(412, "A commit has happened since. Please refresh and try again.")

        files = dict(repo.commits[base].files)
        for line in lines[1:]:
            key, value = line.get("key"), line.get("value") or {}
            path = value.get("path")
            if not isinstance(path, str) or not path or path.startswith("/"):
                raise _HubError(400, f"Invalid path in commit operation: {path!r}")
            if key == "file":
                content = value.get("content", "")
                if value.get("encoding") == "base64":
                    try:
                        data = base64.b64decode(content, validate=True)
                    except ValueError:
                        raise _HubError(400, f"Invalid base64 content for {path}") from None
                else:
                    data = str(content).encode("utf-8")
                files[path] = Blob(data, lfs=False)
            elif key == "lfsFile":
                oid = value.get("oid")
                data = repo.lfs_objects.get(oid) if isinstance(oid, str) else None
                if data is None:
                    raise _HubError(
                        422, f"LFS object {oid} for {path} was never uploaded (missing LFS PUT?)", "LfsObjectNotFound"
                    )
                if value.get("size") is not None and int(value["size"]) != len(data):
                    raise _HubError(422, f"LFS object {oid} for {path} has size {len(data)}, not {value['size']}")
                files[path] = Blob(data, lfs=True)
            elif key == "deletedFile":
                if path not in files:
                    raise _HubError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
                del files[path]
            elif key == "deletedFolder":
                prefix = path.rstrip("/") + "/"
                doomed = [p for p in files if p.startswith(prefix)]
                if not doomed:
                    raise _HubError(404, f"A folder with this name doesn't exist: {path}", "EntryNotFound")
                for p in doomed:
                    del files[p]
            else:
                raise _HubError(400, f"Unknown commit operation: {key!r}")

        sha = self._make_commit(repo, base, files, str(header.get("summary") or ""), str(header.get("description") or ""))
        pr_url = None
        if create_pr:
            num = max(repo.prs, default=0) + 1
            repo.prs[num] = sha
            pr_url = f"{self._repo_url(repo_type, repo_id)}/discussions/{num}"
        else:
            repo.set_head(branch, sha)  # type: ignore[arg-type]
        return _json_response(
            {
                "success": True,
                "commitOid": sha,
                "commitUrl": f"{self._repo_url(repo_type, repo_id)}/commit/{sha}",
                "pullRequestUrl": pr_url,
            }
        )

    # ---- downloads -------------------------------------------------------------------------

    def _resolve(self, method: str, repo_type: str, repo_id: str, rest: list[str], headers: Any) -> _Response:
        with self._lock:
            repo = self._repo(repo_type, repo_id)
            rev, path_segs = self._split_rev(repo, rest)
            sha = self._sha(repo, rev)
            path = "/".join(unquote(s) for s in path_segs)
            blob = repo.commits[sha].files.get(path)
        if blob is None:
            raise _HubError(404, f"Entry not found: {path}", "EntryNotFound", {"X-Repo-Commit": sha})
        h = {
            "Content-Type": "application/octet-stream",
            "Accept-Ranges": "bytes",
            "X-Repo-Commit": sha,
            "ETag": f'"{blob.etag}"',
        }
        if blob.lfs:
            h["X-Linked-Etag"] = f'"{blob.sha256}"'
            h["X-Linked-Size"] = str(blob.size)
        data = blob.content
        range_header = headers.get("Range")
        if range_header and method == "GET":
            span = self._parse_range(range_header, len(data))
            if span is None:
                h["Content-Range"] = f"bytes */{len(data)}"
                return _Response(416, b"", h)
            start, end = span
            h["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            return _Response(206, data[start : end + 1], h)
        return _Response(200, data, h)

    @staticmethod
    def _parse_range(value: str, total: int) -> tuple[int, int] | None:
        m = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", value)
        if not m or (not m.group(1) and not m.group(2)):
            return None
        if not m.group(1):  # suffix: last N bytes
            n = int(m.group(2))
            return (max(total - n, 0), total - 1) if n > 0 and total > 0 else None
        start = int(m.group(1))
        end = int(m.group(2)) if m.group(2) else total - 1
        if start >= total or end < start:
            return None
        return start, min(end, total - 1)

    def __repr__(self) -> str:
        state = "up" if self.is_up else "down"
        return f"LoopbackHub({self.url if self.port else 'unbound'}, {state}, repos={len(self._repos)})"
