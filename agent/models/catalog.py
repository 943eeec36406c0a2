"""What `memchat models` lists: the chat model in use, the packaged one, GGUF files in the
usual places, and what a configured server offers."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import MemchatError
from agent.models.backends import describe
from agent.settings import Settings

FOUND_AT_MOST = 200  # GGUF files listed; a huge model collection is cut, not walked forever


@dataclass
class Catalog:
    configured: str
    packaged: str  # the packaged GGUF's path, or why it is missing
    found: list[str] = field(default_factory=list)  # GGUF files in the usual places
    served: list[str] = field(default_factory=list)  # what the configured server offers
    server_error: str = ""  # why the server could not be asked

    def as_json(self) -> dict[str, Any]:
        return {
            "configured": self.configured,
            "packaged": self.packaged,
            "found": self.found,
            "served": self.served,
            "server_error": self.server_error,
        }


def gguf_folders(settings: Settings) -> list[Path]:
    """Where GGUF files usually are: the Hugging Face cache and `<home>/models`."""
    hf_home = Path(os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface")
    return [Path(os.environ.get("HF_HUB_CACHE") or hf_home / "hub"), settings.home / "models"]


def found_gguf(folders: list[Path]) -> list[str]:
    found: list[str] = []
    for folder in folders:
        if folder.is_dir():
            for path in sorted(folder.rglob("*.gguf")):
                found.append(str(path))
                if len(found) >= FOUND_AT_MOST:
                    return found
    return found


def catalog(settings: Settings) -> Catalog:
    from agent.models.locate import GENERATOR, package_dir

    try:
        packaged = str(package_dir(GENERATOR) / GENERATOR.relpath)
    except MemchatError as exc:
        packaged = str(exc)
    listed = Catalog(describe(settings), packaged, found_gguf(gguf_folders(settings)))
    if settings.base_url.strip():
        from agent.models.openai_chat import OpenAIChat, checked_base_url

        try:
            base = checked_base_url(settings.base_url, settings.allow_remote)
            listed.served = OpenAIChat(settings.model or "?", base, settings).served()
        except MemchatError as exc:
            listed.server_error = str(exc)
    return listed
