"""The memory math against values computed by hand."""

from __future__ import annotations

import math

import pytest
import torch

from agent.memory.cache import KeyCache, blob_to_vector, quantize_rows, vector_to_blob
from agent.memory.read import (
    attention_weights,
    multi_hop_read,
    next_query,
    read_vector,
    top_k,
)
from agent.memory.usage import decayed_usage, lowest_usage, usage_update


def test_attention_weights_by_hand() -> None:
    q = torch.tensor([1.0, 0.0])
    keys = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    scores, weights = attention_weights(q, keys, tau=0.5)
    # s = [1, 0, 0.6] / 0.5 = [2, 0, 1.2]
    assert scores.tolist() == pytest.approx([2.0, 0.0, 1.2])
    z = math.exp(2) + math.exp(0) + math.exp(1.2)  # 11.7092
    expected = [math.exp(2) / z, 1 / z, math.exp(1.2) / z]  # [0.6311, 0.0854, 0.2835]
    assert weights.tolist() == pytest.approx(expected, abs=1e-6)
    assert float(weights.sum()) == pytest.approx(1.0)


def test_read_vector_is_weighted_sum_of_values() -> None:
    weights = torch.tensor([0.5, 0.25, 0.25])
    values = torch.tensor([[2.0, 0.0], [0.0, 4.0], [4.0, 4.0]])
    # 0.5*[2,0] + 0.25*[0,4] + 0.25*[4,4] = [2, 2]
    assert read_vector(weights, values).tolist() == pytest.approx([2.0, 2.0])


def test_next_query_adds_read_and_normalises() -> None:
    q = torch.tensor([1.0, 0.0])
    o = torch.tensor([0.0, 1.0])
    # normalize([1, 0] + 1.0 * [0, 1]) = [0.7071, 0.7071]
    assert next_query(q, o, 1.0).tolist() == pytest.approx([2**-0.5, 2**-0.5])


def test_second_hop_finds_what_the_first_points_to() -> None:
    # Memory 0: key "sister?" -> value pointing at "Alice"; memory 1: key "Alice" -> "Lyon".
    keys = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    values = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    hops = multi_hop_read(torch.tensor([1.0, 0.0, 0.0]), keys, values, tau=0.1, hops=2)
    assert len(hops) == 2
    assert int(hops[0].weights.argmax()) == 0
    # after hop 1 the query is normalize(e0 + ~e1): memories 0 and 1 tie for the top
    second = hops[1].weights
    assert float(second[1]) == pytest.approx(float(second[0]), rel=1e-3)
    assert float(second[1]) > 10 * float(second[2])


def test_top_k_and_usage() -> None:
    weights = torch.tensor([0.1, 0.6, 0.3])
    values, rows = top_k(weights, 2)
    assert rows.tolist() == [1, 2]
    assert values.tolist() == pytest.approx([0.6, 0.3])
    assert top_k(weights, 10)[1].tolist() == [1, 2, 0]
    # u + w - u*w: 0.5 + 0.2 - 0.1 = 0.6; a write (w=1) sets usage to 1
    assert usage_update(torch.tensor(0.5), torch.tensor(0.2)).item() == pytest.approx(0.6)
    assert usage_update(torch.tensor(0.3), torch.tensor(1.0)).item() == pytest.approx(1.0)


def test_key_cache_put_remove_grow() -> None:
    cache = KeyCache(dim=2, capacity=2)
    for i in range(5):  # grows past its capacity twice
        cache.put(10 + i, "turn", torch.tensor([float(i), 0.0]), torch.tensor([0.0, float(i)]))
    assert len(cache) == 5
    cache.remove(11)  # the last row (id 14) moves into row 1
    assert cache.ids == [10, 14, 12, 13]
    assert cache.row(14) == 1
    assert cache.keys[1].tolist() == pytest.approx([4.0, 0.0], rel=1e-3)  # int8 and a scale
    assert cache.values[1].tolist() == [0.0, 4.0]
    cache.put(12, "fact", torch.tensor([9.0, 9.0]), torch.tensor([1.0, 1.0]))  # overwrite
    assert cache.kind(cache.row(12)) == "fact"
    assert cache.keys[cache.row(12)].tolist() == pytest.approx([9.0, 9.0], rel=1e-3)
    cache.remove(999)  # unknown: nothing happens
    assert len(cache) == 4


def test_int8_keys_keep_cosines_and_order() -> None:
    """The cache's int8 keys give K q within 0.005 of float32 on unit vectors (MiniLM's), keep
    the nearest key first, and an empty cache reads as no scores."""
    generator = torch.Generator().manual_seed(0)
    keys = torch.nn.functional.normalize(torch.randn(2000, 384, generator=generator), dim=1)
    query = keys[17] + 0.05 * torch.randn(384, generator=generator)
    query = query / query.norm()
    cache = KeyCache.from_tensors(list(range(2000)), ["turn"] * 2000, keys, keys)
    exact = keys @ query  # (n,)
    got = cache.cosines(query)
    assert got.dtype == torch.float32 and got.shape == (2000,)
    assert (got - exact).abs().max().item() < 0.005
    assert int(got.argmax()) == 17
    one = KeyCache(dim=384)
    one.put(5, "fact", keys[3], keys[3])  # one row put alone quantises the same way
    assert one.cosines(query).item() == pytest.approx(exact[3].item(), abs=0.005)
    assert KeyCache(dim=384).cosines(query).shape == (0,)
    q8, scales = quantize_rows(torch.tensor([[0.5, -1.0, 0.25], [0.0, 0.0, 0.0]]))
    assert q8.dtype == torch.int8 and q8[0].tolist() == [64, -127, 32]
    assert q8[1].tolist() == [0, 0, 0]  # a zero row stays zero (its scale is clamped, not 0)


@pytest.mark.parametrize("dim", [2, 3, 17, 100, 384])
def test_int8_keys_of_any_width(dim: int) -> None:
    """The int8 kernel reads 16 values at a time; other widths are padded (unpadded, a width
    of 3 returned NaN and 100 wrong sums)."""
    generator = torch.Generator().manual_seed(dim)
    keys = torch.nn.functional.normalize(torch.randn(37, dim, generator=generator), dim=1)
    cache = KeyCache.from_tensors(list(range(37)), ["turn"] * 37, keys, keys)
    cache.put(99, "fact", keys[0], keys[0])
    exact = torch.cat([keys @ keys[5], keys[:1] @ keys[5]])
    assert (cache.cosines(keys[5]) - exact).abs().max().item() < 0.01
    assert cache.keys.shape == (38, dim)


def test_blobs_round_trip_and_from_rows() -> None:
    vec = torch.tensor([0.25, -1.5, 3.0])
    blob = vector_to_blob(vec)
    assert len(blob) == 12 and blob[:4] == b"\x00\x00\x80>"  # 0.25 little-endian float32
    assert blob_to_vector(blob).tolist() == vec.tolist()
    cache = KeyCache.from_rows(
        3, [(7, "note", blob, blob), (9, "turn", blob, vector_to_blob(-vec))]
    )
    assert cache.ids == [7, 9]
    assert cache.values[1].tolist() == (-vec).tolist()


def test_usage_halves_every_half_life() -> None:
    usage = torch.tensor([0.8, 0.8, 0.5])
    age = torch.tensor([0.0, 10.0, 20.0])  # seconds
    assert decayed_usage(usage, age, 10.0).tolist() == pytest.approx([0.8, 0.4, 0.125])
    assert decayed_usage(usage, age, 0.0).tolist() == pytest.approx([0.8, 0.8, 0.5])  # no decay
    assert decayed_usage(usage, torch.tensor([-5.0, 0, 0]), 10.0)[0] == pytest.approx(0.8)


def test_lowest_usage_skips_pinned_and_breaks_ties_by_age() -> None:
    usage = torch.tensor([0.5, 0.1, 0.1, 0.0, 0.9])
    freeable = torch.tensor([True, True, True, False, True])  # row 3 is pinned
    assert lowest_usage(usage, freeable, 2).tolist() == [1, 2]
    assert lowest_usage(usage, freeable, 3).tolist() == [1, 2, 0]
    assert lowest_usage(usage, freeable, 10).tolist() == [1, 2, 0, 4]
    assert lowest_usage(usage, freeable, 0).tolist() == []


def test_read_vector_in_half_precision_matches_float() -> None:
    g = torch.Generator().manual_seed(0)
    values = torch.randn(5000, 16, generator=g)
    weights = torch.softmax(torch.randn(5000, generator=g) * 3, dim=0)
    exact = (weights.double() @ values.double()).float()
    half = read_vector(weights, values.half())
    assert torch.allclose(half, exact, atol=2e-3)
    assert torch.allclose(read_vector(weights, values), exact, atol=1e-5)


def test_the_key_cache_holds_int8_keys_and_reads_like_float() -> None:
    cache = KeyCache(3)
    cache.put(1, "fact", torch.tensor([0.6, 0.8, 0.0]), torch.tensor([1.0, 0.0, 0.0]))
    assert cache._keys.dtype == torch.int8 and cache.values.dtype == torch.float16
    query = torch.tensor([0.6, 0.8, 0.0])
    (hop,) = multi_hop_read(query, cache.cosines, cache.values, tau=1.0)
    assert hop.scores[0].item() == pytest.approx(1.0, abs=1e-3) and hop.read is None


def test_text_index_rows_follow_the_cache_after_removals() -> None:
    from agent.memory.text_index import TextIndex

    cache, text = KeyCache(2), TextIndex()
    speakers = ["Ann", "Bob", "Ann", "Bob", "Cy"]
    for i, speaker in enumerate(speakers, start=1):  # a chain of turn memories 1..5
        cache.put(i, "turn", torch.tensor([1.0, 0.0]), torch.tensor([1.0, 0.0]))
        text.put(i, f"turn number {i} words", speaker, i - 1 if i > 1 else None, None)
    cache.remove(2)  # row of 5 moves into row 1
    text.remove(2)
    rows = text.rows(cache)
    row_of = {memory_id: cache.row(memory_id) for memory_id in (1, 3, 4, 5)}
    prev = {m: rows.prev_row[r].item() for m, r in row_of.items()}
    nxt = {m: rows.next_row[r].item() for m, r in row_of.items()}
    assert prev == {1: -1, 3: row_of[1], 4: row_of[3], 5: row_of[4]}
    assert nxt == {1: row_of[3], 3: row_of[4], 4: row_of[5], 5: -1}
    named = text.speaker_match(cache, "what did ann say?")
    assert {m for m, r in row_of.items() if named[r]} == {1, 3}
    assert rows.lengths[row_of[4]].item() == 4.0  # turn, number, 4, word


def test_text_index_load_equals_putting_one_by_one() -> None:
    from agent.memory.text_index import TextIndex

    rows = [
        (1, "Ann likes jazz", "Ann", None, 2, "Ann likes jazz"),
        (2, "Bob plays violin", "Bob", 1, 4, "Bob plays violin"),
        (3, "diet", "", None, None, "vegan"),
        (4, "Ann moved to Lyon", "Ann", 2, None, "Ann moved to Lyon"),
    ]
    cache = KeyCache(2)
    for memory_id, *_ in rows:
        cache.put(memory_id, "turn", torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]))
    loaded, put = TextIndex.load(rows), TextIndex()
    for memory_id, key, speaker, prev_id, next_id, value in rows:
        put.put(memory_id, key, speaker, prev_id, next_id, value)
    a, b = loaded.rows(cache), put.rows(cache)
    for field in ("lengths", "prev_row", "next_row"):
        assert torch.equal(getattr(a, field), getattr(b, field)), field
    assert torch.equal(loaded.speaker_match(cache, "Ann?"), put.speaker_match(cache, "Ann?"))
    assert torch.equal(
        loaded.lexical_scores(cache, "jazz Lyon"), put.lexical_scores(cache, "jazz Lyon")
    )
    assert loaded.value_texts == put.value_texts
    for memory_id, *_ in rows:
        assert set(loaded.terms_of_value(memory_id)) == set(put.terms_of_value(memory_id))


@pytest.mark.parametrize("n", [10, 32_768, 32_769, 100_000, 16_384 * 5 + 3])
def test_top_k_over_chunks_equals_one_topk(n: int) -> None:
    """Past two chunks top_k works chunk by chunk; the k largest and their rows are the same
    (distinct weights; the winners may all sit in one chunk or in the tail after the last)."""
    weights = torch.randperm(n).float()  # distinct
    for k in (1, 5, 50):
        got = top_k(weights, k)
        expected = torch.topk(weights, min(k, n))
        assert torch.equal(got[0], expected[0]) and torch.equal(got[1], expected[1])
    clustered = torch.zeros(n)
    clustered[-7:] = torch.arange(1.0, 8.0)  # the largest in the tail (or the last chunk)
    assert torch.equal(top_k(clustered, 7)[1], torch.arange(n - 1, n - 8, -1))


def test_put_many_equals_puts_one_by_one() -> None:
    """A unit's memories go into the cache at once: the same rows, keys, values and kinds as
    putting them one by one, across a growth of the buffers and with an overwrite."""
    generator = torch.Generator().manual_seed(5)
    keys, values = (
        torch.randn(40, 20, generator=generator),
        torch.randn(40, 20, generator=generator),
    )
    ids, kinds = list(range(100, 140)), ["turn", "fact"] * 20
    one, many = KeyCache(20, capacity=16), KeyCache(20, capacity=16)
    for i in range(30):
        one.put(ids[i], kinds[i], keys[i], values[i])
    many.put_many(ids[:30], kinds[:30], keys[:30], values[:30])
    new = [3, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39]  # memory 103 again, then ten new ones
    for i in new:
        one.put(ids[i], "pref", keys[i] * 2, values[i])
    many.put_many([ids[i] for i in new], ["pref"] * len(new), keys[new] * 2, values[new])
    assert one.ids == many.ids and len(one) == 40
    assert [one.kind(r) for r in range(40)] == [many.kind(r) for r in range(40)]
    assert torch.equal(one.keys, many.keys) and torch.equal(one.values, many.values)
    assert torch.equal(one.cosines(keys[5]), many.cosines(keys[5]))
