"""MemN2N's restarts trained in lockstep (agent/memnets/restarts.py) and the attention read
over empty memory slots (agent/memnets/attention.py)."""

from __future__ import annotations

import torch

from agent.memnets.attention import memory_attention
from agent.memnets.babi import Vocab, parse, vectorize
from agent.memnets.kvmemnn import KeyValueMemoryNetwork, last_words
from agent.memnets.memn2n import MemN2N
from agent.memnets.restarts import (
    NO_NOISE,
    MemN2NRestarts,
    noisy_times,
    position_bags,
    restart_errors,
    train_restarts,
)
from agent.memnets.train import accuracy, add_noise
from tests.test_memnets import where_is_task


def test_attention_without_empty_slots_is_the_softmax_over_present_memories() -> None:
    scores = torch.tensor([[1.0, 2.0, 5.0], [0.5, -1.0, 3.0]])
    present = torch.tensor([[True, True, False], [True, True, True]])
    p = memory_attention(scores, present)
    torch.testing.assert_close(
        p[0], torch.cat([torch.tensor([1.0, 2.0]).softmax(-1), torch.zeros(1)])
    )
    torch.testing.assert_close(p[1], scores[1].softmax(-1))
    torch.testing.assert_close(memory_attention(scores, present, torch.tensor([0, 0])), p)


def test_attention_reads_each_empty_slot_as_a_zero_score() -> None:
    scores = torch.tensor([[1.0, 2.0, 0.0]])
    present = torch.tensor([[True, True, False]])
    p = memory_attention(scores, present, torch.tensor([4]))  # 4 empty slots, score 0 each
    e1, e2 = torch.tensor(1.0).exp(), torch.tensor(2.0).exp()
    torch.testing.assert_close(p[0], torch.stack([e1, e2, torch.tensor(0.0)]) / (e1 + e2 + 4))
    nothing = memory_attention(torch.zeros(1, 2), torch.zeros(1, 2, dtype=torch.bool))
    assert nothing.tolist() == [[0.0, 0.0]]  # no memory and no empty slot: reads nothing


def batch(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    story = torch.randint(0, 30, (5, 12, 6), generator=generator)  # (B, M, J), some pad words
    story[:, 7:] = 0  # stories of at most 7 memories
    story[0, 3:] = 0
    return story, torch.randint(1, 30, (5, 6), generator=generator)


def test_each_restart_is_the_plain_memn2n_with_its_weights() -> None:
    story, question = batch()
    for read_empty in (True, False):
        torch.manual_seed(0)
        restarts = MemN2NRestarts(3, 30, dim=8, memories=12, read_empty_slots=read_empty)
        ages, kept = noisy_times(story.ne(0).any(-1), 3, 0.0, 12, NO_NOISE)
        for linear in (False, True):
            restarts.linear_start = linear
            logits = restarts(story, question, ages, kept)  # (R, B, V)
            for r in range(3):
                plain = restarts.restart(r)
                plain.linear_start = linear
                torch.testing.assert_close(logits[r], plain(story, question))
        assert not torch.allclose(logits[0], logits[1])  # different initialisations


def test_noise_as_memory_ages_is_train_add_noise() -> None:
    story, question = batch(1)
    torch.manual_seed(0)
    restarts = MemN2NRestarts(1, 30, dim=8, memories=12)
    ages, kept = noisy_times(story.ne(0).any(-1), 1, 0.3, 12, torch.Generator().manual_seed(5))
    noisy = add_noise(story, 0.3, torch.Generator().manual_seed(5))
    assert not torch.equal(noisy, story)
    torch.testing.assert_close(
        restarts(story, question, ages, kept)[0], restarts.restart(0)(noisy, question)
    )


def test_position_bags_give_the_position_encoded_sum() -> None:
    story, _ = batch(2)
    torch.manual_seed(0)
    restarts = MemN2NRestarts(2, 30, dim=8, memories=12)
    sentences = story.flatten(0, 1)  # (B*M, J)
    embedded = restarts.embed(position_bags(sentences, 30))  # (N, R, K+1, d)
    plain = restarts.restart(1)
    torch.testing.assert_close(embedded[:, 1, 2], plain.embeddings[2](sentences))


def test_gradients_are_clipped_per_restart_and_matrix() -> None:
    restarts = MemN2NRestarts(2, 10, dim=4, hops=1, memories=3)
    restarts.embeddings.grad = torch.zeros_like(restarts.embeddings)
    restarts.embeddings.grad[0, 0, 1, 0] = 100.0  # restart 0, E_0: norm 100 -> 40
    restarts.embeddings.grad[1, 1, 2, 3] = 30.0  # restart 1, E_1: under the limit
    restarts.times.grad = torch.full_like(restarts.times, 1.0)  # norm sqrt(12): kept
    restarts.clip_gradients(40.0)
    assert abs(float(restarts.embeddings.grad[0, 0, 1, 0]) - 40.0) < 1e-4
    assert restarts.embeddings.grad[1, 1, 2, 3] == 30.0
    assert torch.equal(restarts.times.grad, torch.ones_like(restarts.times))


def test_every_restart_learns_the_where_is_task_and_pad_stays_zero() -> None:
    torch.manual_seed(0)
    train_set, test_set = parse(where_is_task(400, seed=1)), parse(where_is_task(100, seed=2))
    vocab = Vocab.build(train_set)
    data, held = vectorize(train_set, vocab, memories=4), vectorize(test_set, vocab, memories=4)
    restarts = MemN2NRestarts(3, len(vocab), dim=20, hops=2, memories=4)
    history = train_restarts(restarts, data, held, epochs=25, linear_start_epochs=5, lr=0.01)
    assert history.linear_start_ended == 5 and len(history.valid_error) == 30
    errors = restart_errors(restarts, held)
    assert errors.shape == (3,) and bool((errors < 0.1).all())
    assert bool((restarts.embeddings[:, :, 0] == 0).all())  # the nil word, after training
    for r in range(3):  # the exported model agrees with the stacked one
        assert abs(accuracy(restarts.restart(r), held) - (1 - float(errors[r]))) < 1e-6


def test_memn2n_reads_empty_slots_only_when_asked() -> None:
    story, question = batch(3)
    torch.manual_seed(0)
    masked = MemN2N(30, dim=8, memories=12).eval()
    read = MemN2N(30, dim=8, memories=12, read_empty_slots=True).eval()
    read.load_state_dict(masked.state_dict())
    assert not torch.allclose(masked(story, question), read(story, question))
    full = story.clone()
    full[full.ne(0).any(-1).logical_not()] = 5  # every slot holds a memory: nothing empty
    torch.testing.assert_close(masked(full, question), read(full, question))


def test_restarts_with_hop_maps_are_the_kv_memnn_with_its_weights() -> None:
    story, question = batch(4)
    torch.manual_seed(0)
    restarts = MemN2NRestarts(2, 30, dim=8, memories=12, hop_maps=True, map_lr=0.1)
    assert restarts.maps is not None
    with torch.no_grad():
        restarts.maps.add_(torch.randn_like(restarts.maps) * 0.2)  # not the identity any more
    ages, kept = noisy_times(story.ne(0).any(-1), 2, 0.0, 12, NO_NOISE)
    logits = restarts(story, question, ages, kept)
    for r in range(2):
        kv = restarts.restart(r)
        assert isinstance(kv, KeyValueMemoryNetwork)
        torch.testing.assert_close(logits[r], kv(story, question))
    assert [g["lr"] for g in restarts.param_groups(0.5)] == [0.5, 0.05]
    assert [g["lr"] for g in kv.param_groups(0.5)] == [0.5, 0.05]


def test_kv_memnn_last_word_values_and_tied_output() -> None:
    torch.manual_seed(0)
    story = torch.tensor([[[3, 4, 5, 0], [6, 7, 0, 0], [0, 0, 0, 0]]])  # (1, 3, 4)
    assert last_words(story).tolist() == [[[5], [7], [0]]]
    kv = KeyValueMemoryNetwork(9, answers=9, dim=4, hops=2, values="last_word", output="tied")
    kv.eval()
    question = torch.tensor([[3, 7, 0, 0]])
    # the values are the last words: the same as passing them in as value sentences
    torch.testing.assert_close(kv(story, question), kv(story, question, last_words(story)))
    with torch.no_grad():  # tied: the answers are read through the last hop's value embedding
        kv.embeddings[-1].embedding.weight[8] = 0.0
        assert float(kv(story, question)[0, 8]) == 0.0
