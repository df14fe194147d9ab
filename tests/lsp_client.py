"""A minimal Language Server Protocol client for the tests and the benchmark: JSON-RPC
messages framed with ``Content-Length`` headers over a subprocess's stdin/stdout, as an
editor talks to ``b03lint server``.

A reader thread collects every message the server sends: responses wake the request that
waits for them, notifications are kept in order (:meth:`Client.wait_for` looks for one),
and the server's own requests (``client/registerCapability``,
``window/workDoneProgress/create``) are answered with ``null`` as a client would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

#: how long a test waits for the server by default (a loaded machine is slow; nothing
#: here measures speed)
TIMEOUT = 120.0


def server_command() -> list[str]:
    """The installed console script beside this interpreter, else ``python -m b03lint``."""
    script = Path(sys.executable).parent / "b03lint"
    if script.is_file():
        return [str(script), "server"]
    return [sys.executable, "-m", "b03lint", "server"]


def file_uri(path: Path) -> str:
    return path.resolve().as_uri()


class ServerGone(AssertionError):
    """The server exited or closed its output while the client waited."""


class Client:
    def __init__(self, cwd: Path, args: Sequence[str] = (), env: dict[str, str] | None = None,
                 command: Sequence[str] | None = None):
        self.proc = subprocess.Popen(
            [*(command or server_command()), *args], cwd=cwd, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**os.environ, **(env or {})})
        self.next_id = 0
        self.lock = threading.Condition()
        self.responses: dict[int, dict[str, Any]] = {}
        #: every notification received, in order, with its arrival (time.perf_counter())
        self.notifications: list[tuple[float, dict[str, Any]]] = []
        self.closed = False
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.stderr_text = ""
        self.stderr_reader = threading.Thread(target=self._drain_stderr, daemon=True)
        self.stderr_reader.start()

    # ------------------------------------------------------------------ wire

    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        try:
            while True:
                length = None
                while True:
                    line = out.readline()
                    if not line:
                        return
                    line = line.strip()
                    if not line:
                        break
                    name, _, value = line.decode("ascii").partition(":")
                    if name.lower() == "content-length":
                        length = int(value.strip())
                if length is None:
                    continue
                message = json.loads(out.read(length).decode("utf-8"))
                arrived = time.perf_counter()
                if "id" in message and "method" in message:  # a request of the server
                    self._send({"id": message["id"], "result": None})
                    continue
                with self.lock:
                    if "id" in message:
                        self.responses[int(message["id"])] = message
                    else:
                        self.notifications.append((arrived, message))
                    self.lock.notify_all()
        finally:
            with self.lock:
                self.closed = True
                self.lock.notify_all()

    def _drain_stderr(self) -> None:
        err = self.proc.stderr
        assert err is not None
        for chunk in iter(lambda: err.read(4096), b""):
            self.stderr_text += chunk.decode("utf-8", "replace")

    # ------------------------------------------------------------------ api

    def notify(self, method: str, params: Any) -> float:
        """Send a notification; returns when it was sent (time.perf_counter())."""
        sent = time.perf_counter()
        self._send({"method": method, "params": params})
        return sent

    def request(self, method: str, params: Any, timeout: float = TIMEOUT) -> Any:
        with self.lock:
            self.next_id += 1
            ident = self.next_id
        self._send({"id": ident, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        with self.lock:
            while ident not in self.responses:
                if self.closed:
                    raise ServerGone(f"{method}: the server closed: {self.stderr_text}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{method}: no response in {timeout} s")
                self.lock.wait(left)
            response = self.responses.pop(ident)
        if "error" in response:
            raise AssertionError(f"{method}: {response['error']}")
        return response.get("result")

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool], after: int = 0,
                 timeout: float = TIMEOUT) -> tuple[int, float, dict[str, Any]]:
        """The first notification from index ``after`` on that ``predicate`` accepts:
        (its index, its arrival time, the message)."""
        deadline = time.monotonic() + timeout
        with self.lock:
            seen = after
            while True:
                while seen < len(self.notifications):
                    arrived, message = self.notifications[seen]
                    if predicate(message):
                        return seen, arrived, message
                    seen += 1
                if self.closed:
                    raise ServerGone(f"the server closed: {self.stderr_text}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no such notification in {timeout} s; got "
                                       f"{[m.get('method') for _, m in self.notifications]}")
                self.lock.wait(left)

    def diagnostics(self, uri: str, after: int = 0, timeout: float = TIMEOUT,
                    where: Callable[[list[dict[str, Any]]], bool] = lambda _d: True
                    ) -> tuple[int, list[dict[str, Any]]]:
        """The next ``publishDiagnostics`` of ``uri`` (from notification ``after`` on) whose
        diagnostics ``where`` accepts: (its index, the diagnostics)."""
        index, _at, message = self.wait_for(
            lambda m: m.get("method") == "textDocument/publishDiagnostics"
            and m["params"]["uri"] == uri and where(m["params"]["diagnostics"]),
            after, timeout)
        return index, list(message["params"]["diagnostics"])

    def count(self) -> int:
        with self.lock:
            return len(self.notifications)

    # ------------------------------------------------------------------ session

    def initialize(self, root: Path, watch: bool = True) -> dict[str, Any]:
        result = self.request("initialize", {
            "processId": os.getpid(),
            "rootUri": file_uri(root),
            "workspaceFolders": [{"uri": file_uri(root), "name": root.name}],
            "capabilities": {
                "general": {"positionEncodings": ["utf-16"]},
                "workspace": {"didChangeWatchedFiles": {"dynamicRegistration": watch}},
                "textDocument": {
                    "publishDiagnostics": {"relatedInformation": True,
                                           "codeDescriptionSupport": True},
                    "hover": {"contentFormat": ["markdown", "plaintext"]},
                    "codeAction": {"codeActionLiteralSupport": {"codeActionKind": {
                        "valueSet": ["quickfix"]}}},
                    "synchronization": {"didSave": True},
                },
            },
        })
        self.notify("initialized", {})
        assert isinstance(result, dict)
        return result

    def open(self, path: Path, text: str, version: int = 1) -> float:
        return self.notify("textDocument/didOpen", {"textDocument": {
            "uri": file_uri(path), "languageId": "python", "version": version,
            "text": text}})

    def change(self, path: Path, text: str, version: int) -> float:
        """The whole new text (a full-document change, which every client may send)."""
        return self.notify("textDocument/didChange", {
            "textDocument": {"uri": file_uri(path), "version": version},
            "contentChanges": [{"text": text}]})

    def close(self) -> int:
        """``shutdown`` then ``exit``; the server's exit code."""
        try:
            self.request("shutdown", None, timeout=30)
            self.notify("exit", None)
            return self.proc.wait(timeout=30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()


def apply_edits(text: str, edits: list[dict[str, Any]]) -> str:
    """``text`` with LSP ``TextEdit``s made (positions in UTF-16 units of ``text``), as an
    editor applies a code action's edit."""
    lines = text.split("\n")

    def offset(pos: dict[str, int]) -> int:
        line = pos["line"]
        if line >= len(lines):
            return len(text)
        before = sum(len(x) + 1 for x in lines[:line])
        units = 0
        col = 0
        for ch in lines[line]:
            if units >= pos["character"]:
                break
            units += 2 if ord(ch) > 0xFFFF else 1
            col += 1
        return before + col

    spans = sorted(((offset(e["range"]["start"]), offset(e["range"]["end"]), e["newText"])
                    for e in edits), reverse=True)
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text
