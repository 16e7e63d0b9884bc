"""The practice record: one local SQLite file that remembers every attempt and every card's schedule.

Where it lives: ``$LESSONLIB_PRACTICE_DB`` when set (a file path), else ``practice.sqlite3`` in the
user's data directory (``platformdirs.user_data_dir("lessonlib")``: ``~/.local/share/lessonlib`` on
Linux). Never inside the repository, so a learner's record is not committed by accident.

Three tables (schema version 1, kept in ``PRAGMA user_version``; ``meta`` was added later with
``CREATE TABLE IF NOT EXISTS``, so an older record gains it on first use and loses nothing):

* ``attempts``: item id, time (UTC, ISO 8601), verdict, hints used, seconds taken, rating given.
* ``cards``: item id → the FSRS card as JSON (its stability, difficulty, due date).
* ``meta``: key → value, e.g. ``learner_seed`` (the seed of this learner's quiz option order).

A file that is not a SQLite database, or one written by a newer schema, raises ``PracticeStoreError``
with the path and what to do; nothing is overwritten silently.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ENV_VAR", "SCHEMA_VERSION", "PracticeStoreError", "Attempt", "default_path", "Store"]

ENV_VAR = "LESSONLIB_PRACTICE_DB"
SCHEMA_VERSION = 1
VERDICTS = ("pass", "pass-after-hint", "fail", "self-graded")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    item TEXT NOT NULL,
    at TEXT NOT NULL,
    verdict TEXT NOT NULL,
    hints INTEGER NOT NULL DEFAULT 0,
    seconds REAL,
    score REAL,
    rating INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_item ON attempts(item);
CREATE TABLE IF NOT EXISTS cards (
    item TEXT PRIMARY KEY,
    card TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


class PracticeStoreError(RuntimeError):
    """The practice record cannot be used as it is (corrupt, newer schema, unwritable)."""


@dataclass(frozen=True)
class Attempt:
    """One recorded attempt at an item."""

    item: str
    at: dt.datetime
    verdict: str
    hints: int
    seconds: float | None
    score: float | None
    rating: int


def default_path() -> Path:
    """``$LESSONLIB_PRACTICE_DB`` if set, else ``<user data dir>/lessonlib/practice.sqlite3``."""
    override = os.environ.get(ENV_VAR, "").strip()
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("lessonlib", appauthor=False)) / "practice.sqlite3"


class Store:
    """The SQLite practice record at ``path`` (default ``default_path()``), created on first use."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PracticeStoreError(f"cannot create the folder of the practice record {self.path}: {exc}") from None
        with self._connect() as con:
            self._migrate(con)

    def _fail(self, what: str) -> PracticeStoreError:
        return PracticeStoreError(
            f"the practice record {self.path} {what}. Move it aside (it is your history, so keep a copy) "
            f"or point {ENV_VAR} at another file; a new record is created there."
        )

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            con = sqlite3.connect(self.path, timeout=5.0)
        except sqlite3.Error as exc:
            raise self._fail(f"cannot be opened ({exc})") from None
        try:
            with con:
                yield con
        except sqlite3.DatabaseError as exc:
            raise self._fail(f"is not a readable practice database ({exc})") from None
        finally:
            con.close()

    def _migrate(self, con: sqlite3.Connection) -> None:
        version = con.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise self._fail(f"was written by a newer lessonlib (schema {version}, this one reads {SCHEMA_VERSION})")
        con.executescript(_SCHEMA)
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def add_attempt(self, attempt: Attempt, card_json: str | None) -> None:
        """Record ``attempt`` and the card it produced, in one transaction (``card_json=None``: the
        attempt is logged and the card left as it is, e.g. a retry within one sitting)."""
        with self._connect() as con:
            con.execute(
                "INSERT INTO attempts (item, at, verdict, hints, seconds, score, rating) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    attempt.item,
                    attempt.at.isoformat(),
                    attempt.verdict,
                    attempt.hints,
                    attempt.seconds,
                    attempt.score,
                    attempt.rating,
                ),
            )
            if card_json is not None:
                con.execute("INSERT OR REPLACE INTO cards (item, card) VALUES (?, ?)", (attempt.item, card_json))

    def meta(self, key: str, default: str | None = None) -> str | None:
        """The stored value of ``key`` in the ``meta`` table, or ``default``."""
        with self._connect() as con:
            row = con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else row[0]

    def set_meta_default(self, key: str, value: str) -> str:
        """Store ``value`` under ``key`` unless a value is there already; returns the stored value."""
        with self._connect() as con:
            con.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (key, value))
            return con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0]

    def card_json(self, item: str) -> str | None:
        """The stored FSRS card of ``item`` as JSON, or None if it was never attempted."""
        with self._connect() as con:
            row = con.execute("SELECT card FROM cards WHERE item = ?", (item,)).fetchone()
        return None if row is None else row[0]

    def cards(self) -> dict[str, str]:
        """Every stored card: ``{item id: card JSON}``."""
        with self._connect() as con:
            return dict(con.execute("SELECT item, card FROM cards").fetchall())

    def attempts(self, item: str | None = None) -> list[Attempt]:
        """Every attempt (of ``item`` when given), oldest first."""
        query = "SELECT item, at, verdict, hints, seconds, score, rating FROM attempts"
        args: tuple = ()
        if item is not None:
            query, args = query + " WHERE item = ?", (item,)
        with self._connect() as con:
            rows = con.execute(query + " ORDER BY id", args).fetchall()
        return [Attempt(r[0], dt.datetime.fromisoformat(r[1]), r[2], r[3], r[4], r[5], r[6]) for r in rows]
