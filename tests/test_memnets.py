"""The trainable memory networks: bAbI parsing, MemN2N and KV-MemNN shapes, masking, and a
small task each learns in seconds."""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from agent.memnets.babi import Batch, Vocab, parse, vectorize, words
from agent.memnets.embedding import position_encoding
from agent.memnets.kvmemnn import KeyValueMemoryNetwork
from agent.memnets.memn2n import MemN2N
from agent.memnets.train import accuracy, add_noise, epoch_batches, logits_of, train, trimmed

ROOT = Path(__file__).resolve().parents[1]

SAMPLE = """1 Mary moved to the bathroom.
2 John went to the hallway.
3 Where is Mary? \tbathroom\t1
4 Daniel went back to the hallway.
5 Where is Daniel? \thallway\t4
1 Sandra journeyed to the bedroom.
2 How do you go from the kitchen to the garden?\ts,e\t1
"""


def test_parse_splits_stories_questions_answers_and_support() -> None:
    first, second, third = parse(SAMPLE)
    assert first.story == [
        ["mary", "moved", "to", "the", "bathroom"],
        words("John went to the hallway."),
    ]
    assert first.question == ["where", "is", "mary"] and first.answer == "bathroom"
    assert first.support == [0]
    assert len(second.story) == 3 and second.support == [2] and second.answer == "hallway"
    assert third.story == [["sandra", "journeyed", "to", "the", "bedroom"]]  # a new story
    assert third.answer == "s,e"  # a path answer is one class


def test_vectorize_puts_the_most_recent_memory_first_and_pads_with_zero() -> None:
    examples = parse(SAMPLE)
    vocab = Vocab.build(examples)
    batch = vectorize(examples, vocab, memories=2)
    assert batch.story.shape == (3, 2, 10) and batch.question.shape == (3, 10)  # longest: 10 words
    # example 2 keeps its last two statements, newest first
    assert (
        batch.story[1, 0, 0] == vocab.index["daniel"]
        and batch.story[1, 1, 0] == vocab.index["john"]
    )
    assert batch.story[2, 1].eq(0).all()  # one statement: the second memory is empty
    assert batch.answer.tolist() == [vocab.index[a] for a in ("bathroom", "hallway", "s,e")]


def test_position_encoding_against_hand_computed_values() -> None:
    # l_kj = 1 + 4 (k - (d+1)/2)(j - (J+1)/2) / (d J) with J = 2, d = 2: 1 + (k - 1.5)(j - 1.5)
    expected = torch.tensor([[1 + 0.25, 1 - 0.25], [1 - 0.25, 1 + 0.25]])
    torch.testing.assert_close(position_encoding(2, 2), expected)


def test_memn2n_shapes_and_empty_memories_change_nothing() -> None:
    torch.manual_seed(0)
    model = MemN2N(vocab=12, dim=8, hops=3, memories=6).eval()
    story = torch.randint(1, 12, (4, 3, 5))
    question = torch.randint(1, 12, (4, 5))
    logits = model(story, question)
    assert logits.shape == (4, 12)
    padded = torch.cat([story, torch.zeros(4, 3, 5, dtype=torch.long)], dim=1)  # 3 empty memories
    torch.testing.assert_close(model(padded, question), logits)
    model.linear_start = True
    assert model(padded, question).shape == (4, 12)
    assert torch.isfinite(model(torch.zeros(1, 2, 5, dtype=torch.long), question[:1])).all()


def where_is_task(n: int, seed: int, moves: int = 4, names: int = 4) -> str:
    """bAbI task 1 in miniature: `names` people move among `names` places, `moves` moves a
    story; where is one of them?"""
    rng = random.Random(seed)
    people = ["mary", "john", "sandra", "daniel"][:names]
    places = ["kitchen", "garden", "office", "hallway"][:names]
    lines = []
    for _ in range(n):
        story = [(rng.choice(people), rng.choice(places)) for _ in range(moves)]
        for i, (who, where) in enumerate(story, start=1):
            lines.append(f"{i} {who} went to the {where}.")
        who = rng.choice([w for w, _ in story])
        last = max(i for i, (w, _) in enumerate(story) if w == who)
        lines.append(f"{moves + 1} Where is {who}? \t{story[last][1]}\t{last + 1}")
    return "\n".join(lines)


def held_out_accuracy(make_model: Callable[[int], torch.nn.Module], seed: int = 0) -> float:
    """Train make_model(vocab size) on the small where-is task; its held-out accuracy."""
    torch.manual_seed(seed)
    train, test = parse(where_is_task(400, seed=1)), parse(where_is_task(100, seed=2))
    vocab = Vocab.build(train)
    data, held = vectorize(train, vocab, memories=4), vectorize(test, vocab, memories=4)
    model = make_model(len(vocab))
    optimiser = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(60):
        for start in range(0, len(train), 32):
            part = slice(start, start + 32)
            loss = torch.nn.functional.cross_entropy(
                model(data.story[part], data.question[part]), data.answer[part]
            )
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    with torch.no_grad():
        return float((model(held.story, held.question).argmax(-1) == held.answer).float().mean())


def test_memn2n_learns_a_small_where_is_task_in_seconds() -> None:
    assert held_out_accuracy(lambda v: MemN2N(v, dim=20, hops=2, memories=4)) > 0.9


def test_kv_memnn_learns_the_same_task() -> None:
    accuracy = held_out_accuracy(
        lambda v: KeyValueMemoryNetwork(v, answers=v, dim=20, hops=2, memories=4)
    )
    assert accuracy > 0.9


def test_kv_memnn_embedding_layouts() -> None:
    shared = KeyValueMemoryNetwork(12, answers=5, dim=8, hops=3, embeddings="shared")
    separate = KeyValueMemoryNetwork(12, answers=5, dim=8, hops=3, embeddings="separate")
    adjacent = KeyValueMemoryNetwork(12, answers=5, dim=8, hops=3, embeddings="adjacent")
    assert [len(m.embeddings) for m in (shared, separate, adjacent)] == [1, 3, 4]
    assert (separate.key_of, separate.value_of) == ([1, 1, 1], [2, 2, 2])
    # adjacent tying: hop h reads keys through E_h and values through E_h+1, as in MemN2N
    assert (adjacent.key_of, adjacent.value_of) == ([0, 1, 2], [1, 2, 3])
    assert (adjacent.key_time_of, adjacent.value_time_of) == ([0, 1, 2], [1, 2, 3])
    assert (shared.key_time_of, shared.value_time_of) == ([0, 0, 0], [1, 1, 1])
    assert len(KeyValueMemoryNetwork(12, 5, hops=3, temporal=False).times) == 0
    with pytest.raises(ValueError, match="embeddings 'tied'"):
        KeyValueMemoryNetwork(12, answers=5, embeddings="tied")
    accuracy = held_out_accuracy(
        lambda v: KeyValueMemoryNetwork(
            v, answers=v, dim=20, hops=2, memories=4, embeddings="adjacent"
        )
    )
    assert accuracy > 0.9


def test_kv_memnn_shapes_masking_and_separate_values() -> None:
    torch.manual_seed(0)
    model = KeyValueMemoryNetwork(vocab=12, answers=5, dim=8, hops=2, memories=6).eval()
    story, question = torch.randint(1, 12, (3, 2, 4)), torch.randint(1, 12, (3, 4))
    logits = model(story, question)
    assert logits.shape == (3, 5)
    padded = torch.cat([story, torch.zeros(3, 2, 4, dtype=torch.long)], dim=1)  # empty memories
    torch.testing.assert_close(model(padded, question), logits)
    values = torch.randint(1, 12, (3, 2, 7))  # values need not look like the keys
    assert not torch.allclose(model(story, question, values), logits)
    model.linear_start = True  # the read without its softmax: still masked
    torch.testing.assert_close(model(padded, question), model(story, question))
    model.linear_start = False
    for r in model.hop_maps:  # R_h starts as the identity: q <- q + o
        torch.testing.assert_close(r.weight, torch.eye(8))


def test_the_chat_path_does_not_import_the_memory_networks() -> None:
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import tui.app, agent.bootstrap; "
        "print('agent.memnets' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(ROOT)], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"


def test_random_noise_inserts_empty_memories_and_keeps_the_order() -> None:
    story = torch.tensor([[[1, 1], [2, 2], [3, 3], [4, 4]]])  # (1, 4, 2), newest first
    generator = torch.Generator().manual_seed(0)
    assert torch.equal(add_noise(story, 0.0, generator), story)
    every = add_noise(story, 1.0, generator)  # an empty memory after each one
    assert every[0, :, 0].tolist() == [1, 0, 2, 0]


def test_training_with_linear_start_puts_the_softmax_back_and_learns() -> None:
    torch.manual_seed(0)
    train_set, test_set = parse(where_is_task(400, seed=1)), parse(where_is_task(100, seed=2))
    vocab = Vocab.build(train_set)
    data, held = vectorize(train_set, vocab, memories=4), vectorize(test_set, vocab, memories=4)
    model = MemN2N(len(vocab), dim=20, hops=2, memories=4)
    history = train(model, data, held, epochs=30, linear_start_epochs=5, noise=0.0)
    assert history.linear_start_ended == 5 and not model.linear_start
    assert len(history.valid_loss) == 35 and accuracy(model, held) > 0.9


def test_trimming_drops_only_slots_empty_in_every_story() -> None:
    story = torch.zeros(2, 5, 3, dtype=torch.long)
    story[0, :2, 0] = 4  # two memories
    story[1, :3, 1] = 7  # three memories
    assert trimmed(story).shape == (2, 3, 3)
    assert trimmed(torch.zeros(1, 4, 2, dtype=torch.long)).shape == (1, 1, 2)


def test_bucketed_batches_cover_every_example_once_with_similar_lengths() -> None:
    lengths = torch.tensor([1, 50] * 64)  # (128,)
    generator = torch.Generator().manual_seed(0)
    batches = epoch_batches(lengths, 32, generator, bucket=True)
    assert sorted(torch.cat(batches).tolist()) == list(range(128))
    assert all(len(set(lengths[b].tolist())) == 1 for b in batches)  # short and long apart
    plain = epoch_batches(lengths, 32, generator, bucket=False)
    assert sorted(torch.cat(plain).tolist()) == list(range(128))


def test_trimmed_evaluation_matches_the_padded_forward_pass() -> None:
    torch.manual_seed(0)
    model = MemN2N(vocab=12, dim=8, hops=2, memories=10).eval()
    story = torch.zeros(5, 10, 4, dtype=torch.long)
    story[:, :3] = torch.randint(1, 12, (5, 3, 4))
    batch = Batch(story, torch.randint(1, 12, (5, 4)), torch.randint(0, 12, (5,)))
    with torch.no_grad():
        torch.testing.assert_close(logits_of(model, batch, chunk=2), model(story, batch.question))


class BagAnswer(torch.nn.Module):
    """A memory-less baseline: the answer from the question's bag of words."""

    def __init__(self, vocab: int) -> None:
        super().__init__()
        self.embed = torch.nn.EmbeddingBag(vocab, vocab, padding_idx=0)

    def forward(self, story: torch.Tensor, question: torch.Tensor) -> torch.Tensor:
        return self.embed(question)


def test_training_leaves_models_without_linear_start_without_it() -> None:
    # a model without the flag (the DNC) must not gain one: a second train() call
    # would then run linear-start epochs it ignores
    train_set = parse(where_is_task(40, seed=1))
    vocab = Vocab.build(train_set)
    data = vectorize(train_set, vocab, memories=4)
    model = BagAnswer(len(vocab))
    history = train(model, data, data, epochs=1, noise=0.0)
    assert not hasattr(model, "linear_start") and history.linear_start_ended is None
    assert len(history.valid_loss) == 1


def test_keep_best_restores_the_epoch_with_the_lowest_validation_error() -> None:
    # validation answers that disagree with training ones: fitting the training set makes
    # the validation error rise, so the best epoch is an early one and must be restored
    torch.manual_seed(0)
    train_set = parse(where_is_task(200, seed=1))
    vocab = Vocab.build(train_set)
    data = vectorize(train_set, vocab, memories=4)
    misled = Batch(data.story, data.question, data.answer.roll(1))
    model = MemN2N(len(vocab), dim=10, hops=1, memories=4)
    history = train(model, data, misled, epochs=8, linear_start_epochs=2, noise=0.0, keep_best=True)
    after_linear_start = history.valid_error[2:]
    assert history.best_epoch == 2 + after_linear_start.index(min(after_linear_start))
    assert history.valid_error[-1] > history.valid_error[history.best_epoch]
    assert 1 - accuracy(model, misled) == pytest.approx(history.valid_error[history.best_epoch])


def test_training_keeps_the_nil_word_at_zero_in_the_answer_matrix() -> None:
    torch.manual_seed(0)
    train_set = parse(where_is_task(100, seed=1))
    vocab = Vocab.build(train_set)
    data = vectorize(train_set, vocab, memories=4)
    model = MemN2N(len(vocab), dim=8, hops=2, memories=4)
    train(model, data, data, epochs=2, linear_start_epochs=0, noise=0.0)
    # W = E_K^T scores the nil word as an answer too: without the reset its row moves
    assert bool((model.embeddings[-1].embedding.weight[0] == 0).all())
