"""A consistent copy of a memchat database, into an SQLite file, while others keep writing to it.

An SQLite database is copied with SQLite's online backup API (`sqlite3.Connection.backup`), in
steps, from one read transaction on the source: in WAL mode that transaction is a snapshot, so
the copy holds exactly what was committed when the backup started and writers are never
blocked. (Without it, a write by another connection between two steps restarts the backup from
the first page, and a busy writer could keep it from ever finishing.) memchat keeps its
databases in WAL mode; in the other journal modes the read transaction makes writers wait for
the copy.

A PostgreSQL database is copied with `db copy` (storage/copy.py) into a new SQLite file: every
row of every table, read from one REPEATABLE READ snapshot, ids, timestamps and embedding bytes
unchanged. The backup is then what an SQLite backup is, a file `memchat --db FILE` opens, and
`db copy` puts it back on a server. (`pg_dump` would need the server's tools on the user's
machine, and its dump no memchat command reads.)

Either way the copy goes to a new owner-only temporary file in the target's folder, is checked
with `PRAGMA integrity_check`, and only then renamed onto the target: a failed or interrupted
backup never leaves a partial file at the target. Imports nothing of ours but storage.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from storage.copy import CopyProgress, copy_database
from storage.db import describe, parse_url
from storage.errors import StorageError
from storage.sqlite_engine import BUSY_TIMEOUT_MS

# Pages copied per step: 1024 pages of 4 KiB is 4 MiB, a progress report every few ms.
STEP_PAGES = 1024
# The tables whose rows a backup reports (read from the copy, not the source).
COUNTED = ("profiles", "memories", "turns")
# Files SQLite keeps next to a database; writing over one of the live database's would
# corrupt it, and a stale one next to a replaced target would be replayed onto the copy.
SIDECARS = ("-wal", "-shm", "-journal")

# Engines whose databases a backup copies row by row into an SQLite file (see above).
SERVER_ENGINES = ("postgresql",)

Progress = Callable[[int, int], None]


class SameFileError(StorageError):
    """The target is the live database (or one of its sidecar files)."""


@dataclass(frozen=True)
class BackupResult:
    """What was written: the file, its size in bytes, and row counts read from the copy."""

    path: Path
    size: int
    counts: dict[str, int] = field(default_factory=dict)


def sqlite_file(url: str) -> Path:
    """The database file behind a SQLAlchemy URL; StorageError for anything else."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StorageError(f"not a database URL: {url!r}") from exc
    backend = parsed.get_backend_name()
    if backend != "sqlite":
        raise StorageError(
            f"backup copies SQLite and PostgreSQL databases only; this one is {backend} "
            "(use that database's own tools)"
        )
    if not parsed.database or parsed.database == ":memory:":
        raise StorageError("the database is in memory: there is no file to back up")
    return Path(parsed.database).expanduser().absolute()


def source_file(url: str) -> Path:
    """The existing SQLite file behind `url`, the source of a backup; StorageError otherwise."""
    source = sqlite_file(url)
    if not source.is_file():
        raise StorageError(f"database {source} does not exist; there is nothing to back up")
    return source


def copies_rows(url: str) -> bool:
    """Whether a backup of `url` copies rows from a server (PostgreSQL) rather than an SQLite
    file's pages: its progress counts rows, and there is no source file to check first."""
    try:
        return parse_url(url).get_backend_name() in SERVER_ENGINES
    except StorageError:
        return False  # source_file says what is wrong with it


def check_target(source: Path, target: Path, force: bool) -> None:
    """Refuse a target that is the live database, a folder, missing its folder, or (without
    `force`) an existing file."""
    live = source.resolve()
    resolved = target.resolve()
    if resolved in {live, *(live.with_name(live.name + s) for s in SIDECARS)} or (
        target.exists() and source.exists() and os.path.samefile(target, source)
    ):
        raise SameFileError(
            f"{target} is the database being backed up (or one of its files); choose another file"
        )
    check_target_file(target, force)


def check_target_file(target: Path, force: bool) -> None:
    """Refuse a target that is a folder, missing its folder, or (without `force`) an existing
    file, or that has SQLite's files of an open database next to it."""
    folder = target.parent
    if not folder.is_dir():
        raise StorageError(f"cannot write {target}: folder {folder} does not exist")
    if target.is_dir():
        raise StorageError(f"cannot write {target}: it is a folder")
    if target.exists() and not force:
        raise StorageError(f"{target} already exists; use --force to replace it")
    for suffix in SIDECARS:
        sidecar = target.with_name(target.name + suffix)
        if sidecar.exists():
            raise StorageError(
                f"{sidecar} exists: {target} may be open in another program; "
                "close it (or remove that file) first"
            )


def _new_private_file(folder: Path, name: str) -> Path:
    """Create an empty, owner-only (0600) file with a fresh name in `folder`."""
    while True:
        path = folder / f".{name}.{secrets.token_hex(4)}.part"
        try:
            # O_EXCL: never reuse a file someone else made; 0600 from the first byte on.
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            continue
        except OSError as exc:
            raise StorageError(f"cannot write in {folder}: {exc.strerror}") from exc
        os.close(fd)
        return path


@contextlib.contextmanager
def _connect(path: Path, mode: str) -> Iterator[sqlite3.Connection]:
    """A plain sqlite3 connection (`mode` rw: never create the file), closed afterwards."""
    connection = sqlite3.connect(
        f"{path.as_uri()}?mode={mode}", uri=True, timeout=BUSY_TIMEOUT_MS / 1000
    )
    try:
        yield connection
    finally:
        connection.close()


def _copy(source: Path, target: Path, pages: int, progress: Progress | None) -> None:
    """Copy `source` into the empty database file `target` from one snapshot of it."""

    def report(_status: int, remaining: int, total: int) -> None:
        if progress is not None:
            progress(total - remaining, total)

    with _connect(source, "rw") as src, _connect(target, "rw") as dst:
        src.execute("BEGIN")
        # The first read opens the read transaction: every step copies this snapshot.
        src.execute("SELECT count(*) FROM sqlite_master").fetchone()
        src.backup(dst, pages=pages, progress=report)
        src.rollback()
        # The copy inherits WAL mode; a backup is better one self-contained file
        # (memchat turns WAL on again when it opens it).
        dst.execute("PRAGMA journal_mode = DELETE").fetchone()


def integrity_problem(path: Path) -> str | None:
    """None when `PRAGMA integrity_check` on `path` says ok, else its first complaint."""
    with _connect(path, "ro") as db:
        rows = db.execute("PRAGMA integrity_check").fetchall()
    return None if rows == [("ok",)] else str(rows[0][0] if rows else "no answer")


def count_rows(path: Path) -> dict[str, int]:
    """Rows in each of COUNTED's tables (a table that does not exist counts 0)."""
    counts = dict.fromkeys(COUNTED, 0)
    with _connect(path, "ro") as db:
        present = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        for table in present.intersection(COUNTED):
            counts[table] = db.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
    return counts


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable (POSIX: the folder's entry is data of the folder)."""
    with contextlib.suppress(OSError):  # not every platform can open a folder
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _remove(path: Path) -> None:
    """Remove a temporary database and whatever SQLite left next to it."""
    for name in (path.name, *(path.name + s for s in SIDECARS)):
        with contextlib.suppress(OSError):
            path.with_name(name).unlink()


class _RowMeter(CopyProgress):
    """A row copy's progress as a backup's: rows copied of all rows (every table, then the
    memories' links)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.total = 0
        self.done: dict[str, int] = {}

    def begin(self, totals: Mapping[str, int]) -> None:
        self.total = sum(totals.values())
        self.progress(0, self.total)

    def rows(self, step: str, copied: int, total: int) -> None:
        self.done[step] = copied
        self.progress(sum(self.done.values()), self.total)


def _copy_rows(url: str, target: Path, progress: Progress | None) -> None:
    """Copy the server database at `url` into the empty SQLite file `target` (db copy), then
    make it one self-contained file as an SQLite backup is."""
    copy_database(url, f"sqlite:///{target}", progress=_RowMeter(progress) if progress else None)
    with _connect(target, "rw") as db:
        db.execute("PRAGMA journal_mode = DELETE").fetchone()


def backup_database(
    url: str,
    target: Path,
    force: bool = False,
    pages: int | None = None,
    progress: Progress | None = None,
) -> BackupResult:
    """Copy the database at `url` to the SQLite file `target` (owner-only), verified,
    atomically: an SQLite database with SQLite's online backup, a PostgreSQL one row by row
    (see the module docstring).

    `progress(copied, total)` is called after every step: pages of `pages` (default
    STEP_PAGES) for SQLite, rows (a batch at a time) for PostgreSQL.
    Raises SameFileError for the live database as target, StorageError for every other
    refusal or failure; on any failure (or interruption) the target is untouched and no
    temporary file is left.
    """
    target = target.expanduser().absolute()
    if copies_rows(url):
        check_target_file(target, force)
        name = describe(parse_url(url))
        return _write_verified(target, name, lambda tmp: _copy_rows(url, tmp, progress))
    source = source_file(url)
    check_target(source, target, force)
    return _write_verified(
        target, str(source), lambda tmp: _copy(source, tmp, pages or STEP_PAGES, progress)
    )


def _write_verified(target: Path, source: str, make: Callable[[Path], None]) -> BackupResult:
    """Make the copy (`make(tmp)`) in a new owner-only file next to `target`, check it, count
    its rows, and rename it onto `target`; on any failure remove it and leave `target` be."""
    tmp = _new_private_file(target.parent, target.name)
    try:
        make(tmp)
        problem = integrity_problem(tmp)
        if problem is not None:
            raise StorageError(f"the copy failed its integrity check ({problem}); nothing written")
        counts = count_rows(tmp)
        size = tmp.stat().st_size
        os.replace(tmp, target)
    except sqlite3.Error as exc:
        _remove(tmp)
        raise StorageError(f"backup of {source} failed: {exc}") from exc
    except OSError as exc:
        _remove(tmp)
        raise StorageError(f"cannot write {target}: {exc.strerror or exc}") from exc
    except BaseException:  # StorageError, an interrupt: never leave the half copy
        _remove(tmp)
        raise
    _fsync_folder(target.parent)
    return BackupResult(target, size, counts)
