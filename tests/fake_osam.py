"""The stand-in prompt model (``model.prompts.stand_in``) served from 127.0.0.1 as osam fetches
weights: each file at its address, and under its SHA-256 at ``/mirror/`` (what a mirror named
by ``OSAM_BLOB_ENDPOINT`` serves). With ``hold_after`` a download sends that many bytes, then
waits until the test sets ``release``: caught in the middle, for progress and Cancel."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from model.prompts.stand_in import register_stand_in


@dataclass
class ServedModel:
    name: str
    """osam's name for the stand-in."""
    base: str
    """http://127.0.0.1:PORT"""
    files: dict[str, Path]
    """The stand-in's files by role, as made (for Load From File)."""
    release: threading.Event = field(default_factory=threading.Event)
    held: threading.Event = field(default_factory=threading.Event)
    """Set when a download reached ``hold_after`` bytes and waits."""
    requests: list[str] = field(default_factory=list)
    direct: bool = True
    """False: the files' own addresses answer 404 (only the mirror has them)."""
    corrupt: bool = False
    """True: every file is served with one byte changed (its SHA-256 is wrong)."""
    hold_after: int | None = None

    @property
    def mirror(self) -> str:
        return f"{self.base}/mirror"


@contextmanager
def serve_stand_in(folder: Path, *, chunk: int = 256, name: str | None = None) -> Iterator[ServedModel]:
    """Register the stand-in with osam (as ``name``: one of the models offered, for the
    command line), its files served from 127.0.0.1 while the block runs; osam's list of
    models is as before afterwards."""
    from osam import apis

    registered = list(apis.registered_model_types)
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    name = register_stand_in(f"{base}/files", folder / "made", *([name] if name else []))
    made = folder / "made"
    files = {role: made / f"stand_in_{role}.onnx" for role in ("encoder", "decoder")}
    served = ServedModel(name, base, files)
    by_path = {}
    for path in files.values():
        data = path.read_bytes()
        by_path[f"/files/{path.name}"] = data
        by_path[f"/mirror/{hashlib.sha256(data).hexdigest()}"] = data

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def _find(self) -> bytes | None:
            path = self.path.split("?")[0]
            served.requests.append(path)
            if path.startswith("/files/") and not served.direct:
                return None
            data = by_path.get(path)
            if data is not None and served.corrupt:
                data = bytes([data[0] ^ 0xFF]) + data[1:]
            return data

        def do_HEAD(self) -> bytes | None:
            """The headers of the file asked for (404 if none); the file's bytes, for GET."""
            data = self._find()
            if data is None:
                self.send_error(404)
                return None
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            return data

        def do_GET(self) -> None:
            data = self.do_HEAD()
            if data is None:
                return
            try:
                for offset in range(0, len(data), chunk):
                    if served.hold_after is not None and offset >= served.hold_after:
                        served.held.set()
                        served.release.wait(timeout=60)  # bounded: a test that forgets still ends
                    self.wfile.write(data[offset : offset + chunk])
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                return  # the client cancelled

    server.RequestHandlerClass = Handler
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        apis.registered_model_types[:] = registered
        served.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
