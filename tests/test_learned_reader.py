"""The learned reader: KV-MemNN query/key maps over frozen embeddings (agent/memnets/reader.py),
its weights file and its use in the read (agent/memory/query_map.py), the setting, the report.

Small fake embeddings only: no model is loaded."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from agent.core import Agent
from agent.errors import UsageError
from agent.memnets.reader import (
    QueryKeyMaps,
    ReadingTask,
    TrainConfig,
    evaluate,
    save_reader,
    task_scores,
    to_query_map,
    train_reader,
)
from agent.memory.query_map import QueryMap, load_query_map, save_query_map
from agent.settings import Settings
from tests.conftest import make_fake_agent
from tests.fakes import FakeEncoder
from tests.test_eval_locomo import eval_args, no_user_agent, sample
from tui.cli import main as cli_main
from tui.eval_command import eval_locomo

DIM = 16


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Tensors this small train in a fraction of a second on one thread; on a busy machine a
    second thread only adds waiting (seconds)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def unit(x: torch.Tensor) -> torch.Tensor:
    return x / x.norm(dim=-1, keepdim=True)


def synthetic_task(
    name: str, seed: int, shift: torch.Tensor, n: int = 40, q: int = 30
) -> ReadingTask:
    """Random unit keys; question j asks for key j % n, embedded through `shift` (d, d): the
    questions speak another "language" than the keys, which only a learned map undoes."""
    g = torch.Generator().manual_seed(seed)
    keys = unit(torch.randn(n, DIM, generator=g))  # (n, d)
    target = torch.arange(q) % n  # (q,)
    questions = unit(keys[target] @ shift.T + 0.05 * torch.randn(q, DIM, generator=g))
    evidence = torch.zeros(q, n, dtype=torch.bool)
    evidence[torch.arange(q), target] = True
    none = torch.full((n,), -1)
    return ReadingTask(
        name,
        questions,
        keys,
        torch.zeros(q, n),  # no shared terms: BM25 is flat
        torch.zeros(q, n, dtype=torch.bool),
        torch.ones(n),
        none,
        none,
        evidence,
        torch.full((q,), 4),
    )


def shift_matrix() -> torch.Tensor:
    return torch.eye(DIM)[torch.randperm(DIM, generator=torch.Generator().manual_seed(7))]


def test_identity_maps_give_exactly_the_untrained_read() -> None:
    g = torch.Generator().manual_seed(1)
    task = synthetic_task("t", 1, shift_matrix())
    task = ReadingTask(
        **{
            **task.__dict__,
            "lexical": torch.rand(30, 40, generator=g),
            "prev_row": torch.arange(40) - 1,
            "lengths": torch.randint(1, 20, (40,), generator=g).float(),
        }
    )
    maps = QueryKeyMaps(DIM)
    plain = TrainConfig(normalise=False)
    assert torch.equal(task_scores(maps, task, plain), task_scores(None, task, plain))
    normalised = TrainConfig(normalise=True)
    torch.testing.assert_close(task_scores(maps, task, normalised), task_scores(None, task, plain))
    query = task.questions[0]
    assert torch.equal(QueryMap(torch.eye(DIM), normalise=False).apply(query), query)


def test_training_learns_a_map_that_the_identity_cannot_on_held_out_tasks() -> None:
    shift = shift_matrix()
    train = [synthetic_task(f"train-{i}", i, shift) for i in range(2)]
    valid, test = [synthetic_task("valid", 10, shift)], [synthetic_task("test", 11, shift)]
    config = TrainConfig(lr=0.1, max_steps=20, eval_every=5, weight_decay=1e-4)
    result = train_reader(train, valid, config)
    before = evaluate(None, test, config).mean(0)  # recall@1, 5, 10, 20
    after = evaluate(result.maps, test, config).mean(0)
    assert before[0] < 0.2 and after[0] > 0.8, (before, after)
    assert result.best_step > 0 and result.history[0]["step"] == 0


def test_training_keeps_the_identity_when_nothing_generalises() -> None:
    """Validation that never improves stops training at step 0: the untrained read."""
    train = [synthetic_task("a", 1, shift_matrix())]
    valid = [synthetic_task("b", 2, torch.eye(DIM))]  # another shift: training only hurts it
    config = TrainConfig(lr=0.1, max_steps=20, eval_every=5, patience=2)
    result = train_reader(train, valid, config)
    assert result.best_step == 0
    assert torch.equal(result.maps.matrix(), torch.eye(DIM))


def test_the_weights_file_round_trips(tmp_path: Path) -> None:
    torch.manual_seed(0)
    maps = QueryKeyMaps(DIM)
    with torch.no_grad():
        maps.a_q.add_(0.1 * torch.randn(DIM, DIM))
        maps.a_k.add_(0.1 * torch.randn(DIM, DIM))
    config = TrainConfig(normalise=True)
    path = tmp_path / "reader.safetensors"
    save_reader(path, maps, config, ["conv-1", "conv-2"], extra={"best_step": "40"})
    loaded = load_query_map(path, encoder_setting="")
    expected = to_query_map(maps, config, ["conv-1", "conv-2"])
    torch.testing.assert_close(loaded.matrix, expected.matrix)
    assert loaded.normalise and loaded.trained_on == ("conv-1", "conv-2")
    assert loaded.encoder == "packaged" and loaded.path == str(path)
    task = synthetic_task("t", 3, torch.eye(DIM))
    with torch.no_grad():  # the product's q' = M q / |M q| gives the trained maps' dense term
        trained = maps.dense(task.questions, task.keys, normalise=True)
    torch.testing.assert_close(loaded.apply(task.questions) @ task.keys.T, trained)


def test_bad_weights_files_are_clear_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        load_query_map(tmp_path / "missing.safetensors")
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"not a tensor file at all")
    with pytest.raises(UsageError, match="cannot read"):
        load_query_map(garbage)
    other = tmp_path / "other.safetensors"
    save_file({"weight": torch.eye(4)}, str(other))  # a safetensors file, not ours
    with pytest.raises(UsageError, match="not a learned reader weights file"):
        load_query_map(other)
    skewed = tmp_path / "skewed.safetensors"
    save_file({"query_map": torch.ones(4, 3)}, str(skewed), {"format": "memchat-query-map-1"})
    with pytest.raises(UsageError, match="not a learned reader weights file"):
        load_query_map(skewed)
    good = tmp_path / "good.safetensors"
    save_query_map(good, torch.eye(8), False, ["conv-26"])
    with pytest.raises(UsageError, match="trained for the encoder 'packaged'"):
        load_query_map(good, encoder_setting="/models/another-encoder")
    with pytest.raises(UsageError, match="maps 8-d embeddings, but the encoder gives 64-d"):
        load_query_map(good).apply(torch.ones(64))


def test_a_bad_setting_stops_the_agent_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(UsageError, match="no such file"):
        make_fake_agent(tmp_path, reader_weights=str(tmp_path / "missing.safetensors"))
    monkeypatch.setenv("MEMCHAT_HOME", str(tmp_path))
    monkeypatch.setenv("MEMCHAT_READER_WEIGHTS", str(tmp_path / "missing.safetensors"))
    assert cli_main(["memories", "list"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("memchat: error: reader_weights: no such file") and err.count("\n") == 1


def bucket(word: str) -> int:
    """The FakeEncoder's dimension of `word`."""
    return int(hashlib.md5(word.encode()).hexdigest(), 16) % FakeEncoder.dim


def test_the_agent_reads_through_the_map_when_the_setting_is_set(tmp_path: Path) -> None:
    # M = I + e_pottery e_clay^T: a question about clay also asks about pottery
    matrix = torch.eye(FakeEncoder.dim)
    matrix[bucket("pottery"), bucket("clay")] = 3.0
    weights = tmp_path / "reader.safetensors"
    save_query_map(weights, matrix, True, ["conv-26"])
    plain = make_fake_agent(tmp_path / "a")
    learned = make_fake_agent(tmp_path / "b", reader_weights=str(weights))
    assert plain.store.query_map is None and learned.store.query_map is not None
    for agent in (plain, learned):
        agent.add_memory("I love pottery", "a hobby", kind="fact")
        agent.add_memory("I play the violin", "music", kind="fact")
    question = "made of clay?"
    before = {i.key: i.weight for i in plain.search(question, k=2).results}
    after = {i.key: i.weight for i in learned.search(question, k=2).results}
    assert abs(before["I love pottery"] - before["I play the violin"]) < 0.05  # no shared word
    assert after["I love pottery"] > 0.9
    # the read with the map is the plain read of M q / |M q|, and the map is used in turns
    store, pid = learned.store, learned.profile_id()
    q = FakeEncoder().encode([question])[0]
    mapped = store.query_map.apply(q)  # type: ignore[union-attr]
    with_map = store.read(pid, q, 2, query_text=question)
    by_hand = store.read(pid, mapped, 2, query_text=question, learned=False)
    assert [(i.id, i.weight) for i in with_map.results] == [
        (i.id, i.weight) for i in by_hand.results
    ]
    turn = learned.remember(question)
    assert turn.read.results[0].key == "I love pottery"


def test_a_turn_writes_the_question_s_own_embedding_not_the_mapped_one(tmp_path: Path) -> None:
    weights = tmp_path / "reader.safetensors"
    save_query_map(weights, 2.0 * torch.eye(FakeEncoder.dim), False, [])
    agent = make_fake_agent(tmp_path, reader_weights=str(weights))
    turn = agent.remember("I adopted a puppy named Biscuit")
    cache = agent.store.cache(agent.profile_id())
    expected = FakeEncoder().encode([turn.written[0].value])[0]  # the words, as encoded
    assert any(torch.allclose(row.float(), expected, atol=1e-3) for row in cache.keys)
    assert not any(row.float().norm() > 1.5 for row in cache.keys)


def test_the_locomo_report_gains_the_learned_reader_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "two.json"
    data.write_text(json.dumps([sample("conv-t"), sample("conv-u")]), encoding="utf-8")
    weights = tmp_path / "reader.safetensors"
    save_query_map(weights, torch.eye(FakeEncoder.dim), False, ["conv-t"])

    def build(settings: Settings) -> Agent:  # the eval's agent, on fake models
        return make_fake_agent(tmp_path, db=settings.db, reader_weights=settings.reader_weights)

    out = tmp_path / "report"
    argv = ("--data", str(data), "--out", str(out), "--retrieval-only")
    assert (
        eval_locomo(eval_args(*argv, "--reader-weights", str(weights)), no_user_agent, build) == 0
    )
    printed = capsys.readouterr().out
    assert "learned reader, held out (conv-u):" in printed
    doc = json.loads((out / "report.json").read_text())
    assert {"reader untrained", "reader learned"} <= set(doc["baselines"])
    reader = doc["learned_reader"]
    assert reader["trained_on"] == ["conv-t"] and reader["weights"] == str(weights)
    held, seen = reader["held_out"], reader["trained_on_figures"]
    assert held["conversations"] == ["conv-u"] and seen["conversations"] == ["conv-t"]
    assert held["questions"] == seen["questions"] == 5
    assert held["learned"]["recall_at"] == held["untrained"]["recall_at"]  # M = I
    assert doc["settings"]["reader_weights"] == str(weights)
    md = (out / "report.md").read_text()
    assert "## Learned reader" in md and "| held out: conv-u | 5 |" in md
    assert "| trained on (seen): conv-t | 5 |" in md
    with pytest.raises(UsageError, match="no such file"):
        missing = ("--reader-weights", str(tmp_path / "none.safetensors"))
        eval_locomo(eval_args(*argv[:2], "--out", str(tmp_path / "r2"), *missing), no_user_agent)
    assert not (tmp_path / "r2").exists()
