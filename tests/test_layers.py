"""The layers tui -> agent -> storage, checked in fresh interpreters (DESIGN section 5)."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHECK = """
import sys
import {module}
loaded = {{name.split('.')[0] for name in sys.modules}}
print(sorted(loaded & {forbidden!r}))
"""


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("storage", {"torch", "textual", "agent", "tui", "serve", "transformers"}),
        ("storage.repo", {"torch", "textual", "agent", "tui", "serve", "transformers"}),
        ("storage.transfer", {"torch", "textual", "agent", "tui", "serve", "transformers"}),
        ("agent.core", {"textual", "tui", "serve", "mcp"}),
        ("agent.bootstrap", {"textual", "tui", "serve", "mcp"}),
        ("agent.models.generator", {"textual", "tui", "serve"}),
        # the servers sit beside the UI, above the agent: neither loads the other
        ("serve.mcp_server", {"textual", "transformers"}),
        ("serve.openai_api", {"textual", "transformers", "mcp"}),
    ],
)
def test_import_layers(module: str, forbidden: set[str]) -> None:
    out = subprocess.run(
        [sys.executable, "-c", CHECK.format(module=module, forbidden=forbidden)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "[]", f"{module} loaded {out.stdout.strip()}"


def test_listing_memories_loads_no_model_library() -> None:
    """`memchat memories list` must start fast: the CLI imports transformers only on demand."""
    forbidden = {"transformers", "textual", "mcp", "uvicorn", "starlette"}
    code = CHECK.format(module="tui.cli", forbidden=forbidden)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
