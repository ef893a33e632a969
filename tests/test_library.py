"""The SQLite library on real files: exact round trips, incremental autosave, search with times,
jobs, damaged databases, two threads at once, and a process killed in the middle of editing."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stenogram.core.edits import (
    ChangeText,
    DeleteSegments,
    EditHistory,
    InsertSegment,
    MergeWithNext,
    ReplaceAll,
    SetTimes,
    ShiftTimes,
    SplitSegment,
)
from stenogram.core.formats import read_transcript
from stenogram.core.library import SCHEMA_VERSION, Library, LibraryError
from stenogram.core.transcript import Segment, Transcript

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parent.parent


def real() -> Transcript:
    return read_transcript(DATA / "en_long_librispeech.tiny_en.json")


def test_default_path_is_in_the_data_folder(stenogram_home: Path):
    with Library.open() as lib:
        assert lib.path == stenogram_home / "library.sqlite3"
        assert lib.notice is None
        assert lib.path.exists()


def test_add_and_load_round_trip_exactly(tmp_path: Path):
    t = real()
    with Library(tmp_path / "lib.sqlite3") as lib:
        tid = lib.add_transcript(t, title="Readers")
    with Library(tmp_path / "lib.sqlite3") as lib:
        assert lib.load(tid) == t
        [info] = lib.list_transcripts()
        assert (info.id, info.title, info.segment_count) == (tid, "Readers", len(t.segments))


EDITS = st.one_of(
    st.builds(lambda i, s: ChangeText(i, s), st.integers(0, 15),
              st.sampled_from([" new words here.", "", " Shelley's moon"])),
    st.builds(lambda i, k: SplitSegment(i, word_index=k), st.integers(0, 15), st.integers(1, 6)),
    st.builds(MergeWithNext, st.integers(0, 15)),
    st.builds(DeleteSegments, st.integers(0, 15), st.integers(1, 3)),
    st.builds(lambda i: InsertSegment(i, Segment(0, 0, " inserted")), st.just(0)),
    st.builds(SetTimes, st.integers(0, 15), st.integers(0, 70_000)),
    st.builds(ShiftTimes, st.integers(-500, 500), st.integers(0, 5), st.integers(6, 20)),
    st.builds(ReplaceAll, st.sampled_from(["the", "pound", "words"]), st.just("THE")),
)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(edits=st.lists(EDITS, min_size=1, max_size=10), undos=st.integers(0, 4))
def test_incremental_autosave_matches_the_document_after_any_edits(tmp_path: Path, edits, undos):
    path = tmp_path / f"lib-{time.monotonic_ns()}.sqlite3"
    t = real()
    with Library(path) as lib:
        tid = lib.add_transcript(t)
        history = EditHistory(t)
        lib.attach_autosave(history, tid)
        for edit in edits:
            with contextlib.suppress(ValueError):
                history.push(edit)
        for _ in range(undos):
            history.undo()
        assert lib.load(tid) == t
        assert not lib._conn.execute(
            "SELECT idx FROM segments WHERE transcript_id=? GROUP BY idx HAVING count(*) > 1",
            (tid,)).fetchall()
        lib._conn.execute("INSERT INTO segments_fts(segments_fts) VALUES('integrity-check')")


def test_autosave_can_be_detached(tmp_path: Path):
    t = real()
    with Library(tmp_path / "lib.sqlite3") as lib:
        tid = lib.add_transcript(t)
        history = EditHistory(t)
        stop = lib.attach_autosave(history, tid)
        history.push(ChangeText(0, " saved"))
        stop()
        history.push(ChangeText(1, " not saved"))
        stored = lib.load(tid)
        assert stored.segments[0].text == " saved" and stored.segments[1].text != " not saved"


def test_save_from_two_libraries_never_mixes_states(tmp_path: Path):
    path = tmp_path / "lib.sqlite3"
    with Library(path) as a, Library(path) as b:
        t = real()
        tid = a.add_transcript(t)
        other = b.load(tid)
        EditHistory(other).push(DeleteSegments(0, 3))
        b.save(tid, other)  # a's idea of the saved state is now stale
        EditHistory(t).push(ChangeText(5, " from a"))
        a.save(tid, t)
        assert b.load(tid) == t


def test_search_finds_words_with_their_times(tmp_path: Path):
    t = real()
    with Library(tmp_path / "lib.sqlite3") as lib:
        tid = lib.add_transcript(t, title="Readers")
        lib.add_transcript(read_transcript(DATA / "en_two_speakers.tiny_en.json"), title="Call")
        hits = lib.search("Shelley")
        assert len(hits) == 1
        hit = hits[0]
        seg = t.segments[hit.segment_index]
        word = next(w for w in seg.words if "Shelley" in w.text)
        assert (hit.transcript_id, hit.title, hit.start_ms) == (tid, "Readers", word.start_ms)
        assert hit.segment_start_ms == seg.start_ms and "[Shelley]" in hit.snippet
        assert {h.title for h in lib.search("chicago")} == {"Call"}
        assert lib.search("chica")  # the last word matches as a prefix (search as you type)
        assert lib.search('"(* unbalanced') == []  # query syntax never reaches FTS raw
        # edits are searchable at once, and the old text is gone
        history = EditHistory(t)
        history.changed.connect(lambda _e: lib.save(tid, t))
        history.push(ReplaceAll("Shelley", "Keats"))
        assert lib.search("Shelley") == []
        [keats] = lib.search("keats")
        assert keats.start_ms == word.start_ms  # the replaced word kept its time


def test_job_lifecycle(tmp_path: Path):
    with Library(tmp_path / "lib.sqlite3") as lib:
        job = lib.add_job("/media/a.flac", model="tiny.en", options={"beam_size": 5},
                          media_hash="sha256:ab")
        assert lib.get_job(job).status == "queued"
        lib.update_job(job, status="running")
        tid = lib.add_transcript(real())
        lib.update_job(job, status="done", transcript_id=tid, processing_ms=1234)
        rec = lib.get_job(job)
        assert (rec.status, rec.transcript_id, rec.processing_ms) == ("done", tid, 1234)
        assert rec.started is not None and rec.finished is not None and rec.options == {
            "beam_size": 5}
        failed = lib.add_job("/media/b.flac")
        lib.update_job(failed, status="failed", error="The file is not audio.")
        assert [j.id for j in lib.list_jobs("failed")] == [failed]
        with pytest.raises(LibraryError, match="Unknown job status"):
            lib.update_job(job, status="exploded")  # type: ignore[arg-type]
        with pytest.raises(LibraryError, match="no job 999"):
            lib.update_job(999, status="done")


def test_garbage_database_is_moved_aside_and_a_fresh_one_started(tmp_path: Path):
    path = tmp_path / "library.sqlite3"
    path.write_bytes(b"this is not a database at all" * 100)
    with Library(path) as lib:
        assert lib.notice and "damaged" in lib.notice
        assert lib.add_transcript(real()) == 1
    [aside] = [p for p in tmp_path.iterdir() if ".corrupt-" in p.name]
    assert aside.read_bytes().startswith(b"this is not a database")


def test_damaged_pages_are_detected_at_open(tmp_path: Path):
    path = tmp_path / "library.sqlite3"
    with Library(path) as lib:
        for _ in range(5):
            lib.add_transcript(real())
        lib._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    page = 4096
    for p in range(3, len(data) // page):  # scribble over the middle of the file
        data[p * page + 100 : p * page + 300] = os.urandom(200)
    path.write_bytes(bytes(data))
    with Library(path) as lib:
        assert lib.notice is not None
        assert lib.list_transcripts() == []


def test_a_newer_schema_is_refused_not_destroyed(tmp_path: Path):
    path = tmp_path / "library.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(LibraryError, match="newer Stenogram"):
        Library(path)
    assert path.exists()


def test_worker_thread_and_gui_thread_at_once(tmp_path: Path):
    errors: list[BaseException] = []
    with Library(tmp_path / "lib.sqlite3") as lib:
        t = real()
        tid = lib.add_transcript(t)
        history = EditHistory(t)

        def worker() -> None:
            try:
                for k in range(15):
                    job = lib.add_job(f"/media/{k}.flac")
                    lib.update_job(job, status="running")
                    lib.add_transcript(real())
                    lib.update_job(job, status="done")
            except BaseException as exc:  # reported below; a thread cannot raise into pytest
                errors.append(exc)

        thread = threading.Thread(target=worker)
        thread.start()
        for k in range(40):
            history.push(ChangeText(k % 10, f" edit {k}"))
            lib.save(tid, t)
            lib.search("edit")
        thread.join()
        assert not errors
        assert lib.load(tid) == t
        assert len(lib.list_jobs("done")) == 15 and len(lib.list_transcripts()) == 16


CHILD = """
import sys, time
from stenogram.core.edits import ChangeText, EditHistory
from stenogram.core.formats import read_transcript
from stenogram.core.library import Library
lib = Library(sys.argv[1])
t = lib.load(1)
history = EditHistory(t)
history.changed.connect(lambda _e: lib.save(1, t))
n = 0
while True:
    n += 1
    history.push(ChangeText(n % len(t.segments), f" edit {n}"))
    print(n, flush=True)   # after the save has committed
    time.sleep(0.002)
"""


def test_sigkill_mid_editing_loses_at_most_the_edit_in_flight(tmp_path: Path):
    path = tmp_path / "library.sqlite3"
    with Library(path) as lib:
        lib.add_transcript(real())
    env = {**os.environ, "PYTHONPATH": str(REPO / "app")}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE,
                             text=True, env=env)
    assert child.stdout is not None
    confirmed = 0
    started = None
    for line in child.stdout:  # let it edit for about a second and a half, then kill it
        confirmed = int(line)
        started = started or time.monotonic()
        if time.monotonic() - started > 1.5 and confirmed > 20:
            break
    child.send_signal(signal.SIGKILL)
    child.wait()
    with Library(path) as lib:
        assert lib.notice is None  # it opens cleanly
        texts = [s.text for s in lib.load(1).segments]
    saved = max(int(x.split()[1]) for x in texts if x.startswith(" edit "))
    # every edit the child confirmed is there; at most the one being made when killed is not
    assert saved >= confirmed
    assert saved <= confirmed + 50  # and nothing invented beyond what it could have made


def test_migrations_upgrade_an_older_library_in_place(tmp_path: Path, monkeypatch):
    import stenogram.core.library as library_module

    path = tmp_path / "library.sqlite3"
    t = real()
    with Library(path) as lib:
        tid = lib.add_transcript(t)
    v2 = "ALTER TABLE transcripts ADD COLUMN starred INTEGER NOT NULL DEFAULT 0;"
    monkeypatch.setattr(library_module, "MIGRATIONS", (*library_module.MIGRATIONS, v2))
    monkeypatch.setattr(library_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with Library(path) as lib:
        assert lib._conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
        assert lib._conn.execute("SELECT starred FROM transcripts").fetchall() == [(0,)]
        assert lib.load(tid) == t
