"""A conversation with the real models: facts told in passing among small talk, asked about
later. The answers come from memory: the fact told, its latest value, or "not mentioned". On
SQLite and on PostgreSQL, one conversation each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.answer.grounded import NOT_MENTIONED
from agent.bootstrap import build_agent
from agent.settings import load_settings
from tests import engines

pytestmark = pytest.mark.integration

TOLD = [
    "Hi there! How are you today?",
    "I just got back from work, I work as a nurse at the city hospital.",
    "The weather has been lovely this week, lots of sun.",
    "My sister Alice lives in Paris.",
    "By the way, my dog is called Rex, he is a beagle.",
    "I live in Lyon, near the river.",
    "I watched a movie yesterday, it was fun.",
    "My favourite colour is green.",
    "I drive an old red Toyota.",
    "Haha, that reminds me of my childhood.",
    "I play the cello in a small orchestra on Sundays.",
    "My best friend is called Marco.",
    "I grew up in Dublin.",
    "My birthday is on 14 March.",
    "Actually, I moved last month: I now live in Berlin.",
]
# (question, the word its answer must hold)
ASKED = [
    ("What is my job?", "nurse"),
    ("Where does my sister live?", "paris"),
    ("What is my dog called?", "rex"),
    ("What is my favourite colour?", "green"),
    ("What car do I drive?", "toyota"),
    ("What instrument do I play?", "cello"),
    ("Who is my best friend?", "marco"),
    ("Where did I grow up?", "dublin"),
    ("When is my birthday?", "14 march"),
    ("What breed is my dog?", "beagle"),
]


@pytest.fixture(scope="module", params=engines.ENGINES)
def agent(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, model_cache: Path
) -> Iterator[object]:
    """The conversation told on one engine, for every test of the module. A module-scoped
    parameter, not `each_engine`: the tests run engine by engine, so one agent holding the
    real models is alive at a time."""
    engines.current = request.param
    try:
        home = tmp_path_factory.mktemp("dialogue")
        settings = load_settings(
            environ={"MEMCHAT_HOME": str(home)},
            cache=model_cache,
            max_new_tokens=8,
            db=engines.db_for(home),
        )
        agent = build_agent(settings)
        for message in TOLD:
            agent.ask(message)
        yield agent
        agent.sessions.kw["bind"].dispose()
    finally:
        engines.reset()


def test_facts_told_in_passing_are_answered_later(agent) -> None:
    replies = {q: agent.ask(q) for q, _ in ASKED}
    right = [q for q, word in ASKED if word in replies[q].reply.lower()]
    assert len(right) >= 8, {q: r.reply for q, r in replies.items()}
    assert all(replies[q].answered.source_kind == "memory" for q in right)
    assert all(replies[q].cited for q in right)


def test_an_updated_fact_is_answered_with_its_new_value(agent) -> None:
    reply = agent.ask("Where do I live now?").reply.lower()
    assert "berlin" in reply and "lyon" not in reply


def test_a_fact_never_told_is_not_made_up(agent) -> None:
    for question in ("What is my brother's name?", "Where does my mother work?"):
        assert agent.ask(question).reply == NOT_MENTIONED
