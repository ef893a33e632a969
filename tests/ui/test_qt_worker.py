"""The one background-work helper: ordering, delivery, cancel, failures, shutdown."""

from __future__ import annotations

import threading
import time

from stenogram.ui.qt_worker import IO_LANE, QtWorker


def test_an_instant_task_still_reaches_slots_connected_after_submit(qtbot):
    worker = QtWorker()
    results = []
    for i in range(20):  # an idle worker must not finish before the caller connects
        task = worker.run(lambda _p, _c, i=i: i * 2, lane=IO_LANE)
        task.succeeded.connect(results.append)
    qtbot.waitUntil(lambda: len(results) == 20, timeout=5000)
    assert results == [i * 2 for i in range(20)]
    assert worker.shutdown()


def test_progress_and_result_arrive_in_the_gui_thread(qtbot):
    worker = QtWorker()
    main, seen = threading.get_ident(), []

    def work(progress, _cancel):
        for k in range(5):
            progress(k / 4)
            time.sleep(0.06)
        return threading.get_ident()

    task = worker.run(work)
    task.progress.connect(lambda f: seen.append((f, threading.get_ident() == main)))
    with qtbot.waitSignal(task.succeeded, timeout=5000) as blocker:
        pass
    assert blocker.args[0] != main  # it ran elsewhere
    assert seen and all(on_main for _f, on_main in seen)
    assert [f for f, _ in seen] == sorted(f for f, _ in seen) and seen[-1][0] == 1.0
    assert worker.shutdown()


def test_a_failure_is_reported_and_the_next_task_runs(qtbot):
    worker = QtWorker()
    failed = worker.run(lambda _p, _c: 1 / 0)
    ok = worker.run(lambda _p, _c: "next")
    errors, results = [], []
    failed.failed.connect(errors.append)
    ok.succeeded.connect(results.append)
    qtbot.waitUntil(lambda: results == ["next"], timeout=5000)
    assert isinstance(errors[0], ZeroDivisionError)
    assert worker.shutdown()


def test_cancel_stops_a_running_task_and_shutdown_cancels_the_rest(qtbot):
    worker = QtWorker()

    def long(_p, cancel):
        while not cancel.wait(0.01):
            pass
        raise RuntimeError("stopped")

    running = worker.run(long)
    queued = worker.run(lambda _p, _c: "never")
    outcomes = []
    running.cancelled.connect(lambda: outcomes.append("cancelled"))
    queued.succeeded.connect(lambda _r: outcomes.append("ran"))
    qtbot.waitUntil(lambda: worker.busy, timeout=5000)
    queued.cancel()  # a queued task that is cancelled never runs
    running.cancel()
    qtbot.waitUntil(lambda: outcomes == ["cancelled"], timeout=5000)
    qtbot.wait(100)
    assert outcomes == ["cancelled"]
    blocker = worker.run(long)
    qtbot.waitUntil(lambda: worker.busy, timeout=5000)
    assert worker.shutdown(timeout_s=5)  # cancels the running task and ends the threads
    assert blocker.cancel_event.is_set()
