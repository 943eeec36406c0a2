"""Retractions ("I don't live in Lyon anymore") and forget requests ("forget that I like
jazz") (agent/extraction: retraction_rules, forget_rules, reader)."""

from __future__ import annotations

import pytest

from agent.extraction import (
    ForgetRequest,
    Retraction,
    extract,
    forget_requests,
    retractions,
)

# (message, expected retractions as (slot, value), in order)
RETRACTIONS: list[tuple[str, list[tuple[str, str | None]]]] = [
    # --- where the user lives ----------------------------------------------------------------
    ("I don't live in Lyon anymore", [("location", "Lyon")]),
    ("I no longer live in Lyon.", [("location", "Lyon")]),
    ("I'm not living in Lyon any more", [("location", "Lyon")]),
    ("I moved away from Lyon", [("location", "Lyon")]),
    ("I moved from Lyon to Paris", [("location", "Lyon")]),
    ("I don't live in Lyon", []),  # no "anymore": a plain statement
    ("I moved out of my parents' house", []),
    # --- work --------------------------------------------------------------------------------
    ("I no longer work at Google", [("employer", "Google")]),
    ("I don't work at Google any more", [("employer", "Google")]),
    ("I'm not working at Google anymore", [("employer", "Google")]),
    ("I'm not a nurse anymore", [("job", None)]),
    ("I'm no longer a student", [("job", None)]),
    ("I'm no longer working as a nurse", [("job", None)]),
    ("I quit my job", [("job", None), ("employer", None)]),
    ("I lost my job", [("job", None), ("employer", None)]),
    ("I quit my job at Google", [("job", None), ("employer", "Google")]),
    ("I got fired from Google", [("job", None), ("employer", "Google")]),
    ("I was laid off", [("job", None), ("employer", None)]),
    ("I don't have a job anymore", [("job", None), ("employer", None)]),
    ("I don't work in marketing anymore", [("work_field", "marketing")]),
    ("I no longer study law", [("study", "law")]),
    ("I'm not a nurse", []),
    ("I'm not a fan anymore", []),
    # --- likes -------------------------------------------------------------------------------
    ("I don't like jazz anymore", [("likes:jazz", None)]),
    ("I'm not into jazz any more", [("likes:jazz", None)]),
    ("I no longer like jazz or blues", [("likes:jazz", None), ("likes:blues", None)]),
    ("I'm not a fan of jazz anymore", [("likes:jazz", None)]),
    ("I stopped liking jazz", [("likes:jazz", None)]),
    ("I don't enjoy cooking anymore", [("likes:cooking", None)]),
    ("I don't like jazz", []),  # a dislike (see extract), not a retraction
    ("I don't love you anymore", []),
    ("I don't like it anymore", []),
    # --- habits ------------------------------------------------------------------------------
    ("I stopped running every morning", [("habit:run", None)]),
    ("I don't run anymore", [("habit:run", None)]),
    ("I quit smoking", [("habit:smoke", None)]),
    ("I stopped going to the gym", [("habit:go to gym", None)]),
    ("I no longer go to the gym on Mondays", [("habit:go to gym", None)]),
    ("I'm no longer running every morning", [("plan:run", None), ("habit:run", None)]),
    ("I don't eat meat anymore", [("habit:eat meat", None)]),  # (and the diet item)
    ("I don't know anymore", []),
    ("I don't do that anymore", []),
    ("I no longer care", []),
    ("I don't run", []),
    ("I'm not sure anymore", []),
    ("I'm not hungry anymore", []),
    # --- plans -------------------------------------------------------------------------------
    ("I'm not going to Japan after all", [("plan:go to japan", None)]),
    ("I cancelled my trip to Japan", [("plan:go to japan", None)]),
    ("I've canceled our vacation to Japan", [("plan:go to japan", None)]),
    ("I'm not getting married anymore", [("plan:get married", None)]),
    ("I called off the wedding", [("plan:get married", None)]),
    ("I won't run a marathon after all", [("plan:run marathon", None)]),
    ("I'm not running the marathon after all", [("plan:run marathon", None)]),
    ("I'm not going to learn Spanish anymore", [("plan:learn spanish", None)]),
    ("I no longer plan to learn Spanish", [("plan:learn spanish", None)]),
    ("I cancelled my plans to learn Spanish", [("plan:learn spanish", None)]),
    (
        "I gave up on learning Spanish",
        [("habit:learn spanish", None), ("plan:learn spanish", None)],
    ),
    ("I'm not going to Japan", []),
    ("I'm not going anymore", []),
    ("We called off the wedding", []),  # documented: only first-person singular
    # --- partner and others ------------------------------------------------------------------
    ("I'm no longer with Alex", [("relation:partner", "Alex")]),
    ("I'm not with Alex anymore", [("relation:partner", "Alex")]),
    ("I broke up with Alex", [("relation:partner", "Alex")]),
    ("I split up with my girlfriend", [("relation:partner", None)]),
    ("I broke up with him", [("relation:partner", None)]),
    ("Alex and I broke up", [("relation:partner", "Alex")]),
    ("My girlfriend and I split up.", [("relation:partner", None)]),
    ("I'm single again", [("relation:partner", None)]),
    ("I don't have a girlfriend anymore", [("relation:partner", None)]),
    ("I don't have a dog anymore", [("pet:dog", None)]),
    ("I broke up with the band", []),
    ("alex and I broke up", []),
    ("I'm not with you anymore", []),
    ("I'm single", []),
    # --- whose statement, questions, hypotheticals, notes, several ---------------------------
    ("My sister doesn't live in Lyon anymore", []),
    ("He said I don't live in Lyon anymore", []),
    ("I don't live in Lyon anymore?", []),
    ("If I don't live in Lyon anymore, so what", []),
    ("If Alex and I broke up, I would cry", []),
    ("Did Alex and I break up?", []),
    ("Remember that I don't live in Lyon anymore", [("location", "Lyon")]),
    ("Forget that I don't live in Lyon anymore", []),  # a forget request only
    ("I don't live in Lyon anymore, I live in Paris now", [("location", "Lyon")]),
    (
        "I quit my job. I don't like jazz anymore! I don't like jazz anymore.",
        [("job", None), ("employer", None), ("likes:jazz", None)],
    ),
    ("", []),
]


@pytest.mark.parametrize(
    ("text", "expected"), RETRACTIONS, ids=[c[0][:40] or "empty" for c in RETRACTIONS]
)
def test_retractions(text: str, expected: list[tuple[str, str | None]]) -> None:
    assert [(r.slot, r.value) for r in retractions(text)] == expected


# (message, expected forget requests as (about, everything))
FORGETS: list[tuple[str, list[tuple[str, bool]]]] = [
    ("forget that I like jazz", [("I like jazz", False)]),
    ("Please forget that my sister is Alice.", [("my sister is Alice", False)]),
    ("forget everything about Alice", [("Alice", True)]),
    ("forget all you know about my job", [("my job", True)]),
    ("forget everything you know about Alice", [("Alice", True)]),
    ("Forget all about Alice!", [("Alice", True)]),
    ("forget my address", [("my address", False)]),
    ("Could you forget my address?", [("my address", False)]),
    ("Can you please forget that I like jazz?", [("I like jazz", False)]),
    ("ok, forget what I said about my job", [("my job", True)]),
    ("forget I said I like jazz", [("I like jazz", False)]),
    ("forget that I told you that I'm vegan", [("I'm vegan", False)]),
    ("Hey, forget the fact that I smoke.", [("I smoke", False)]),
    (
        "I'm vegan. Forget that I like jazz. Forget my address",
        [("I like jazz", False), ("my address", False)],
    ),
    ("forget that I like jazz. forget that I like jazz", [("I like jazz", False)]),
    ("please forget that my sister is Alice, thanks", [("my sister is Alice", False)]),
    ("forget that I mentioned Alice, she is not important", [("Alice", False)]),
    ("forget that I like jazz and rock", [("I like jazz and rock", False)]),
    # not forget requests
    ("don't forget that I like jazz", []),
    ("Never forget that I like jazz", []),
    ("I forget things", []),
    ("I forgot my keys", []),
    ("did you forget?", []),
    ("Did you forget my address?", []),
    ("forget it", []),
    ("forget that", []),
    ("forget that stuff", []),
    ("forget that I said that", []),
    ("forget everything", []),
    ("forget about it", []),
    ("Forget it, I like jazz", []),
    ("Forget that, I like jazz", []),
    ("I like jazz, forget that", []),
    ("", []),
]


@pytest.mark.parametrize(("text", "expected"), FORGETS, ids=[c[0][:40] or "empty" for c in FORGETS])
def test_forget_requests(text: str, expected: list[tuple[str, bool]]) -> None:
    assert [(f.about, f.everything) for f in forget_requests(text)] == expected


@pytest.mark.parametrize(
    "text",
    [
        "forget that I like jazz",
        "Please forget that my sister is Alice.",
        "forget that I'm allergic to peanuts and I live in Lyon",
        "Can you forget that I don't like jazz anymore?",
        "forget everything about my job at Google",
    ],
)
def test_a_forget_request_states_nothing(text: str) -> None:
    assert extract(text) == []
    assert retractions(text) == []


def test_a_forget_request_leaves_the_other_sentences() -> None:
    text = "I'm vegan. Forget that I like jazz. I live in Lyon."
    assert [i.slot for i in extract(text)] == ["diet", "location"]
    assert forget_requests(text) == [ForgetRequest("I like jazz", False)]


def test_vague_forget_lets_the_statement_through() -> None:
    assert [i.slot for i in extract("Forget it, I like jazz")] == ["likes:jazz"]


def test_results_are_frozen_dataclasses() -> None:
    [retraction] = retractions("I don't live in Lyon anymore")
    assert retraction == Retraction("location", "Lyon")
    [request] = forget_requests("forget my address")
    assert request == ForgetRequest("my address", False)
    with pytest.raises(AttributeError):
        retraction.value = "x"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        request.about = "x"  # type: ignore[misc]


def test_a_retraction_keeps_the_dislike_and_the_diet() -> None:
    assert [i.slot for i in extract("I don't like jazz anymore")] == ["dislikes:jazz"]
    assert [(i.slot, i.value) for i in extract("I don't eat meat anymore")] == [
        ("diet", "doesn't eat meat")
    ]


@pytest.mark.parametrize(
    ("statement", "retraction"),
    [
        ("I live in Lyon", "I don't live in Lyon anymore"),
        ("I work at Google", "I no longer work at Google"),
        ("I'm a nurse", "I'm not a nurse anymore"),
        ("I love jazz", "I'm not into jazz any more"),
        ("I usually run in the mornings", "I stopped running every morning"),
        ("I go to the gym every Monday", "I stopped going to the gym"),
        ("I always smoke after lunch", "I quit smoking"),
        ("I'm going to Japan next month", "I'm not going to Japan after all"),
        ("I'm flying to Japan in May", "I cancelled my trip to Japan"),
        ("I'm planning to run a marathon in May", "I'm not running the marathon after all"),
        ("I'm getting married in June", "I called off the wedding"),
        ("My girlfriend is Alex", "I'm no longer with Alex"),
        ("my partner is Alex", "Alex and I broke up"),
        ("I have a dog named Rex", "I don't have a dog anymore"),
        ("I study law at Oxford", "I no longer study law"),
        ("I work in marketing", "I don't work in marketing anymore"),
    ],
)
def test_a_retraction_names_the_slot_of_the_statement(statement: str, retraction: str) -> None:
    """The writer retires a slot when the stored value contains the retracted one."""
    stored = {i.slot: i.value for i in extract(statement)}
    found = retractions(retraction)
    assert found, retraction
    matched = [r for r in found if r.slot in stored]
    assert matched, (stored, found)
    for r in matched:
        assert r.value is None or r.value.casefold() in stored[r.slot].casefold()
