"""The grounded answer: the sentence of the read memories that best covers the question, cut
to the words that answer it, or "not mentioned" when no sentence covers enough of it.

    cover(s)  = sum_{t in Q, t in s} idf(t) / sum_{t in Q} idf(t)      Q: the question's terms
    score(s)  = cover(s) + beta * alpha(m(s))                           alpha: the read weight

When the question names people (speakers of the memories), only sentences about them (said by
them, or naming them) can answer it: what Jon said is about Jon.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from agent.answer.dates import day_text, happened_on
from agent.answer.intent import asks_when
from agent.answer.words import carries_content, content_terms, term_of, words

NOT_MENTIONED = "I don't know: that is not mentioned in what I remember."
SOURCE_CHARS = 300  # the longest quote of the remembered sentence in a source
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_CLAUSE_BREAK = re.compile(r",\s+(?=(?:my|i|we|and|but|so|he|she|they)\b)|;\s+|\s[-–—]\s", re.I)
_WHERE = re.compile(r"where\b")
_PLACE = re.compile(r"\b(?:in|at|to|from|near)\s+((?:the\s+)?[^\s,.!?]+(?:\s+[A-Z][^\s,.!?]*)*)")
_TIME_WORDS = re.compile(
    r"\b(?:last|this|next|past)\s+(?:week(?:end)?|month|year|night|time|monday|tuesday|"
    r"wednesday|thursday|friday|saturday|sunday)\b|\b(?:yesterday|today|tonight|tomorrow|"
    r"recently|lately|ago)\b",
    re.I,
)
# A name: a capitalised word that does not open the sentence.
_NAME = re.compile(r"(?<=[a-z,] )[A-Z][a-z]+")
_HOW_MANY = re.compile(r"how (?:many|much|long|old)\b")
_AMOUNT = re.compile(
    r"\b(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|twelve|twenty|hundred|first|"
    r"second|third|fourth|fifth)\b[^,.!?]{0,20}",
    re.I,
)


@dataclass(frozen=True)
class Remembered:
    """A read memory as the answer sees it."""

    id: int
    text: str  # what was said (a turn), or the statement ("lives in Lyon")
    speaker: str  # who said it; "" for the user of a chat
    said_on: date | None
    weight: float  # the read's attention weight


@dataclass(frozen=True)
class Grounded:
    text: str  # the reply
    cited: list[int]  # the memories it rests on
    abstained: bool
    sentence: str = ""  # the remembered sentence the answer comes from
    said_on: date | None = None
    speaker: str = ""


@dataclass(frozen=True)
class Candidate:
    score: float
    cover: float
    memory: Remembered
    sentence: str


@dataclass(frozen=True)
class AnswerParams:
    memories: int = 8  # the most weighted memories searched for the answer
    beta: float = 0.5  # weight of the read weight beside the coverage
    min_cover: float = 0.25  # below it, the answer is "not mentioned"
    max_words: int = 8


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def cover(question: set[str], sentence: set[str], idf: Callable[[str], float]) -> float:
    total = sum(idf(t) for t in question)
    return sum(idf(t) for t in question & sentence) / total if total else 0.0


def content_span(text: str, question: set[str], max_words: int) -> str:
    """The words of `text` that say something the question does not: its content words minus
    the question's and minus times ("last week" answers "when", not "what"), from the first
    word the question shares on when any remain (the answer follows what it is about: "a
    puppy named Biscuit"), at most `max_words`."""
    said = words(_TIME_WORDS.sub(" ", text))
    shared = [i for i, w in enumerate(said) if term_of(w) in question]
    for start in ([shared[0]] if shared else []) + [0]:
        kept = [w for w in said[start:] if carries_content(w) and term_of(w) not in question]
        if kept:
            return " ".join(kept[:max_words])
    return ""


def best_clause(sentence: str, question: set[str]) -> str:
    """The clause of `sentence` sharing most terms with the question ("My name is Sam, I live
    in Lyon, my sister lives in Paris": the last, for "where does my sister live?")."""
    clauses = [c for c in _CLAUSE_BREAK.split(sentence) if c.strip()] or [sentence]
    return max(clauses, key=lambda c: len(question & set(content_terms(c))))


def typed_span(clause: str, asked: str) -> str | None:
    """The part of `clause` that a where / how-many question asks for, if it has one."""
    if _WHERE.match(asked) and (places := _PLACE.findall(clause)):
        return places[-1]
    if _HOW_MANY.match(asked) and (amount := _AMOUNT.search(clause)):
        return amount.group(0)
    return None


def answer_span(sentence: str, question: str, terms: set[str], max_words: int) -> str:
    """The words of `sentence` that answer `question` (whose terms are `terms`)."""
    clause = best_clause(sentence, terms)
    typed = typed_span(clause, question.strip().lower())
    return content_span(typed or clause, terms, max_words) or content_span(clause, terms, max_words)


def best_sentences(
    question: set[str],
    names: set[str],
    memories: list[Remembered],
    params: AnswerParams,
    idf: Callable[[str], float],
) -> tuple[Candidate | None, Candidate | None]:
    """The best-scoring sentence about the people the question names (said by them, or
    naming them), and the best about anyone else. With no names, every sentence is "about"."""
    best: dict[bool, Candidate] = {}
    for memory in sorted(memories, key=lambda m: -m.weight)[: params.memories]:
        speaker = set(content_terms(memory.speaker))
        for sentence in sentences(memory.text):
            terms = set(content_terms(sentence))
            about = not names or bool(names & (terms | speaker))
            covered = cover(question - names, terms, idf)
            found = Candidate(covered + params.beta * memory.weight, covered, memory, sentence)
            if about not in best or found.score > best[about].score:
                best[about] = found
    return best.get(True), best.get(False)


_MONTHS = "january february march april may june july august september october november december"
_MONTHS_LIST = _MONTHS.split()
DATE_TERMS = frozenset(term_of(m) for m in _MONTHS_LIST)


def question_terms(question: str) -> set[str]:
    """The terms a remembered sentence must cover: the question's, without its dates (a
    sentence says "yesterday", not "8 May 2023"; the date is when it was said)."""
    return {t for t in content_terms(question) if t not in DATE_TERMS and not t.isdigit()}


# People a question can ask about without a name: the sentence that answers must name them too
# ("where does my mother work?" is not answered by "I work as a nurse").
RELATIONS = frozenset(
    content_terms(
        "mother mom mum dad father parents brother sister sibling son daughter kids children "
        "child wife husband partner boyfriend girlfriend friend boss colleague coworker "
        "neighbor neighbour grandma grandmother grandpa grandfather aunt uncle cousin niece "
        "nephew family teacher doctor"
    )
)


def named_people(question: str, memories: list[Remembered]) -> set[str]:
    """The terms of the speakers of `memories` that the question names."""
    asked = set(content_terms(question))
    return {t for m in memories for t in content_terms(m.speaker) if t in asked}


def ground(
    question: str,
    memories: list[Remembered],
    params: AnswerParams = AnswerParams(),
    idf: Callable[[str], float] = lambda term: 1.0,
) -> Grounded:
    """The answer to `question` from `memories`, or an abstention: when no sentence about
    the people it names covers enough of it, when a sentence about someone else covers it
    better (the thing asked happened, but to another person), or when the best sentence does
    not name the relative the question asks about."""
    terms = question_terms(question)
    names = named_people(question, memories)
    found, other = best_sentences(terms, names, memories, params, idf)
    if found is None or found.cover < params.min_cover:
        return Grounded(NOT_MENTIONED, [], True)
    if other is not None and other.cover > found.cover:
        return Grounded(NOT_MENTIONED, [], True)
    relations = terms & RELATIONS
    if relations and not relations & set(content_terms(found.sentence)):
        return Grounded(NOT_MENTIONED, [], True)
    cited = [found.memory.id]
    if (hop := next_hop(terms, found, memories, params, idf)) is not None:
        found, terms = hop
        cited.append(found.memory.id)
    memory, sentence = found.memory, found.sentence
    if asks_when(question) and memory.said_on is not None:
        text = happened_on(sentence, memory.said_on)
    else:
        text = answer_span(sentence, question, terms, params.max_words) or sentence
    return Grounded(as_reply(text), cited, False, sentence, memory.said_on, memory.speaker)


def next_hop(
    terms: set[str],
    found: Candidate,
    memories: list[Remembered],
    params: AnswerParams,
    idf: Callable[[str], float],
) -> tuple[Candidate, set[str]] | None:
    """A second hop over sentences (as MemN2N's over memories): when the best sentence names
    the relative the question asks about without answering the rest ("my sister is Alice"
    for "where does my sister live?"), the sentence about that name that covers the rest
    ("Alice lives in Lyon"), with the terms it must cover; None when there is none."""
    said = set(content_terms(found.sentence))
    rest = terms - said
    if not (terms & RELATIONS & said) or not rest:
        return None
    names = {term_of(w.lower()) for w in _NAME.findall(found.sentence)} - terms
    if not names:
        return None
    others = [m for m in memories if m.id != found.memory.id]
    hop, _ = best_sentences(rest | names, set(), others, params, idf)
    if (
        hop is None
        or not names & set(content_terms(hop.sentence))
        or not rest & set(content_terms(hop.sentence))
    ):
        return None
    return hop, rest | names


def as_reply(text: str) -> str:
    """'improving education' -> 'Improving education.'"""
    text = text.strip()
    if text and text[-1] not in ".!?…":
        text += "."
    return text[:1].upper() + text[1:]


def source_phrase(answer: Grounded) -> str:
    """Where a grounded answer comes from: 'you told me on 8 May 2023: "..."' ("" for an
    abstention)."""
    if answer.abstained:
        return ""
    who = f"{answer.speaker} said" if answer.speaker else "you told me"
    when = f" on {day_text(answer.said_on)}" if answer.said_on is not None else ""
    sentence = answer.sentence
    if len(sentence) > SOURCE_CHARS:  # a pasted page is one "sentence"
        sentence = sentence[: SOURCE_CHARS - 1] + "…"
    return f'{who}{when}: "{sentence}"'
