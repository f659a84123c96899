"""A local stand-in for the Hugging Face hub on 127.0.0.1, serving one file.

It answers what the hub client asks of a file: ``HEAD`` with the commit, ETag and size headers,
then ``GET`` (ranges included, so a cancelled download can resume), in chunks. With
``hold_after`` it sends that many bytes, then waits until the test sets ``release``: a download
caught in the middle, for progress and cancellation tests, without timing anything.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@dataclass(frozen=True)
class FakeHub:
    endpoint: str
    release: threading.Event
    """Set it to let a held download go on."""


@contextmanager
def serve_file(
    repo_id: str, filename: str, data: bytes, *, chunk: int = 1 << 20, hold_after: int | None = None
) -> Iterator[FakeHub]:
    """Serve ``data`` as ``{endpoint}/{repo_id}/resolve/main/{filename}``."""
    etag = hashlib.sha256(data).hexdigest()
    release = threading.Event()
    wanted = f"/{repo_id}/resolve/main/{filename}"

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # quiet test output
            return

        def _headers(self, status: int, length: int) -> None:
            self.send_response(status)
            self.send_header("X-Repo-Commit", COMMIT)
            self.send_header("ETag", f'"{etag}"')
            self.send_header("Content-Length", str(length))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()

        def do_HEAD(self) -> None:
            if self.path.split("?")[0] != wanted:
                self.send_error(404)
                return
            self._headers(200, len(data))

        def do_GET(self) -> None:
            if self.path.split("?")[0] != wanted:
                self.send_error(404)
                return
            start = 0
            ranged = self.headers.get("Range")
            if ranged and ranged.startswith("bytes="):
                start = int(ranged[6:].split("-")[0])
            self._headers(206 if start else 200, len(data) - start)
            try:
                for offset in range(start, len(data), chunk):
                    if hold_after is not None and offset >= hold_after:
                        release.wait(timeout=60)  # bounded: a test that forgets still ends
                    self.wfile.write(data[offset : offset + chunk])
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                return  # the client cancelled

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield FakeHub(f"http://127.0.0.1:{server.server_address[1]}", release)
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def safetensors_bytes(state: dict[str, object], folder: Path) -> bytes:
    """``state`` written as a .safetensors file (its bytes)."""
    from safetensors.torch import save_file

    path = folder / "weights.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))  # type: ignore[union-attr]
    return path.read_bytes()
