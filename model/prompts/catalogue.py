"""The promptable models SegGUI offers, as osam names them, and their weights on this machine:
whether they are here, fetching them (progress, Cancel, mirrors through ``OSAM_BLOB_ENDPOINT``)
and taking files a user downloaded themselves."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import threading
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from model.errors import SegGUIError

MIRROR_VARIABLE = "OSAM_BLOB_ENDPOINT"
"""osam fetches the weights from these mirrors (comma-separated, each serving a file under its
SHA-256) before or instead of their home address ("direct")."""


@dataclass(frozen=True)
class PromptModelInfo:
    """A promptable model as the window offers it."""

    name: str
    """osam's name for it."""
    title: str
    parameters: str
    advice: str


PROMPT_MODELS: tuple[PromptModelInfo, ...] = (
    PromptModelInfo("efficientsam:10m", "EfficientSAM 10m", "10 million", "the default: fastest"),
    PromptModelInfo("efficientsam:latest", "EfficientSAM 30m", "30 million", "larger, slower"),
    PromptModelInfo("sam2:tiny", "SAM 2.1 tiny", "39 million", "for a GPU or a patient CPU"),
    PromptModelInfo("sam2:small", "SAM 2.1 small", "46 million", "for a GPU or a patient CPU"),
    PromptModelInfo("sam2:latest", "SAM 2.1 base+", "81 million", "for a GPU"),
    PromptModelInfo("sam2:large", "SAM 2.1 large", "224 million", "for a GPU"),
)
DEFAULT_MODEL = "efficientsam:10m"


@dataclass(frozen=True)
class DownloadProgress:
    """How far a download is: file ``number`` of ``files`` (its ``role``), its bytes so far and
    in all (None until the server says)."""

    role: str
    number: int
    files: int
    done: int
    total: int | None


class DownloadCancelled(SegGUIError):
    """The user cancelled a download; nothing of it is left in the cache."""


def model_info(name: str) -> PromptModelInfo:
    """The offered model ``name``, or a stand-in registered for tests and benchmarks."""
    for info in PROMPT_MODELS:
        if info.name == name:
            return info
    model_type(name)  # raises for an unknown name
    return PromptModelInfo(name, name, "unknown", "")


def model_type(name: str):
    """osam's model class for ``name`` (a SegGUIError naming the choices for an unknown one)."""
    from osam import apis

    _osam_logs_to_logging()
    try:
        return apis.get_model_type_by_name(name)
    except ValueError as exc:
        offered = ", ".join(info.name for info in PROMPT_MODELS)
        raise SegGUIError(f"no prompt model {name!r}; the models are {offered}") from exc


_forwarding: list[int] = []


def _osam_logs_to_logging() -> None:
    """Send osam's log lines (it logs with loguru, to the stderr it found at import) to Python's
    logging as the "osam" logger, where SegGUI's log goes: a download's retries are then in the
    log, never written to a stream that has since closed."""
    if _forwarding:
        return
    from loguru import logger

    forward = logging.getLogger("osam")

    def sink(message) -> None:
        record = message.record
        forward.log(max(record["level"].no, logging.DEBUG), "%s", record["message"])

    logger.remove()
    _forwarding.append(logger.add(sink, level="INFO", format="{message}"))


def licence(name: str) -> tuple[str, str]:
    """The licence of ``name``'s weights: its name (SPDX where osam has it) and its address."""
    metadata = model_type(name).metadata
    return metadata.license_spdx or metadata.license_name, metadata.license_url


def blobs(name: str) -> dict[str, object]:
    """``name``'s weight files as osam describes them (``url``, ``hash``, ``path``), by role."""
    return dict(model_type(name)._blobs)


def is_cached(name: str) -> bool:
    """All of ``name``'s weights are in osam's cache (then prompts need no network)."""
    return model_type(name).get_size() is not None


def cached_bytes(name: str) -> int | None:
    return model_type(name).get_size()


def download_bytes(name: str, timeout: float = 5.0) -> int | None:
    """The size of ``name``'s weights as the first mirror (or their home) announces it, or None
    when it does not say; OSError when it cannot be reached in ``timeout`` seconds."""
    total = 0
    for blob in blobs(name).values():
        url = _first_source(blob.url, blob.hash)
        request = urllib.request.Request(url, method="HEAD")
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
        if length is None or not length.isdigit():
            return None
        total += int(length)
    return total


def _first_source(url: str, digest: str) -> str:
    endpoints = [e.strip() for e in os.environ.get(MIRROR_VARIABLE, "").split(",") if e.strip()]
    if not endpoints or endpoints[0] == "direct":
        return url
    return f"{endpoints[0].rstrip('/')}/{digest.split(':', 1)[-1]}"


def download(
    name: str,
    progress: Callable[[DownloadProgress], None] | None = None,
    cancel: threading.Event | None = None,
    timeout: float = 30.0,
) -> None:
    """Fetch ``name``'s weights into osam's cache, each checked against its SHA-256, with
    ``progress`` told of each file's bytes; a set ``cancel`` stops it
    and leaves no part behind (DownloadCancelled). A failure says why and the two ways round."""
    from osam.types._blob import PullCancelledError

    files = list(blobs(name).items())

    def report(index: int, role: str) -> Callable[[str, int, int | None], None]:
        def on_bytes(_file: str, so_far: int, total: int | None) -> None:
            if progress is not None:
                progress(DownloadProgress(role, index + 1, len(files), so_far, total))

        return on_bytes

    try:
        for index, (role, blob) in enumerate(files):
            blob.pull(progress=report(index, role), cancel=cancel, timeout=timeout)
    except PullCancelledError as exc:
        raise DownloadCancelled(f"The download of {model_info(name).title} was cancelled.") from exc
    except Exception as exc:  # osam and gdown raise RuntimeError, OSError, AssertionError (SHA)
        if cancel is not None and cancel.is_set():
            raise DownloadCancelled(f"The download of {model_info(name).title} was cancelled.") from exc
        raise download_failure(name, exc) from exc


class DownloadFailed(SegGUIError):
    """The weights could not be fetched: ``reason`` (the network's words) and ``ways_round``."""

    def __init__(self, name: str, reason: str) -> None:
        self.reason = reason
        self.ways_round = (
            f"Two ways round: set {MIRROR_VARIABLE} to a mirror that serves the files under their "
            "SHA-256 and start SegGUI again, or download the files yourself ("
            + ", ".join(blob.url for blob in blobs(name).values())
            + ") and choose Model > Prompt Model > Load From File."
        )
        super().__init__(f"Cannot download {model_info(name).title}: {reason}\n\n{self.ways_round}")


def download_failure(name: str, error: BaseException) -> DownloadFailed:
    """Why ``name``'s weights could not be fetched, and the two ways round."""
    return DownloadFailed(name, " ".join(str(error).split()) or type(error).__name__)


def load_from_files(name: str, paths: Sequence[Path]) -> list[str]:
    """Put the files among ``paths`` whose SHA-256 is one of ``name``'s weights into osam's
    cache (copied, then renamed into place); returns the roles still missing. A file that is
    none of them is refused with its checksum, and nothing is copied."""
    wanted = {blob.hash.split(":", 1)[-1]: (role, blob) for role, blob in blobs(name).items()}
    found = {}
    for path in paths:
        digest = _sha256(Path(path))
        if digest not in wanted:
            raise SegGUIError(
                f"{path}: not a file of {model_info(name).title} (its SHA-256 is {digest}; "
                f"the model's files have {', '.join(sorted(wanted))})"
            )
        found[digest] = Path(path)
    for digest, path in found.items():
        _role, blob = wanted[digest]
        target = Path(blob.path)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, staging = tempfile.mkstemp(prefix=f".{target.name[:24]}.", dir=target.parent)
        os.close(handle)
        try:
            shutil.copyfile(path, staging)
            os.replace(staging, target)
        finally:
            if os.path.exists(staging):
                os.remove(staging)
    return [role for role, blob in blobs(name).items() if not Path(blob.path).exists()]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as file:
            for block in iter(lambda: file.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise SegGUIError(f"{path}: cannot read it ({exc.strerror or exc})") from exc
    return digest.hexdigest()
