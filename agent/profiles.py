"""What users do with profiles: list, create, reset, delete, export and import; and a backup
of the whole database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from agent.errors import NotFoundError, UsageError
from agent.text import clean_name
from storage import repo, transfer
from storage.backup import BackupResult, SameFileError, backup_database, source_file

if TYPE_CHECKING:
    from sqlalchemy.orm import sessionmaker

    from agent.memory.store import MemoryStore
    from agent.settings import Settings


class ProfileActions:
    """Mixed into Agent; needs its settings, sessions, store and active profile."""

    settings: Settings
    sessions: sessionmaker[Session]
    store: MemoryStore
    profile_name: str
    _session_id: int | None

    def profile_id(self, create: bool = False) -> int:
        raise NotImplementedError

    def profiles(self) -> list[repo.ProfileCounts]:
        self.profile_id()  # the default profile always exists
        with self.sessions() as s:
            return repo.list_profiles(s)

    def create_profile(self, name: str) -> None:
        name = clean_name(name)
        with self.sessions() as s, s.begin():
            if repo.get_profile(s, name) is not None:
                raise UsageError(f"profile {name!r} already exists")
            repo.create_profile(s, name)

    def _profile_by_name(self, s: Session, name: str) -> int:
        profile = repo.get_profile(s, name)
        if profile is None:
            raise NotFoundError(f"unknown profile {name!r}")
        return profile.id

    def reset_profile(self, name: str) -> None:
        """Delete the profile's memories, turns and history; other profiles are untouched."""
        with self.sessions() as s, s.begin():
            profile_id = self._profile_by_name(s, name)
            repo.reset_profile(s, profile_id)
        self.store.forget_cache(profile_id)
        if name == self.profile_name:
            self._session_id = None

    def delete_profile(self, name: str) -> None:
        with self.sessions() as s, s.begin():
            profile_id = self._profile_by_name(s, name)
            repo.delete_profile(s, profile_id)
        self.store.forget_cache(profile_id)
        if name == self.profile_name:
            self._session_id = None

    def export(
        self, path: Path, all_profiles: bool = False, name: str | None = None
    ) -> dict[str, int]:
        """Write the active profile (or `name`, or every profile) to a JSON Lines file."""
        with self.sessions() as s:
            if all_profiles:
                ids = [p.profile.id for p in repo.list_profiles(s)]
            else:
                ids = [self._profile_by_name(s, name or self.profile_name)]
            return transfer.export_profiles(s, ids, path)

    def import_file(self, path: Path) -> dict[str, int]:
        """Import an export file in one transaction; a bad file writes nothing."""
        with self.sessions() as s, s.begin():
            counts = transfer.import_file(s, path)
        self.store.forget_all_caches()
        return counts

    def backup(
        self,
        path: Path,
        force: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> BackupResult:
        """Copy the whole database (every profile) to `path`: SQLite's online backup from one
        snapshot, owner-only, checked, renamed into place only when complete.

        `progress(copied_pages, total_pages)` follows the copy. The live database as `path`
        is bad usage; every other refusal or failure is a StorageError.
        """
        try:
            return backup_database(self.settings.db_url, path, force=force, progress=progress)
        except SameFileError as exc:
            raise UsageError(str(exc)) from exc


def backup_source(db_url: str) -> Path:
    """The database file a backup would copy, checked before an agent opens (and so creates)
    it: a URL that is not SQLite, an in-memory database or a missing file is a StorageError."""
    return source_file(db_url)
