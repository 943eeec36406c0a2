"""The UI end to end with the real models: background loading, a streamed reply, the panel."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.bootstrap import build_agent
from agent.settings import load_settings
from tui.app import MemchatApp
from tui.screens.chat import ChatScreen
from tui.widgets.memory_panel import MemoryPanel
from tui.widgets.messages import Reply

pytestmark = pytest.mark.integration


async def test_real_models_in_the_ui(tmp_path: Path, model_cache: Path) -> None:
    settings = load_settings(
        environ={"MEMCHAT_HOME": str(tmp_path)}, cache=model_cache, max_new_tokens=16
    )
    app = MemchatApp(build_agent(settings), load_models=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        # the chat takes input while the models load; this first message waits for them
        assert isinstance(app.screen, ChatScreen)
        app.screen.query_one("#chat-input").text = "My name is Sam and I love hiking"
        await pilot.press("enter")
        await app.workers.wait_for_complete()  # the first run converts the model: a minute
        assert app.agent.models.loaded
        await pilot.pause()
        reply = app.screen.query_one(Reply)
        assert reply.result is not None and reply.text.strip()
        panel = "\n".join(str(w.render()) for w in app.screen.query_one(MemoryPanel).query("*"))
        assert "likes = hiking" in panel and "name = Sam" in panel
        app.screen.query_one("#chat-input").text = "Which outdoor activities do I enjoy?"
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        panel = "\n".join(str(w.render()) for w in app.screen.query_one(MemoryPanel).query("*"))
        assert "likes: hiking" in panel
