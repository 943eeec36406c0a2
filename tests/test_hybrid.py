"""The hybrid read score: z-scores, neighbour lift, speaker match, length prior, by hand."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from agent.memory.hybrid import (
    ASSISTANT_SPEAKER,
    HybridParams,
    SparseScores,
    asks_about_assistant,
    assistant_discount,
    content_scores,
    follow,
    hybrid_scores,
    key_lengths,
    length_prior,
    links_away,
    neighbour_lift,
    read_weights,
    sparse_mean_std,
    speaker_match,
    zscore,
)

S = math.sqrt(1.5)  # z of 3 against [1, 2, 3]: (3 - 2) / sqrt(2/3)
R2 = math.sqrt(2.0)


def chain(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    rows = torch.arange(n)
    return torch.where(rows > 0, rows - 1, -1), torch.where(rows < n - 1, rows + 1, -1)


def close(actual: torch.Tensor, expected: list) -> None:
    torch.testing.assert_close(actual, torch.tensor(expected), atol=1e-5, rtol=0)


def test_zscore_by_hand() -> None:
    close(zscore(torch.tensor([1.0, 2.0, 3.0])), [-S, 0.0, S])  # population std sqrt(2/3)
    close(zscore(torch.tensor([4.0, 4.0])), [0.0, 0.0])  # flat: no signal, no NaN
    batch = zscore(torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 3.0]]))  # row by row
    close(batch, [[-S, 0.0, S], [-1 / R2, -1 / R2, R2]])


def test_content_scores_mix_z_scores() -> None:
    dense, lexical = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([0.0, 0.0, 3.0])
    close(content_scores(dense, lexical), [-S - 1 / R2, -1 / R2, S + R2])
    close(content_scores(dense, lexical, 0.5), [-S - 0.5 / R2, -0.5 / R2, S + 0.5 * R2])


def test_follow_steps_along_links() -> None:
    prev_row, next_row = chain(4)
    assert follow(prev_row, prev_row).tolist() == [-1, -1, 0, 1]
    assert follow(next_row, next_row).tolist() == [2, 3, -1, -1]


def test_neighbour_lift_by_hand() -> None:
    c = torch.tensor([1.0, -1.0, 2.0, 0.0, 0.5])
    prev_row, next_row = chain(5)
    # one hop, g = 0.5: max(0, 0.5 * c_prev, 0.5 * c_next)
    close(neighbour_lift(c, prev_row, next_row, 0.5, hops=1), [0.0, 1.0, 0.0, 1.0, 0.0])
    # two hops adds 0.25 * c two links away: row 0 gets 0.25 * 2, row 2 gets 0.25 * 1, ...
    close(neighbour_lift(c, prev_row, next_row, 0.5, hops=2), [0.5, 1.0, 0.25, 1.0, 0.5])
    assert neighbour_lift(c, prev_row, next_row, 0.5, hops=0).tolist() == [0.0] * 5
    batch = neighbour_lift(torch.stack([c, -c]), prev_row, next_row, 0.5, hops=1)
    close(batch, [[0.0, 1.0, 0.0, 1.0, 0.0], [0.5, 0.0, 0.5, 0.0, 0.0]])


def test_neighbour_lift_ignores_missing_rows() -> None:
    c = torch.tensor([3.0, 1.0])
    none = torch.tensor([-1, -1])
    close(neighbour_lift(c, none, none, 0.8), [0.0, 0.0])  # no links, no lift (never c[-1])


def test_speaker_match_whole_word_case_insensitive() -> None:
    speakers = ["Caroline", "Melanie", "Caroline"]
    assert speaker_match("What did Caroline do?", speakers).tolist() == [True, False, True]
    assert speaker_match("what is caroline's identity?", speakers).tolist() == [True, False, True]
    assert speaker_match("Where does Carol live?", speakers).tolist() == [False, False, False]
    assert speaker_match("Did Carolines come?", speakers).tolist() == [False, False, False]
    both = speaker_match("When did Melanie call Caroline?", speakers)
    assert both.tolist() == [True, True, True] and both.dtype == torch.bool
    assert speaker_match("What did Caroline do?", ["Carol", "Caroline"]).tolist() == [False, True]


def test_length_prior_and_key_lengths() -> None:
    assert key_lengths(["The cats were running", "", "8 May 2023 Caroline: hi"]).tolist() == [
        2.0,
        0.0,
        5.0,
    ]
    close(length_prior(torch.tensor([0.0, 1.0, math.e**2])), [0.0, 0.0, 2.0])


def test_the_length_prior_stops_at_its_cap() -> None:
    """A 300-word reply is not more likely to hold the fact than a paragraph (issue 19)."""
    lengths = torch.tensor([4.0, 32.0, 300.0])
    close(length_prior(lengths, cap=32.0), [math.log(4.0), math.log(32.0), math.log(32.0)])
    assert HybridParams().length_cap == 32.0
    close(length_prior(lengths, cap=0.5), [0.0, 0.0, 0.0])  # a cap under 1 is no prior


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("Can you remind me of the Mayo Clinic video you recommended?", True),
        ("You mentioned a light beer; which one was it?", True),
        ("What did you tell me about the fusion breakthrough?", True),
        ("I was going through our previous conversation about venues.", True),
        ("What did my dad give me as a birthday gift?", False),
        ("Can you suggest some accessories for my camera?", False),  # a request, not a quote
        ("Do you remember where I parked?", False),
        ("When did Caroline go to the LGBTQ support group?", False),
    ],
)
def test_asks_about_assistant(question: str, asks: bool) -> None:
    assert asks_about_assistant(question) is asks


def test_the_assistant_s_words_are_discounted_unless_asked_about() -> None:
    speakers = ["", ASSISTANT_SPEAKER, "Caroline"]
    about_me = assistant_discount("Where did I get my guitar serviced?", speakers)
    assert about_me.tolist() == [False, True, False] and about_me.dtype == torch.bool
    asked = assistant_discount("Which shop did you recommend for my guitar?", speakers)
    assert asked.tolist() == [False, False, False]


def test_hybrid_scores_by_hand() -> None:
    dense, lexical = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([0.0, 0.0, 3.0])
    prev_row, next_row = chain(3)
    speaker = torch.tensor([False, True, False])
    params = HybridParams(
        neighbour_decay=0.5,
        neighbour_hops=1,
        speaker_boost=2.0,
        length_prior=1.0,
        dense_scale=None,
    )
    c = [-S - 1 / R2, -1 / R2, S + R2]
    lift = [0.0, 0.5 * c[2], 0.0]  # row 1 is lifted by its strong next turn
    no_prior = [c[0] + lift[0], c[1] + lift[1] + 2.0, c[2] + lift[2]]
    got = hybrid_scores(dense, lexical, prev_row, next_row, speaker, params)
    close(got, no_prior)
    lengths = torch.tensor([1.0, 1.0, math.e])  # ln: 0, 0, 1
    got = hybrid_scores(dense, lexical, prev_row, next_row, speaker, params, lengths)
    close(got, [no_prior[0], no_prior[1], no_prior[2] + 1.0])
    batch = hybrid_scores(
        torch.stack([dense, dense]),
        torch.stack([lexical, lexical]),
        prev_row,
        next_row,
        torch.stack([speaker, speaker]),
        params,
    )
    close(batch, [no_prior, no_prior])
    discounted = torch.tensor([False, False, True])
    params = dataclasses.replace(params, assistant_penalty=6.0)
    got = hybrid_scores(dense, lexical, prev_row, next_row, speaker, params, None, discounted)
    close(got, [no_prior[0], no_prior[1], no_prior[2] - 6.0])


def test_params_frozen_and_weights_sum_to_one() -> None:
    params = HybridParams()
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.tau = 1.0  # type: ignore[misc]
    # a clear match, 3 z-units above the rest, gets most of the weight at the default tau
    score = torch.tensor([9.0, 6.0, 5.0, 4.0, 3.0])
    weights = read_weights(score, params.tau)
    assert float(weights.sum()) == pytest.approx(1.0)
    assert float(weights[0]) > 0.5


def test_fixed_dense_scale_keeps_a_clear_match_in_a_small_profile() -> None:
    from agent.memory.hybrid import content_scores

    dense, lexical = torch.tensor([1.0, 2.0, 3.0]), torch.zeros(3)
    # (d - mean) / s_d = ([1, 2, 3] - 2) / 0.5; BM25 flat -> z = 0
    close(content_scores(dense, lexical, 1.0, dense_scale=0.5), [-2.0, 0.0, 2.0])
    # the seed's worked example: cosines of 星球大战 against the three movie keys
    cosines = torch.tensor([0.4652, 1.0, 0.3703])
    no_links = torch.full((3,), -1)
    scores = hybrid_scores(cosines, torch.zeros(3), no_links, no_links, torch.zeros(3, dtype=bool))
    weights = read_weights(scores, HybridParams().tau)
    assert float(weights[1]) >= 0.9


def test_neighbour_lift_matches_the_formula_element_by_element() -> None:
    """The vectorised lift (a padded 0 for missing neighbours) against the formula written out
    per memory, with missing links, chains that end, and a batch of queries."""
    generator = torch.Generator().manual_seed(3)
    n = 60
    prev_row = torch.arange(-1, n - 1)
    prev_row[torch.tensor([0, 7, 30, 31])] = -1  # chains start here
    next_row = torch.full((n,), -1)
    for i, p in enumerate(prev_row.tolist()):
        if p >= 0:
            next_row[p] = i
    content = torch.randn(3, n, generator=generator)  # (queries, n)

    def step(row: int, links: torch.Tensor, d: int) -> int:
        for _ in range(d):
            row = int(links[row]) if row >= 0 else -1
        return row

    expected = torch.zeros(3, n)
    for q in range(3):
        for i in range(n):
            lifts = [0.0]
            for d in (1, 2):
                for links in (prev_row, next_row):
                    j = step(i, links, d)
                    if j >= 0:
                        lifts.append(0.5**d * float(content[q, j]))
            expected[q, i] = max(lifts)
    got = neighbour_lift(content, prev_row, next_row, 0.5, hops=2)
    assert torch.allclose(got, expected, atol=1e-6)
    assert torch.equal(neighbour_lift(content, prev_row, next_row, 0.5, hops=0), torch.zeros(3, n))
    far = (links_away(prev_row, 2), links_away(next_row, 2))  # the rows 1 and 2 links away
    assert torch.allclose(neighbour_lift(content, *far, 0.5, hops=2), expected, atol=1e-6)


@pytest.mark.parametrize("shared", [0, 1, 7, 60])
@pytest.mark.parametrize("dense_scale", [None, 0.09])
def test_content_scores_from_sparse_bm25_equal_the_dense_ones(
    shared: int, dense_scale: float | None
) -> None:
    """BM25 given as its nonzero rows scores as the full vector does: none shared, one, a few,
    every row (then with equal values: flat, so z is 0)."""
    generator = torch.Generator().manual_seed(shared)
    n = 60
    dense = torch.rand(n, generator=generator)
    rows = torch.randperm(n, generator=generator)[:shared]
    values = torch.full((shared,), 2.5) if shared == n else torch.rand(shared) * 5 + 0.1
    sparse = SparseScores(rows, values, n)
    expected = content_scores(dense, sparse.dense(), 1.3, dense_scale)
    got = content_scores(dense, sparse, 1.3, dense_scale)
    assert torch.allclose(got, expected, atol=1e-5)
    assert sparse_mean_std(sparse) == pytest.approx(
        (float(sparse.dense().mean()), float(sparse.dense().std(correction=0))), abs=1e-6
    )


def test_the_length_prior_from_kept_logs_equals_the_one_from_lengths() -> None:
    """The read keeps ln(max(len, 1)) per row; the prior from it is the one from the lengths,
    capped alike (lengths below 1, at and past the cap L = 32)."""
    lengths = torch.tensor([0.0, 1.0, 3.0, 31.0, 32.0, 33.0, 400.0])
    dense, lexical = torch.linspace(0.1, 0.4, 7), torch.zeros(7)
    links = torch.full((7,), -1)
    from_lengths = hybrid_scores(dense, lexical, links, links, None, HybridParams(), lengths)
    logs = torch.log(lengths.clamp_min(1.0))
    from_logs = hybrid_scores(dense, lexical, links, links, None, HybridParams(), log_lengths=logs)
    assert torch.allclose(from_logs, from_lengths, atol=1e-6)
    unpriored = hybrid_scores(dense, lexical, links, links, None, HybridParams())
    assert not torch.allclose(from_logs, unpriored)
