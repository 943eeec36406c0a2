"""The grounded answer: the sentence of the read memories that best covers the question, cut
to the words that answer it, or "not mentioned" when no sentence covers enough of it.

    cover(s)  = sum_{t in Q, t in s} idf(t) / sum_{t in Q} idf(t)      Q: the question's terms
    score(s)  = cover(s) + beta * alpha(m(s))                           alpha: the read weight

When the question names people (speakers of the memories), only sentences about them (said by
them, or naming them) can answer it: what Jon said is about Jon. A question asked back ("what
did you cook?") answers nothing, so it is no candidate. A question asking for several things
("what books has she read?") is answered with the spans of up to `list_items` memories.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from agent.answer.dates import ago_phrase, day_text, happened_on
from agent.answer.intent import asks_list, asks_when
from agent.answer.rank import features, has_asked_type, rank_score
from agent.answer.words import carries_content, content_terms, names_in, term_of, words

NOT_MENTIONED = "I don't know: that is not mentioned in what I remember."
SOURCE_CHARS = 300  # the longest quote of the remembered sentence in a source
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_CLAUSE_BREAK = re.compile(r",\s+(?=(?:my|i|we|and|but|so|he|she|they)\b)|;\s+|\s[-–—]\s", re.I)
_WHERE = re.compile(r"where\b")
# A place: up to three words after in / at / to / from / near, up to a word that starts
# something else ("to Rome to clear my mind": Rome; "at the city hospital").
_PLACE = re.compile(
    r"\b(?:in|at|to|from|near)\s+((?:the\s+)?[^\s,.!?]+(?:\s+(?!(?:and|but|with|for|to|in|at|"
    r"on|of|when|where|which|who|that|because|so|last|this|next|yesterday|today)\b)"
    r"[^\s,.!?]+){0,2})"
)
_TIME_WORDS = re.compile(
    r"\b(?:last|this|next|past)\s+(?:week(?:end)?|month|year|night|time|monday|tuesday|"
    r"wednesday|thursday|friday|saturday|sunday)\b|\b(?:yesterday|today|tonight|tomorrow|"
    r"recently|lately|ago)\b",
    re.I,
)
# A word as written ("cook-off", "Middle-earth", "it's"): what a span is made of, so that
# the answer keeps the remembered spelling and never markup or control characters.
_SURFACE_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
# A quoted title in a sentence ('Just finished "A Dance with Dragons"'): the answer as said.
_QUOTED = re.compile(r'"([^"\n]{2,80})"|“([^”\n]{2,80})”')
_SECOND_PERSON = re.compile(r"\b(?:you|your|yours|you're|you've|you'll|you'd)\b", re.I)
_FIRST_PERSON = re.compile(r"\b(?:i|my|me|mine|i'm|i've|i'll|i'd|we|our|us|we're)\b", re.I)
_WHO = re.compile(r"who\b")  # not "whose": that asks for a thing
_HOW_LONG_AGO = re.compile(r"\bhow long ago\b", re.IGNORECASE)
_HOW_MANY = re.compile(r"how (?:many|much|long|old)\b")
# An amount, with its unit when it has one ("four years", "7", "twice").
_AMOUNT = re.compile(
    r"\b(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|twelve|twenty|hundred|once|"
    r"twice)\b(?:\s+(?:years?|months?|weeks?|days?|hours?|minutes?|times))?",
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
    score: float  # cover + beta * alpha: whether the memories answer at all
    cover: float
    memory: Remembered
    sentence: str
    rank: float = 0.0  # `rank.rank_score`: which sentence answers


@dataclass(frozen=True)
class AnswerParams:
    memories: int = 8  # the most weighted memories searched for the answer
    beta: float = 1.0  # weight of the read weight beside the coverage
    min_cover: float = 0.15  # below it, the answer is "not mentioned"
    max_words: int = 8
    list_items: int = 4  # the most memories a list answer gathers


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def cover(question: set[str], sentence: set[str], idf: Callable[[str], float]) -> float:
    total = sum(idf(t) for t in question)
    return sum(idf(t) for t in question & sentence) / total if total else 0.0


def content_span(text: str, question: set[str], max_words: int) -> str:
    """The words of `text` that say something the question does not: its words carrying
    content not in the question, minus times ("last week" answers "when", not "what"), from
    the first word the question shares on when any remain (the answer follows what it is
    about: "a puppy named Biscuit"), at most `max_words`, as written ("cook-off")."""
    said = _SURFACE_WORD.findall(_TIME_WORDS.sub(" ", text))
    shared = [i for i, w in enumerate(said) if any(term_of(p) in question for p in words(w))]
    for start in ([shared[0]] if shared else []) + [0]:
        kept = [w for w in said[start:] if _tells_more(w, question)]
        if kept:
            return " ".join(kept[:max_words])
    return ""


def _tells_more(word: str, question: set[str]) -> bool:
    """Does `word` carry content the question does not have ("cook-off": yes for 'what
    fundraiser?'; "fundraiser": no)?"""
    content = [p for p in words(word) if carries_content(p)]
    return any(term_of(p) not in question for p in content)


def quoted(text: str) -> str | None:
    """The first quoted title in `text`, in quotes, as plain words ('"A Dance with Dragons"')."""
    if (match := _QUOTED.search(text)) is None:
        return None
    title = " ".join(_SURFACE_WORD.findall(match.group(1) or match.group(2)))
    return f'"{title}"' if title else None


def best_clause(sentence: str, question: set[str]) -> str:
    """The clause of `sentence` sharing most terms with the question ("My name is Sam, I live
    in Lyon, my sister lives in Paris": the last, for "where does my sister live?")."""
    clauses = [c for c in _CLAUSE_BREAK.split(sentence) if c.strip()] or [sentence]
    return max(clauses, key=lambda c: len(question & set(content_terms(c))))


def typed_span(clause: str, asked: str, question: set[str]) -> str | None:
    """The part of `clause` that a who / where / how-many question asks for, if it has one:
    the names the question does not hold, the place, the amount."""
    if _WHO.match(asked) and (
        names := [n for n in names_in(clause) if term_of(n.lower()) not in question]
    ):
        return " ".join(names[:3])
    if _WHERE.match(asked) and (places := _PLACE.findall(clause)):
        return content_span(places[-1], question, 8) or None
    if _HOW_MANY.match(asked) and (amount := _AMOUNT.search(clause)):
        return amount.group(0)
    return None


def answer_span(sentence: str, question: str, terms: set[str], max_words: int) -> str:
    """The words of `sentence` that answer `question` (whose terms are `terms`): the typed
    part, else a quoted title, else the words that tell more than the question."""
    clause = best_clause(sentence, terms)
    if (typed := typed_span(clause, question.strip().lower(), terms)) is not None:
        return typed
    if (title := quoted(clause)) is not None:
        return title
    return content_span(clause, terms, max_words)


def addresses_listener(sentence: str) -> bool:
    """Is `sentence` about the one spoken to ('Thank goodness your son is okay': 'you', never
    'I' or 'we')? What Caroline says to Melanie that way is about Melanie, not Caroline."""
    return bool(_SECOND_PERSON.search(sentence)) and not _FIRST_PERSON.search(sentence)


def candidates(
    question: set[str],
    names: set[str],
    memories: list[Remembered],
    params: AnswerParams,
    idf: Callable[[str], float],
    asked: str = "",
) -> Iterator[tuple[bool, Candidate]]:
    """Every sentence of the `params.memories` most weighted memories, scored and ranked, with
    whether it is about the people the question (`asked`, whose terms are `question`) names
    (said by them, or naming them; with no names, every sentence is). A question asked back
    ("what was your favourite part?") answers nothing and is left out."""
    order = sorted(memories, key=lambda m: -m.weight)[: params.memories]
    for place, memory in enumerate(order):
        speaker = set(content_terms(memory.speaker))
        for sentence in sentences(memory.text):
            if sentence.endswith("?"):
                continue
            terms = set(content_terms(sentence))
            said_by = set() if addresses_listener(sentence) else speaker
            about = not names or bool(names & (terms | said_by))
            covered = cover(question - names, terms, idf)
            f = features(
                covered,
                memory.weight,
                place,
                len(terms - question - speaker),
                has_asked_type(asked, sentence, lambda w: term_of(w.lower()) not in question),
                len(sentence.split()),
                len(terms & question) / max(1, len(question)),
            )
            score = covered + params.beta * memory.weight
            yield about, Candidate(score, covered, memory, sentence, rank_score(f))


Pool = list[tuple[bool, Candidate]]  # `candidates`, with whether each is about the people named


def best_sentences(
    pool: Iterable[tuple[bool, Candidate]],
) -> tuple[Candidate | None, Candidate | None]:
    """The best-scoring sentence about the people the question names, and the best about
    anyone else."""
    best: dict[bool, Candidate] = {}
    for about, found in pool:
        if about not in best or found.score > best[about].score:
            best[about] = found
    return best.get(True), best.get(False)


def best_ranked(pool: Pool, terms: set[str], covering: Candidate) -> Candidate | None:
    """The sentence about the people named that answers (the highest `rank`): one that covers
    enough of the question itself, or one of the memory of `covering` (the best covering
    sentence: the answer often follows it, "We went to a concert! It was Matt Patterson."),
    naming the relatives the question asks about, if it asks about any."""
    relations = terms & RELATIONS
    found = [
        c
        for about, c in pool
        if about
        and (c.cover > 0 or c.memory.id == covering.memory.id)
        and (not relations or relations & set(content_terms(c.sentence)))
    ]
    return max(found, key=lambda c: c.rank, default=None)


def more_items(
    pool: Pool, question: str, terms: set[str], first: Candidate, params: AnswerParams
) -> list[tuple[Candidate, str]]:
    """The rest of a list answer ("pottery, camping, painting"): the spans of the best
    sentences about the people named that cover enough of the question, one per memory
    other than `first`'s, at most `params.list_items - 1`."""
    found = [c for about, c in pool if about and c.cover >= params.min_cover]
    enough = sorted(found, key=lambda c: -c.score)
    used, said, items = {first.memory.id}, set(), []
    for candidate in enough:
        if len(items) == params.list_items - 1:
            break
        if candidate.memory.id in used:
            continue
        used.add(candidate.memory.id)
        span = answer_span(candidate.sentence, question, terms, params.max_words)
        if span and span.lower() not in said:
            said.add(span.lower())
            items.append((candidate, span))
    return items


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
    pool = list(candidates(terms, names, memories, params, idf, question))  # scored once
    found, other = best_sentences(pool)
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
    elif not asks_when(question):  # the date of a "when" is that of the best covering one
        found = best_ranked(pool, terms, found) or found
        cited = [found.memory.id]
    memory, sentence = found.memory, found.sentence
    if _HOW_LONG_AGO.search(question) and (ago := ago_phrase(sentence)) is not None:
        text = ago
    elif asks_when(question) and memory.said_on is not None:
        text = happened_on(sentence, memory.said_on)
    else:
        text = answer_span(sentence, question, terms, params.max_words) or sentence
        if asks_list(question) and len(cited) == 1:
            items = more_items(pool, question, terms, found, params)
            text = ", ".join([text] + [span for _, span in items])
            cited += [c.memory.id for c, _ in items]
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
    names = {term_of(w.lower()) for w in names_in(found.sentence)} - terms
    if not names:
        return None
    others = [m for m in memories if m.id != found.memory.id]
    hop, _ = best_sentences(candidates(rest | names, set(), others, params, idf))
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
