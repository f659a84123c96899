"""The one way the app runs work off the GUI thread (seggui/jobs.py)."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QThread

from model.errors import SegGUIError
from seggui.controllers.jobs import Jobs


@pytest.fixture
def jobs(qtbot):
    pool = Jobs("test", 2)
    yield pool
    pool.wait(5000)


def test_results_and_errors_come_back_on_the_gui_thread_as_values(qtbot, jobs):
    gui = QThread.currentThread()
    seen = []
    jobs.submit(
        lambda: threading.current_thread().name, lambda r: seen.append(("done", r, QThread.currentThread()))
    )
    jobs.submit(lambda: 1 / 0, print, lambda e: seen.append(("error", e, QThread.currentThread())))
    jobs.submit(
        lambda: (_ for _ in ()).throw(SegGUIError("a.png: broken")),
        print,
        lambda e: seen.append(("error", e, None)),
    )
    qtbot.waitUntil(lambda: len(seen) == 3, timeout=5000)
    done = next(s for s in seen if s[0] == "done")
    assert done[1] != threading.current_thread().name and done[2] is gui  # ran elsewhere, back here
    errors = [s[1] for s in seen if s[0] == "error"]
    assert any(isinstance(e, ZeroDivisionError) for e in errors)
    assert any(isinstance(e, SegGUIError) and "a.png" in str(e) for e in errors)


def test_a_newer_job_of_the_same_key_makes_the_older_result_stale(qtbot, jobs):
    release = threading.Event()
    shown = []
    jobs.submit(lambda: release.wait(5) and "old", shown.append, key="open")
    jobs.submit(lambda: "new", shown.append, key="open")
    qtbot.waitUntil(lambda: shown == ["new"], timeout=5000)
    release.set()
    qtbot.waitUntil(lambda: not jobs._pending, timeout=5000)  # the old result has come back
    assert shown == ["new"]


def test_progress_reaches_the_gui_thread_in_order(qtbot, jobs):
    progress, results = [], []

    def work(report):
        for i in range(1, 4):
            report(i, 3)
        return "ok"

    jobs.submit(work, results.append, on_progress=lambda done, total: progress.append((done, total)))
    qtbot.waitUntil(lambda: results == ["ok"], timeout=5000)
    assert progress == [(1, 3), (2, 3), (3, 3)]


def test_clearing_drops_the_queued_jobs_and_their_callbacks(qtbot):
    jobs = Jobs("one thread", 1)
    started, release = threading.Event(), threading.Event()
    ran = []

    def first() -> None:
        started.set()
        release.wait(5)
        ran.append("first")

    jobs.submit(first, print)
    assert started.wait(5)
    for _ in range(3):
        jobs.submit(lambda: ran.append("queued"), print)
    jobs.clear()
    assert len(jobs._pending) == 1  # only the running job is still waited for
    release.set()
    qtbot.waitUntil(lambda: not jobs._pending, timeout=5000)
    assert ran == ["first"]
