"""Loading a profile's read cache from stored key terms: the BM25 arrays score exactly like
the dict index, stored terms stay equal to recomputed ones through every write, and a database
without them (older schema, or an old import) loads and reads the same, storing them once."""

from __future__ import annotations

import math
import random
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select, update

from agent.core import Agent
from agent.memory.lexical import LexicalIndex, decode_terms, encode_terms, term_keys, tokens
from agent.memory.store import MemoryStore
from agent.memory.text_index import TextIndex
from storage.models import Memory
from tests.conftest import make_fake_agent
from tests.fakes import FakeEncoder

pytestmark = pytest.mark.usefixtures("each_engine")

WORDS = ["jazz", "lyon", "alice", "hiking", "violin", "sister", "2023", "may", "dinner", "vegan"]


def reference_bm25(docs: dict[int, list[str]], query: dict[str, float]) -> dict[int, float]:
    """The dict BM25 the index had before it kept arrays (the same operations, in order)."""
    k1, b = 1.2, 0.75
    n = len(docs)
    avgdl = max(sum(map(len, docs.values())) / n, 1e-9)
    result: dict[int, float] = {}
    for term, weight in query.items():
        posting = {d: c[term] for d, c in ((d, Counter(t)) for d, t in docs.items()) if term in c}
        if not posting or weight == 0:
            continue
        idf = weight * math.log(1.0 + (n - len(posting) + 0.5) / (len(posting) + 0.5))
        for doc, tf in posting.items():
            norm = tf + k1 * (1 - b + b * len(docs[doc]) / avgdl)
            result[doc] = result.get(doc, 0.0) + idf * tf * (k1 + 1) / norm
    return result


def random_doc(rng: random.Random) -> list[str]:
    return rng.choices(WORDS, k=rng.randint(0, 8))


def test_loaded_arrays_score_exactly_like_the_dict_index_through_puts_and_removals() -> None:
    rng = random.Random(3)
    docs = {doc_id: random_doc(rng) for doc_id in rng.sample(range(1, 400), 120)}
    keys, lengths = decode_terms([encode_terms(t) for t in docs.values()])
    index = LexicalIndex.load(list(docs), keys, lengths)
    for step in range(60):  # removals of loaded docs, re-puts, new docs
        doc_id = rng.choice(list(docs)) if step % 3 else rng.randint(400, 500)
        if step % 4 == 0:
            index.remove(doc_id)
            docs.pop(doc_id, None)
        else:
            docs[doc_id] = random_doc(rng)
            index.put_tokens(doc_id, docs[doc_id])
        query = {w: rng.choice([1.0, 0.5, 0.25]) for w in rng.sample(WORDS, 4)}
        expected = reference_bm25(docs, query)
        assert (
            index.weighted_scores(dict(zip(term_keys(query), query.values(), strict=True)))
            == expected
        )
    assert len(index) == len(docs)
    for doc_id, terms in docs.items():
        assert sorted(index.terms_of(doc_id)) == sorted(set(term_keys(terms)))


def test_stored_terms_round_trip_and_versions() -> None:
    keys, lengths = decode_terms([encode_terms(["cat", "cat", "dog"]), encode_terms([])])
    assert lengths.tolist() == [3, 0] and keys.tolist() == term_keys(["cat", "cat", "dog"])
    assert term_keys(["cat"]) != term_keys(["dog"])


def stored_terms_are_current(agent: Agent) -> None:
    with agent.sessions() as s:
        rows = s.execute(select(Memory.key_text, Memory.key_terms)).all()
    assert rows and all(terms == encode_terms(tokens(key)) for key, terms in rows)


def test_every_write_keeps_stored_terms_equal_to_recomputed(tmp_path: Path) -> None:
    agent = make_fake_agent(tmp_path / "a", capacity=6)
    for message in ("My sister is Alice.", "I live in Lyon.", "I love jazz.", "Hi there"):
        agent.remember(message)
    note = agent.add_memory("favourite band", "The Beatles")
    agent.edit_memory(note.id, "favourite jazz band", "Miles Davis Quintet")
    agent.forget(agent.list_memories()[0].id)
    for i in range(5):  # past capacity: the least used are freed
        agent.add_memory(f"key {i}", f"value {i}")
    stored_terms_are_current(agent)
    agent.export(tmp_path / "out.jsonl")
    other = make_fake_agent(tmp_path / "b")
    other.import_file(tmp_path / "out.jsonl")
    stored_terms_are_current(other)


def read_everything(agent: Agent, store: MemoryStore) -> list[list[tuple[int, float]]]:
    profile_id = agent.profile_id()
    return [
        [(i.id, i.weight) for i in store.search(profile_id, q, k=50, hops=2).results]
        for q in ("what does Alice like?", "jazz in Lyon", "value 3", "band")
    ]


def fill(agent: Agent) -> None:
    for message in ("My sister is Alice.", "Alice loves jazz.", "We met in Lyon in 2023."):
        agent.remember(message)
    note = agent.add_memory("favourite band", "The Beatles")
    agent.edit_memory(note.id, "favourite jazz band", "Miles Davis Quintet")
    for i in range(6):
        agent.add_memory(f"key {i}", f"value {i}")
    agent.forget(agent.list_memories()[1].id)


def test_a_fresh_load_reads_like_the_cache_kept_up_to_date(tmp_path: Path) -> None:
    agent = make_fake_agent(tmp_path)
    agent.store.cache(agent.profile_id(create=True))  # loaded first, then updated write by write
    fill(agent)
    kept = read_everything(agent, agent.store)
    loaded = read_everything(agent, MemoryStore(agent.sessions, FakeEncoder))
    # the same memories and weights; the last float32 bit may differ (and ties swap): a removal
    # moves the last row into the hole, so the kept cache sums its rows in another order
    for kept_read, loaded_read in zip(kept, loaded, strict=True):
        assert dict(kept_read) == pytest.approx(dict(loaded_read), rel=1e-5)


def test_a_database_without_stored_terms_loads_the_same_and_stores_them(tmp_path: Path) -> None:
    agent = make_fake_agent(tmp_path)
    fill(agent)
    expected = read_everything(agent, MemoryStore(agent.sessions, FakeEncoder))
    with agent.sessions() as s, s.begin():  # as after migration 0004, or an old import
        s.execute(update(Memory).values(key_terms=None))
        s.execute(update(Memory).where(Memory.id == 1).values(key_terms=b"\x09" * 16))  # stale
    assert read_everything(agent, MemoryStore(agent.sessions, FakeEncoder)) == expected
    stored_terms_are_current(agent)  # the load stored what it computed


def test_text_index_load_tokenises_like_stored_terms() -> None:
    rows = [
        (1, "Ann likes jazz", "Ann", None, 2, "Ann likes jazz"),
        (2, "diet", "", 1, None, "vegan"),
    ]
    loaded = TextIndex.load(rows)
    assert loaded.terms_of_value(1) and set(loaded.terms_of_value(1)) == set(
        term_keys(tokens("Ann likes jazz"))
    )
    assert loaded.terms_of_value(2) == term_keys(["vegan"])


@pytest.mark.parametrize("size", [1, 3])
def test_removing_every_loaded_document_leaves_nothing_to_score(size: int) -> None:
    keys, lengths = decode_terms([encode_terms(["jazz"])] * size)
    index = LexicalIndex.load(list(range(1, size + 1)), keys, lengths)
    for doc_id in range(1, size + 1):
        index.remove(doc_id)
    assert len(index) == 0 and index.weighted_scores(dict.fromkeys(term_keys(["jazz"]), 1.0)) == {}
