"""Rule-based extraction from a user's chat message: preferences, facts and notes
(`extract`), statements that something is no longer true (`retractions`) and requests to
forget (`forget_requests`).

The write path (DESIGN.md section 3) needs, for every user turn, the things the user states
about themselves. Each one becomes an `Extracted` item whose `slot` names *what* it is about
("diet", "likes:hiking", "family:sister"): a later value for the same slot updates the stored
memory instead of adding a contradicting one, and `conflicting_slots` names the slots a new
item retires (a like and a dislike of the same thing exclude each other).

What `extract` reads, by slot (kind; key = value):
- name, diet, `avoids:<thing>`, `allergy:<thing>`, `intolerance:<thing>`, `likes:<thing>`,
  `dislikes:<thing>`, `favorite:<category>` (preferences);
- `habit:<activity>` (preference; "habit" = "runs in the mornings"): "I usually run in the
  mornings", "I meditate every day": a frequency adverb or phrase is required;
- location, hometown, job, employer, `work_field` ("works in" = "marketing"), `study`
  ("studies" = "biology at MIT"), age, birthday, birth_year (facts);
- `family:<role>` (sister, mother, wife, ...), `relation:<role>` for other people (boss,
  best friend, colleague, roommate, neighbor, ...; every romantic partner - partner,
  girlfriend, boyfriend, fiancé(e) - shares `relation:partner`, the key being the role),
  `pet:<animal>` (facts; key = the role, value = the name);
- `plan:<activity>` (fact; "plans" = "go to Japan next month"): "I plan to ...", "I'm planning
  to ...", and "I'm going to ...", "I will ...", "I'm ...-ing" with a future date;
- `date:<event>` (fact; "exam date" = "Friday"): "my exam is on Friday";
- `location:<name>` (fact; "Alice lives in" = "Lyon (moved last year)"): where a person the
  user names (a capitalised name, never a pronoun) lives;
- `note:<text>` (note): "remember that ...".
An activity (`habit:`, `plan:`) is the verb and its object, casefolded and without articles
or possessives ("go to gym", "run marathon"); travelling anywhere is "go to <place>".

`retractions` returns `Retraction(slot, value)`s: "I don't live in Lyon anymore" ->
("location", "Lyon"), "I quit my job" -> ("job", None), ("employer", None), "I stopped
running" -> ("habit:run", None), "I cancelled my trip to Japan" -> ("plan:go to japan",
None). A negation is one only with "anymore", "no longer", "after all" or a verb of stopping;
`value` is the value said to be no longer true, None for "whatever it was". Corrections that
state the new value ("Actually my sister is Anna, not Alice") are ordinary items.

`forget_requests` returns `ForgetRequest(about, everything)`s: "forget that I like jazz" ->
("I like jazz", False), "forget everything about Alice" -> ("Alice", True), "forget my
address" -> ("my address", False). Only a sentence starting with "forget" (after fillers,
"please", "can you") asks; "don't forget that ..." is a note and "forget it" asks nothing. A
forget request's sentence gives no item, note or retraction.

The extractor is deterministic and pure standard library (regular expressions, no model). It
is deliberately conservative: it only reads first-person statements ("I ...", "my ...") and
the homes of people the user names, never questions, hypotheticals or reported speech, and it
prefers missing a fact to storing a wrong one.

How a message is read:
1. only its first `MAX_TEXT` characters are scanned; control characters become spaces;
2. it is cut into sentences (at `.`, `!`, `?`, `;` and line breaks), each capped at
   `MAX_SENTENCE` characters (at most `MAX_SENTENCES` of those with a first-person, note,
   forget or home word are read); a sentence opening with "if", "suppose", ... is skipped;
3. a sentence opening with "forget ..." is a forget request and nothing else;
4. "remember that ...", "please remember: ...", "don't forget that ..." give a note (and the
   remembered statement is read for preferences, facts and retractions as well);
5. every other sentence is cut into clauses before a new subject ("..., I'm pescatarian",
   "... and I love hiking", "... but my ..."); in a sentence ending with "?" the last clause is
   the question and is dropped, and a clause opening like a question is skipped;
6. each clause, once stripped of leading fillers ("actually", "btw", "oh", ...), is matched by
   anchored rules (items) and retraction rules.

Every regular expression is either anchored or bounded, and the input is capped, so any
input (1 MB strings, markup, emoji, CJK) is read in linear time and never raises.

Modules, each with one job:
- `items`: the `Extracted`, `Retraction` and `ForgetRequest` types and `conflicting_slots`;
- `limits`: the input caps and value lengths;
- `vocabulary` and `life_vocabulary`: the word lists; `patterns`, `statement_patterns`,
  `life_patterns` and `retraction_patterns`: the regular expressions;
- `sentences`: message -> sentences -> clauses; `values`: cleaning objects, names, places;
  `activities`: verb forms and the activity of a habit or plan;
- `preferences`, `facts`, `habits`, `plans` and `life_facts`: the rules (clause -> items);
  `rules`: all rules on one clause;
- `retraction_rules`: clause -> retractions; `forget_rules`: sentence -> forget request;
- `notes`: "remember that ..." requests; `reader`: `extract`, `retractions` and
  `forget_requests`, a whole message -> results.
"""

from __future__ import annotations

from agent.extraction.items import (
    Extracted,
    ForgetRequest,
    Kind,
    Retraction,
    conflicting_slots,
    said_by,
)
from agent.extraction.limits import MAX_SENTENCE, MAX_SENTENCES, MAX_TEXT
from agent.extraction.reader import extract, forget_requests, retractions

__all__ = [
    "MAX_SENTENCE",
    "MAX_SENTENCES",
    "MAX_TEXT",
    "Extracted",
    "ForgetRequest",
    "Kind",
    "Retraction",
    "conflicting_slots",
    "extract",
    "forget_requests",
    "retractions",
    "said_by",
]
