"""A database written with another encoder: refused in one line, then `memchat reindex`
(issue 17, item 5)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from sqlalchemy import select, update

from agent.core import Agent, Models
from agent.memory.cache import blob_to_vector
from agent.memory.encoder_check import EncoderMismatchError
from agent.reindex import memory_texts
from agent.settings import load_settings
from storage import embeddings
from storage.db import make_engine, session_factory
from storage.models import Memory, Profile
from tests import engines
from tests.conftest import make_fake_agent
from tests.fakes import FakeEncoder, FakeGenerator
from tui import cli

pytestmark = pytest.mark.usefixtures("each_engine")

ROOT = Path(__file__).resolve().parents[1]


class SmallEncoder(FakeEncoder):
    """Another encoder: the same hashed words in 32 dimensions."""

    dim = 32
    identity = "fake-hashed-words@32"


class RenamedEncoder(FakeEncoder):
    """Another encoder of the same dimension (a different model with 64-d vectors)."""

    identity = "other-words@64"


def agent_with(home: Path, encoder: Callable[[], FakeEncoder], profile: str = "default") -> Agent:
    config = load_settings(
        environ={"MEMCHAT_HOME": str(home)}, profile=profile, db=engines.db_for(home)
    )
    engine = make_engine(config.db_url)
    generator = FakeGenerator()
    return Agent(config, session_factory(engine), Models(encoder, lambda: generator))


def fill(
    home: Path, profile: str = "default", encoder: Callable[[], FakeEncoder] = FakeEncoder
) -> Agent:
    """A profile written with `encoder` (the 64-d fake): turns, extracted facts and a note."""
    agent = agent_with(home, encoder, profile)
    agent.profile_id(create=True)
    agent.ask("I am vegetarian and my sister is called Ana.")
    agent.ask("We went hiking near Lyon last weekend.")
    agent.add_memory("wifi password", "hunter2", "note")
    return agent


def vectors_of(agent: Agent, profile: str = "default") -> dict[int, tuple[int, int]]:
    """Each memory's (key, value) vector sizes, in floats."""
    with agent.sessions() as s:
        rows = s.execute(
            select(Memory.id, Memory.key_emb, Memory.value_emb)
            .join(Profile)
            .where(Profile.name == profile)
        )
        return {i: (len(k) // 4, len(v) // 4) for i, k, v in rows}


def test_other_dimension_is_refused_in_one_line(tmp_path: Path) -> None:
    fill(tmp_path)
    other = agent_with(tmp_path, SmallEncoder)
    stored = vectors_of(other)
    with pytest.raises(EncoderMismatchError) as caught:
        other.search("vegetarian")
    message = str(caught.value)
    assert "\n" not in message
    assert "fake-hashed-words@64 (64-d)" in message
    assert "fake-hashed-words@32 (32-d)" in message
    assert "memchat reindex" in message
    with pytest.raises(EncoderMismatchError):
        other.ask("What do I eat?")
    with pytest.raises(EncoderMismatchError):  # a write is refused too, before anything is stored
        other.add_memory("car", "a red bike", "fact")
    assert vectors_of(other) == stored and set(stored.values()) == {(64, 64)}


def test_same_dimension_other_encoder_is_refused(tmp_path: Path) -> None:
    fill(tmp_path)
    with pytest.raises(EncoderMismatchError, match="other-words@64"):
        agent_with(tmp_path, RenamedEncoder).search("vegetarian")


def test_listing_needs_no_encoder_and_forgetting_still_works(tmp_path: Path) -> None:
    fill(tmp_path)
    other = agent_with(tmp_path, SmallEncoder)
    memories = other.list_memories()
    assert memories
    other.forget(memories[0].id)  # removing stores no vector: allowed under a mismatch
    assert len(other.list_memories()) == len(memories) - 1


def test_database_from_before_encoders_were_recorded(tmp_path: Path) -> None:
    agent = fill(tmp_path)
    with agent.sessions() as s, s.begin():
        s.execute(update(Profile).values(encoder=None, encoder_dim=None))
    same = make_fake_agent(tmp_path)
    assert same.search("vegetarian").results  # same dimension: taken as this encoder's
    same.add_memory("car", "a red bike", "fact")  # the first write records the encoder
    with same.sessions() as s:
        record = embeddings.recorded_encoder(s, same.profile_id())
    assert record[1:] == ("fake-hashed-words@64", 64)
    with agent.sessions() as s, s.begin():
        s.execute(update(Profile).values(encoder=None, encoder_dim=None))
    with pytest.raises(EncoderMismatchError, match=r"another encoder \(64-d\)"):
        agent_with(tmp_path, SmallEncoder).search("vegetarian")


def test_empty_profile_takes_any_encoder(tmp_path: Path) -> None:
    agent = fill(tmp_path)
    agent.reset_profile("default")
    other = agent_with(tmp_path, SmallEncoder)
    other.add_memory("car", "a red bike", "fact")
    assert other.search("bike").results[0].value == "a red bike"


def test_reindex_re_encodes_every_memory_as_the_write_path_did(tmp_path: Path) -> None:
    fill(tmp_path)
    other = agent_with(tmp_path, SmallEncoder)
    before = {m.id: (m.key_text, m.value_text) for m in other.list_memories()}
    (done,) = other.reindex()
    assert (done.profile, done.action, done.memories) == ("default", "reindexed", len(before))
    assert (done.encoder, done.previous) == ("fake-hashed-words@32", "fake-hashed-words@64")
    encoder = SmallEncoder()
    with other.sessions() as s:
        rows = embeddings.embedded_rows(s, other.profile_id())
        blobs = {m.id: (m.key_emb, m.value_emb) for m in s.scalars(select(Memory))}
    for row in rows:
        key, value = memory_texts(row)
        assert torch.allclose(blob_to_vector(blobs[row[0]][0]), encoder.encode([key])[0])
        assert torch.allclose(blob_to_vector(blobs[row[0]][1]), encoder.encode([value])[0])
    assert {m.id: (m.key_text, m.value_text) for m in other.list_memories()} == before
    fresh = fill(tmp_path / "fresh", encoder=SmallEncoder)  # written with the 32-d encoder
    for query in ("vegetarian", "who is my sister", "hiking trip", "wifi"):
        found = [(r.key, round(r.weight, 5)) for r in other.search(query).results]
        assert found == [(r.key, round(r.weight, 5)) for r in fresh.search(query).results]
    other.ask("I also like tea.")  # writes work again
    assert other.reindex()[0].action == "current"  # a second run has nothing to do
    assert other.reindex(force=True)[0].action == "reindexed"


def test_reindex_is_resumable_one_transaction_per_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(tmp_path, "alpha")
    fill(tmp_path, "beta")
    fill(tmp_path, "gamma")
    record = embeddings.record_encoder
    calls = {"n": 0}

    def dies_in_beta(*args: object) -> None:
        """Interrupted after beta's new vectors are written, before its commit."""
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        record(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(embeddings, "record_encoder", dies_in_beta)
    dying = agent_with(tmp_path, SmallEncoder)
    beta_before, gamma_before = vectors_of(dying, "beta"), vectors_of(dying, "gamma")
    with pytest.raises(KeyboardInterrupt):
        dying.reindex()
    assert set(vectors_of(dying, "alpha").values()) == {(32, 32)}
    assert vectors_of(dying, "beta") == beta_before  # all old, not half done
    assert vectors_of(dying, "gamma") == gamma_before
    with dying.sessions() as s:
        beta = embeddings.recorded_encoder(s, dying._profile_by_name(s, "beta"))
    assert beta.encoder == "fake-hashed-words@64"
    monkeypatch.setattr(embeddings, "record_encoder", record)
    again = agent_with(tmp_path, SmallEncoder)
    assert [(r.profile, r.action) for r in again.reindex()] == [
        ("alpha", "current"),
        ("beta", "reindexed"),
        ("gamma", "reindexed"),
    ]
    assert set(vectors_of(again, "beta").values()) == {(32, 32)}


def test_reindex_takes_changes_made_while_it_encoded(tmp_path: Path) -> None:
    fill(tmp_path)
    old = make_fake_agent(tmp_path)
    gone = old.list_memories()[0].id

    def progress(profile: str, total: int) -> Callable[[int], None]:
        old.forget(gone)  # another process forgets a memory while the reindex encodes
        return lambda n: None

    other = agent_with(tmp_path, SmallEncoder)
    (done,) = other.reindex(progress=progress)
    assert done.memories == len(vectors_of(other))
    assert gone not in vectors_of(other)


def test_reindex_of_an_unknown_profile(tmp_path: Path) -> None:
    fill(tmp_path)
    with pytest.raises(Exception, match="unknown profile 'nobody'"):
        agent_with(tmp_path, SmallEncoder).reindex(["nobody"])


def run_cli(
    monkeypatch: pytest.MonkeyPatch, home: Path, encoder: type[FakeEncoder], *argv: str
) -> int:
    monkeypatch.setenv("MEMCHAT_HOME", str(home))
    monkeypatch.setattr(
        cli,
        "build_agent",
        lambda settings, progress=None: agent_with(Path(settings.home), encoder, settings.profile),
    )
    return cli.main(list(argv))


def test_cli_mismatch_then_reindex(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fill(tmp_path)
    fill(tmp_path, "work")
    capsys.readouterr()
    assert run_cli(monkeypatch, tmp_path, SmallEncoder, "memories", "search", "tea") == 1
    _, err = capsys.readouterr()
    assert err.count("\n") == 1 and err.startswith("memchat: error: profile 'default' was")
    assert run_cli(monkeypatch, tmp_path, SmallEncoder, "--profile", "work", "reindex") == 0
    out, _ = capsys.readouterr()
    assert out.startswith("work: re-encoded ") and "memories with fake-hashed-words@32" in out
    assert run_cli(monkeypatch, tmp_path, SmallEncoder, "reindex", "--json") == 0
    out, _ = capsys.readouterr()
    assert '"action": "current"' in out and '"action": "reindexed"' in out
    assert run_cli(monkeypatch, tmp_path, SmallEncoder, "memories", "search", "tea") == 0


@pytest.mark.integration
def test_real_encoder_reads_a_database_of_a_64d_fake(tmp_path: Path, model_cache: Path) -> None:
    """The packaged MiniLM (384-d) meets memories a 64-d encoder wrote: one line, then reindex."""
    fill(tmp_path)
    env = {**os.environ, "MEMCHAT_HOME": str(tmp_path), "MEMCHAT_CACHE": str(model_cache)}
    env.pop("MEMCHAT_PROFILE", None)
    env.pop("MEMCHAT_DB", None)
    env.update(engines.env_for(tmp_path))

    def memchat(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tui.cli", *argv],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    refused = memchat("memories", "search", "vegetarian")
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
    assert "(64-d), not by the encoder in use, all-MiniLM-L6-v2@" in refused.stderr
    done = memchat("reindex")
    assert done.returncode == 0, done.stderr
    assert "re-encoded" in done.stdout
    found = memchat("memories", "search", "what do I eat", "--json")
    assert found.returncode == 0, found.stderr
    assert "vegetarian" in found.stdout
    agent = make_fake_agent(tmp_path)
    assert set(vectors_of(agent).values()) == {(384, 384)}


def test_an_import_keeps_the_encoder_of_its_vectors(tmp_path: Path) -> None:
    """Imported into an empty profile, vectors keep the name of the encoder that made them."""
    source = fill(tmp_path / "a")
    source.export(tmp_path / "export.jsonl")
    target = agent_with(tmp_path / "b", SmallEncoder)
    target.profile_id(create=True)  # the default profile exists, empty
    target.import_file(tmp_path / "export.jsonl")
    with pytest.raises(EncoderMismatchError, match="fake-hashed-words@64"):
        target.search("vegetarian")
    assert target.reindex()[0].action == "reindexed"
    assert target.search("vegetarian").results


def test_encoder_identity_follows_the_weights_not_the_path(tmp_path: Path) -> None:
    from agent.models.locate import ModelSource, encoder_identity

    first = tmp_path / "my-encoder"
    first.mkdir()
    (first / "config.json").write_text("{}")
    (first / "model.safetensors").write_bytes(b"weights one")
    moved = tmp_path / "elsewhere" / "my-encoder"
    moved.parent.mkdir()
    first.rename(moved)
    copy = tmp_path / "my-encoder"
    copy.mkdir()
    (copy / "config.json").write_text("{}")
    (copy / "model.safetensors").write_bytes(b"weights one")
    cache = tmp_path / "cache"
    cache.mkdir()
    same = encoder_identity(ModelSource(copy, "hf"), cache)
    assert same == encoder_identity(ModelSource(moved, "hf"), cache)
    assert same.startswith("my-encoder@") and len(same.split("@")[1]) == 12
    (copy / "model.safetensors").write_bytes(b"weights two")
    assert encoder_identity(ModelSource(copy, "hf"), cache) != same
