"""The converted-model cache is checked before it is loaded.

When memchat writes a cache file (the converted model, its tokenizer and config files, the
packed int4 weights), it records the file's size and sha256 in the folder's manifest. Before
loading, every recorded file must still be there with its size and digest. The digest is
computed once per file change (`locate.file_sha256` keys it by path, size, times and inode),
so a start that finds nothing changed costs one `stat` per file. The manifest also keeps the
identity of each file it hashed (size, mtime, ctime, inode): while that is unchanged, the
digest recorded at writing stands, and the first start after a conversion does not hash the
files again (0.4 s for the 680 MB the packaged model converts to). A file that was cut,
altered or removed, or a folder with no manifest (written before there was one), is reported
so the caller converts again; its bytes are never loaded as weights.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from agent.models.locate import file_sha256, hash_file

MANIFEST = "memchat-files.json"


def _read(folder: Path) -> dict[str, dict[str, object]]:
    try:
        found = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _write(folder: Path, manifest: dict[str, dict[str, object]]) -> None:
    """Replace the manifest atomically (temp file + rename)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{MANIFEST}-", dir=folder)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(manifest, handle, indent=1, sort_keys=True)
        os.replace(tmp, folder / MANIFEST)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def record(folder: Path, names: Iterable[str] | None = None, removed: Iterable[str] = ()) -> None:
    """Record the size and sha256 of the files `names` of `folder` (default: all of them) in
    its manifest, and drop the entries of the files `removed`."""
    if names is None:
        names = sorted(p.name for p in folder.iterdir() if p.is_file() and p.name != MANIFEST)
    manifest = _read(folder)
    for name in removed:
        manifest.pop(name, None)
    for name in names:
        path = folder / name
        digest = hash_file(path)
        manifest[name] = {"size": path.stat().st_size, "sha256": digest, "stat": identity(path)}
    _write(folder, manifest)


def identity(path: Path) -> str:
    """What changes when a file's bytes change: size, mtime and ctime (ns), inode. ctime moves
    on every write and cannot be set back; renaming the folder above keeps all four."""
    stat = path.stat()
    return f"{stat.st_size}|{stat.st_mtime_ns}|{stat.st_ctime_ns}|{stat.st_ino}"


def damaged(folder: Path, cache_dir: Path) -> str | None:
    """Why the cache `folder` cannot be trusted ("model.safetensors was altered"), or None."""
    manifest = _read(folder)
    if not manifest:
        return "it has no record of its files"
    for name, want in sorted(manifest.items()):
        path = folder / name
        if not path.is_file():
            return f"{name} is missing"
        if path.stat().st_size != want.get("size"):
            return f"{name} was cut or changed in size"
        if want.get("stat") == identity(path):
            continue  # untouched since it was written and hashed
        if file_sha256(path, cache_dir) != want.get("sha256"):
            return f"{name} was altered"
    return None
