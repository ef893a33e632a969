"""The library: every job and transcript in one SQLite database, searchable, saved as you edit.

* stdlib sqlite3 in WAL mode, ``synchronous=NORMAL``: a committed save survives a SIGKILL of
  the process (the WAL is in the OS's hands), so saving on every edit loses nothing but the
  edit in flight. Saves are incremental: only segments that changed are written (segments
  are immutable, so "changed" is an identity test against what was saved last).
* Schema version in ``PRAGMA user_version``, upgraded by ``MIGRATIONS`` in order.
* A database that fails its check at open is moved aside (``library.sqlite3.corrupt-<time>``)
  and a fresh one started; ``Library.notice`` holds the sentence to show the user.
* One connection per thread (a worker and the GUI thread can use one Library at once); writes
  take ``BEGIN IMMEDIATE`` and wait on each other through SQLite's busy timeout.
* WAL checkpoints run on a background thread (automatic checkpoints are off), so the save
  after an edit never pays for copying the log back into the database.
* Full-text search with FTS5 over segment text, returning transcript, segment and time.
"""

from __future__ import annotations

import gc
import json
import re
import sqlite3
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from stenogram.core.edits import EditHistory
from stenogram.core.library_schema import MIGRATIONS, SCHEMA_VERSION, statements
from stenogram.core.transcript import Segment, Transcript, Word, utc_now

JobStatus = Literal["queued", "running", "done", "failed", "cancelled"]
JOB_STATUSES: tuple[str, ...] = ("queued", "running", "done", "failed", "cancelled")
BUSY_TIMEOUT_MS = 10_000  # how long a writer waits for another one before giving up
SEARCH_WINDOW = 2_000  # matches ranked per search (the most recent ones)
SNIPPET_WORDS = 12  # words of context in a search hit's snippet
MIN_PREFIX_CHARS = 3  # a shorter last word matches whole words only, or "s" would match all
CHECKPOINT_INTERVAL_S = 1.0  # copy the WAL back into the database at most this often



class LibraryError(RuntimeError):
    """The library cannot do what was asked; the message is meant for the user."""


@dataclass(frozen=True, slots=True)
class JobRecord:
    id: int
    media_path: str
    media_hash: str | None
    status: str
    error: str | None
    model: str | None
    options: dict[str, Any]
    media_duration_ms: int | None
    processing_ms: int | None
    created: datetime
    started: datetime | None
    finished: datetime | None
    transcript_id: int | None


@dataclass(frozen=True, slots=True)
class TranscriptInfo:
    id: int
    title: str | None
    media_path: str | None
    language: str | None
    model: str | None
    duration_ms: int | None
    segment_count: int
    created: datetime
    modified: datetime


@dataclass(frozen=True, slots=True)
class SearchHit:
    transcript_id: int
    segment_index: int
    start_ms: int  # of the first matching word when word timings exist, else of the segment
    segment_start_ms: int
    segment_end_ms: int
    snippet: str  # the segment text around the match, matches in [brackets]
    title: str | None


def _now() -> str:
    return utc_now().isoformat()


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _segment_row(seg: Segment) -> tuple[Any, ...]:
    words = json.dumps([[w.start_ms, w.end_ms, w.text, w.probability] for w in seg.words],
                       ensure_ascii=False, separators=(",", ":"))
    return (seg.start_ms, seg.end_ms, seg.text, seg.speaker, seg.avg_logprob,
            seg.no_speech_prob, seg.compression_ratio, json.dumps(sorted(seg.flags)), words)


def _segment_from_row(row: Sequence[Any]) -> Segment:
    start, end, text, speaker, logprob, nospeech, ratio, flags, words = row
    return Segment(start, end, text, tuple(Word(*w) for w in json.loads(words)), speaker,
                   logprob, nospeech, ratio, frozenset(json.loads(flags)))


_SEGMENT_COLUMNS = ("start_ms, end_ms, text, speaker, avg_logprob, no_speech_prob, "
                    "compression_ratio, flags, words")
_INSERT_SEGMENT = (f"INSERT INTO segments (transcript_id, idx, {_SEGMENT_COLUMNS}) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
_UPDATE_SEGMENT = ("UPDATE segments SET start_ms=?, end_ms=?, text=?, speaker=?, avg_logprob=?, "
                   "no_speech_prob=?, compression_ratio=?, flags=?, words=? "
                   "WHERE transcript_id=? AND idx=?")


class Library:
    """The user's library. Open with ``Library.open()``; close when done (or use ``with``)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.notice: str | None = None  # a message for the user, e.g. about a damaged database
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.RLock()
        self._closed = False
        self._checkpointer: threading.Thread | None = None
        self._last_checkpoint = 0.0
        # What each transcript looked like when this process last saved or loaded it.
        self._saved: dict[int, tuple[int, tuple[Segment, ...]]] = {}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._open_checked()

    @classmethod
    def open(cls, path: str | Path | None = None) -> Library:
        if path is None:
            from stenogram.core.paths import library_path

            path = library_path()
        return cls(path)

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- connections and schema ---------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                               timeout=BUSY_TIMEOUT_MS / 1000)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA wal_autocheckpoint=0")  # see _after_write
        with self._lock:
            self._connections.append(conn)
        return conn

    @property
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise LibraryError("The library has been closed.")
            conn = self._local.conn = self._connect()
        return conn

    def _open_checked(self) -> None:
        try:
            self._check_and_migrate()
        except sqlite3.DatabaseError as exc:
            self._close_all()
            aside = self._move_aside()
            self.notice = (f"The library database was damaged ({exc}). It was kept as "
                           f"{aside.name} and a new, empty library was started.")
            self._check_and_migrate()

    def _check_and_migrate(self) -> None:
        conn = self._conn
        result = conn.execute("PRAGMA quick_check").fetchall()
        if result != [("ok",)]:
            raise sqlite3.DatabaseError("; ".join(str(r[0]) for r in result[:3]))
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise LibraryError(f"{self.path} was made by a newer Stenogram (schema {version}, "
                               f"this one knows {SCHEMA_VERSION}); update Stenogram to open it.")
        for target in range(version + 1, SCHEMA_VERSION + 1):
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in statements(MIGRATIONS[target - 1]):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {target}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def _move_aside(self) -> Path:
        stamp = utc_now().strftime("%Y%m%dT%H%M%S%f")
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        self.path.replace(aside)
        for suffix in ("-wal", "-shm"):  # the WAL belongs to the damaged file: keep it with it
            side = self.path.with_name(self.path.name + suffix)
            if side.exists():
                side.replace(aside.with_name(aside.name + suffix))
        return aside

    def _close_all(self) -> None:
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.join()
        self._close_all()
        self._closed = True

    def _after_write(self) -> None:
        """Start a background checkpoint when the last one is a while ago: saves stay fast and
        the WAL stays small."""
        now = time.monotonic()
        if now - self._last_checkpoint < CHECKPOINT_INTERVAL_S:
            return
        with self._lock:
            if self._checkpointer is not None and self._checkpointer.is_alive():
                return
            self._last_checkpoint = now
            self._checkpointer = threading.Thread(target=self._checkpoint, daemon=True,
                                                  name="library-checkpoint")
            self._checkpointer.start()

    def _checkpoint(self) -> None:
        try:  # its own short-lived connection: it must not join the per-thread pool
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000)
            try:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            finally:
                conn.close()
        except sqlite3.Error:
            pass  # the next write tries again; a failed checkpoint loses nothing

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        self._after_write()

    # --- transcripts ------------------------------------------------------------------------

    def add_transcript(self, transcript: Transcript, *, title: str | None = None,
                       media_hash: str | None = None) -> int:
        with self._lock, self._write() as conn:
            cur = conn.execute(
                "INSERT INTO transcripts (title, media_path, media_hash, language, model, "
                "options, duration_ms, created, modified) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (title, transcript.media_path, media_hash, transcript.language, transcript.model,
                 json.dumps(transcript.options), transcript.duration_ms,
                 transcript.created.isoformat(), transcript.modified.isoformat()))
            tid = int(cur.lastrowid or 0)
            self._insert_segments(conn, tid, 0, transcript.segments)
            self._saved[tid] = (0, tuple(transcript.segments))
        return tid

    def save(self, transcript_id: int, transcript: Transcript) -> None:
        """Save the transcript's current state in one transaction, writing only the segments
        that changed since this process last saved or loaded it."""
        with self._lock, self._write() as conn:
            row = conn.execute("SELECT revision FROM transcripts WHERE id=?",
                               (transcript_id,)).fetchone()
            if row is None:
                raise LibraryError(f"There is no transcript {transcript_id} in the library.")
            revision = row[0]
            new = tuple(transcript.segments)
            cached = self._saved.get(transcript_id)
            if cached is not None and cached[0] == revision:
                self._write_changes(conn, transcript_id, cached[1], new)
            else:  # saved elsewhere meanwhile, or never seen: rewrite it all
                conn.execute("DELETE FROM segments WHERE transcript_id=?", (transcript_id,))
                self._insert_segments(conn, transcript_id, 0, new)
            conn.execute(
                "UPDATE transcripts SET media_path=?, language=?, model=?, options=?, "
                "duration_ms=?, modified=?, revision=? WHERE id=?",
                (transcript.media_path, transcript.language, transcript.model,
                 json.dumps(transcript.options), transcript.duration_ms,
                 transcript.modified.isoformat(), revision + 1, transcript_id))
            self._saved[transcript_id] = (revision + 1, new)

    def attach_autosave(self, history: EditHistory, transcript_id: int) -> Callable[[], None]:
        """Save the history's transcript after every push, undo and redo; returns a function
        that stops it. (Each save is one small transaction: see ``save``.)"""

        def on_change(_event: object) -> None:
            self.save(transcript_id, history.transcript)

        history.changed.connect(on_change)
        return lambda: history.changed.disconnect(on_change)

    def _write_changes(self, conn: sqlite3.Connection, tid: int, old: tuple[Segment, ...],
                       new: tuple[Segment, ...]) -> None:
        if len(old) == len(new):  # edits in place: rewrite just the rows that differ
            rows = [(*_segment_row(n), tid, i) for i, (o, n) in enumerate(zip(old, new,
                                                                              strict=True))
                    if o is not n]
            conn.executemany(_UPDATE_SEGMENT, rows)
            return
        prefix = 0
        limit = min(len(old), len(new))
        while prefix < limit and old[prefix] is new[prefix]:
            prefix += 1
        suffix = 0
        while (suffix < limit - prefix
               and old[len(old) - 1 - suffix] is new[len(new) - 1 - suffix]):
            suffix += 1
        old_stop, new_stop = len(old) - suffix, len(new) - suffix
        conn.execute("DELETE FROM segments WHERE transcript_id=? AND idx>=? AND idx<?",
                     (tid, prefix, old_stop))
        if new_stop != old_stop:
            conn.execute("UPDATE segments SET idx = idx + ? WHERE transcript_id=? AND idx>=?",
                         (new_stop - old_stop, tid, old_stop))
        self._insert_segments(conn, tid, prefix, new[prefix:new_stop])

    @staticmethod
    def _insert_segments(conn: sqlite3.Connection, tid: int, first: int,
                         segments: Sequence[Segment]) -> None:
        conn.executemany(_INSERT_SEGMENT, ((tid, first + i, *_segment_row(s))
                                           for i, s in enumerate(segments)))

    def load(self, transcript_id: int) -> Transcript:
        conn = self._conn
        conn.execute("BEGIN")  # one consistent snapshot of the header and its segments
        try:
            head = conn.execute(
                "SELECT media_path, language, model, options, duration_ms, created, modified, "
                "revision FROM transcripts WHERE id=?", (transcript_id,)).fetchone()
            if head is None:
                raise LibraryError(f"There is no transcript {transcript_id} in the library.")
            rows = conn.execute(f"SELECT {_SEGMENT_COLUMNS} FROM segments WHERE transcript_id=? "
                                "ORDER BY idx", (transcript_id,)).fetchall()
        finally:
            conn.execute("COMMIT")
        media_path, language, model, options, duration, created, modified, revision = head
        with _gc_paused():  # tens of thousands of new objects: a collection midway only costs
            segments = [_segment_from_row(r) for r in rows]
        t = Transcript(segments=segments, language=language, media_path=media_path, model=model,
                       options=json.loads(options), duration_ms=duration,
                       created=datetime.fromisoformat(created),
                       modified=datetime.fromisoformat(modified))
        with self._lock:
            self._saved[transcript_id] = (revision, tuple(segments))
        return t

    def list_transcripts(self) -> list[TranscriptInfo]:
        rows = self._conn.execute(
            "SELECT t.id, t.title, t.media_path, t.language, t.model, t.duration_ms, "
            "(SELECT count(*) FROM segments s WHERE s.transcript_id = t.id), t.created, "
            "t.modified FROM transcripts t ORDER BY t.modified DESC, t.id DESC").fetchall()
        return [TranscriptInfo(*r[:7], datetime.fromisoformat(r[7]),
                               datetime.fromisoformat(r[8])) for r in rows]

    def delete_transcript(self, transcript_id: int) -> None:
        with self._lock, self._write() as conn:
            conn.execute("DELETE FROM transcripts WHERE id=?", (transcript_id,))
            self._saved.pop(transcript_id, None)

    def set_title(self, transcript_id: int, title: str | None) -> None:
        with self._write() as conn:
            conn.execute("UPDATE transcripts SET title=? WHERE id=?", (title, transcript_id))

    # --- search ---------------------------------------------------------------------------

    def search(self, query: str, limit: int = 50) -> list[SearchHit]:
        """Segments holding every word of ``query``, best first. The last word also matches as
        a prefix (search as you type). Ranking looks at the ``SEARCH_WINDOW`` most recent
        matches, so a word found everywhere still answers in milliseconds."""
        fts = _fts_query(query)
        if fts is None:
            return []
        conn = self._conn
        ranked = conn.execute(
            "SELECT rowid FROM (SELECT rowid, rank FROM segments_fts WHERE segments_fts MATCH ? "
            "ORDER BY rowid DESC LIMIT ?) ORDER BY rank LIMIT ?",
            (fts, SEARCH_WINDOW, limit)).fetchall()
        if not ranked:
            return []
        ids = [r[0] for r in ranked]
        marks = ",".join("?" * len(ids))
        rows = conn.execute(
            "SELECT s.id, s.transcript_id, s.idx, s.start_ms, s.end_ms, s.words, t.title, s.text "
            "FROM segments s JOIN transcripts t ON t.id = s.transcript_id "
            f"WHERE s.id IN ({marks})", ids).fetchall()
        by_id = {r[0]: r[1:] for r in rows}
        terms = [_fold(t) for t in re.findall(r"\w+", query)]
        hits = []
        for rowid in ids:
            if rowid in by_id:
                tid, idx, start, end, words, title, text = by_id[rowid]
                hits.append(SearchHit(tid, idx, _hit_time(words, terms, start), start, end,
                                      _snippet(text, terms), title))
        return hits

    # --- jobs -----------------------------------------------------------------------------

    def add_job(self, media_path: str | Path, *, model: str | None = None,
                options: dict[str, Any] | None = None, media_hash: str | None = None,
                media_duration_ms: int | None = None) -> int:
        with self._write() as conn:
            cur = conn.execute(
                "INSERT INTO jobs (media_path, media_hash, status, model, options, "
                "media_duration_ms, created) VALUES (?, ?, 'queued', ?, ?, ?, ?)",
                (str(media_path), media_hash, model, json.dumps(options or {}),
                 media_duration_ms, _now()))
            return int(cur.lastrowid or 0)

    def update_job(self, job_id: int, *, status: JobStatus | None = None,
                   error: str | None = None, transcript_id: int | None = None,
                   processing_ms: int | None = None, media_duration_ms: int | None = None,
                   media_hash: str | None = None) -> None:
        """Change a job; moving to running stamps ``started``, to an end state ``finished``."""
        if status is not None and status not in JOB_STATUSES:
            raise LibraryError(f"Unknown job status {status!r}; use one of "
                               f"{', '.join(JOB_STATUSES)}.")
        fields: dict[str, Any] = {"status": status, "error": error, "transcript_id": transcript_id,
                                  "processing_ms": processing_ms, "media_hash": media_hash,
                                  "media_duration_ms": media_duration_ms}
        if status == "running":
            fields["started"] = _now()
        elif status in ("done", "failed", "cancelled"):
            fields["finished"] = _now()
        sets = {k: v for k, v in fields.items() if v is not None}
        if not sets:
            return
        with self._write() as conn:
            cur = conn.execute(f"UPDATE jobs SET {', '.join(f'{k}=?' for k in sets)} WHERE id=?",
                               (*sets.values(), job_id))
            if cur.rowcount == 0:
                raise LibraryError(f"There is no job {job_id} in the library.")

    def get_job(self, job_id: int) -> JobRecord:
        rows = self._jobs("WHERE id=?", (job_id,))
        if not rows:
            raise LibraryError(f"There is no job {job_id} in the library.")
        return rows[0]

    def list_jobs(self, status: JobStatus | None = None) -> list[JobRecord]:
        if status is None:
            return self._jobs("", ())
        return self._jobs("WHERE status=?", (status,))

    def _jobs(self, where: str, params: tuple[Any, ...]) -> list[JobRecord]:
        rows = self._conn.execute(
            "SELECT id, media_path, media_hash, status, error, model, options, "
            "media_duration_ms, processing_ms, created, started, finished, transcript_id "
            f"FROM jobs {where} ORDER BY id", params).fetchall()
        return [JobRecord(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), r[7], r[8],
                          datetime.fromisoformat(r[9]), _dt(r[10]), _dt(r[11]), r[12])
                for r in rows]


@contextmanager
def _gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _fts_query(query: str) -> str | None:
    """The user's words as an FTS5 query that cannot be a syntax error: each word quoted; the
    last one a prefix when it is long enough to be worth it."""
    terms = re.findall(r"\w+", query)
    if not terms:
        return None
    quoted = [f'"{t}"' for t in terms]
    if len(terms[-1]) >= MIN_PREFIX_CHARS and not query[-1:].isspace():
        quoted[-1] += "*"
    return " ".join(quoted)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _matches(word: str, terms: list[str]) -> bool:
    prefix = terms[-1] if len(terms[-1]) >= MIN_PREFIX_CHARS else None
    return word in terms or bool(prefix and word.startswith(prefix))


def _snippet(text: str, terms: list[str], around: int = SNIPPET_WORDS) -> str:
    """The words around the first match, matches in [brackets]. Made here rather than by FTS5's
    snippet(), which re-reads the whole match list of a common word for every search."""
    words = list(re.finditer(r"\w+", text))
    hits = [k for k, m in enumerate(words) if _matches(_fold(m.group()), terms)]
    if not words:
        return text.strip()
    first = hits[0] if hits else 0
    lo, hi = max(0, first - around // 2), min(len(words), first + around - around // 2)
    out, pos = [], words[lo].start()
    for k in range(lo, hi):
        m = words[k]
        out.append(text[pos : m.start()])
        out.append(f"[{m.group()}]" if k in hits else m.group())
        pos = m.end()
    end = words[hi - 1].end()
    tail = text[end:] if hi == len(words) else ""
    return ("…" if lo > 0 else "") + "".join(out) + tail.rstrip() + ("…" if hi < len(words) else "")


def _hit_time(words_json: str, terms: list[str], fallback: int) -> int:
    """Start of the first word that matches a query term (the last term also as a prefix)."""
    for start, _end, text, _p in json.loads(words_json):
        if any(_matches(part, terms) for part in re.findall(r"\w+", _fold(text))):
            return int(start)
    return fallback
