"""The library's SQLite schema and its migrations.

``PRAGMA user_version`` holds the schema version. ``MIGRATIONS[i]`` takes a database from
version i to i + 1; a new version appends a script here (never edit a released one), and
``Library`` runs the missing ones in order, each in its own transaction, at open.
"""

from __future__ import annotations

import sqlite3

_SCHEMA_V1 = """
CREATE TABLE transcripts (
    id INTEGER PRIMARY KEY,
    title TEXT,
    media_path TEXT,
    media_hash TEXT,
    language TEXT,
    model TEXT,
    options TEXT NOT NULL DEFAULT '{}',
    duration_ms INTEGER,
    created TEXT NOT NULL,
    modified TEXT NOT NULL,
    revision INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE segments (
    id INTEGER PRIMARY KEY,
    transcript_id INTEGER NOT NULL REFERENCES transcripts(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    text TEXT NOT NULL,
    speaker TEXT,
    avg_logprob REAL,
    no_speech_prob REAL,
    compression_ratio REAL,
    flags TEXT NOT NULL DEFAULT '[]',
    words TEXT NOT NULL DEFAULT '[]'   -- [[start_ms, end_ms, text, probability], ...]
);
CREATE INDEX segments_order ON segments(transcript_id, idx);
CREATE VIRTUAL TABLE segments_fts USING fts5(
    text, content='segments', content_rowid='id', tokenize='unicode61 remove_diacritics 2',
    prefix='3 4'  -- search as you type: prefixes of 3-4 letters come from an index
);
CREATE TRIGGER segments_ai AFTER INSERT ON segments BEGIN
    INSERT INTO segments_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER segments_ad AFTER DELETE ON segments BEGIN
    INSERT INTO segments_fts(segments_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER segments_au AFTER UPDATE OF text ON segments BEGIN
    INSERT INTO segments_fts(segments_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO segments_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    media_path TEXT NOT NULL,
    media_hash TEXT,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    error TEXT,
    model TEXT,
    options TEXT NOT NULL DEFAULT '{}',
    media_duration_ms INTEGER,
    processing_ms INTEGER,
    created TEXT NOT NULL,
    started TEXT,
    finished TEXT,
    transcript_id INTEGER REFERENCES transcripts(id) ON DELETE SET NULL
);
CREATE INDEX jobs_status ON jobs(status);
"""

# MIGRATIONS[i] takes the schema from version i to i + 1.
MIGRATIONS: tuple[str, ...] = (_SCHEMA_V1,)
SCHEMA_VERSION = len(MIGRATIONS)


def statements(script: str) -> list[str]:
    """Split a migration script into statements (triggers hold inner semicolons)."""
    out: list[str] = []
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out
