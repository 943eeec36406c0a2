"""Rule-based extraction of preferences, facts and notes from a user's chat message.

The write path (DESIGN.md section 3) needs, for every user turn, the things the user states
about themselves. Each one becomes an `Extracted` item whose `slot` names *what* it is about
("diet", "likes:hiking", "family:sister"): a later value for the same slot updates the stored
memory instead of adding a contradicting one, and `conflicting_slots` names the slots a new
item retires (a like and a dislike of the same thing exclude each other).

The extractor is deterministic and pure standard library (regular expressions, no model). It
is deliberately conservative: it only reads first-person statements ("I ...", "my ..."), never
questions, hypotheticals or statements about other people, and it prefers missing a fact to
storing a wrong one.

How a message is read:
1. only its first `MAX_TEXT` characters are scanned; control characters become spaces;
2. it is cut into sentences (at `.`, `!`, `?`, `;` and line breaks), each capped at
   `MAX_SENTENCE` characters (at most `MAX_SENTENCES` of those with a first-person word are
   read); a sentence opening with "if", "suppose", "imagine", ... is skipped;
3. "remember that ...", "please remember: ...", "don't forget that ..." give a note (and the
   remembered statement is read for preferences and facts as well);
4. every other sentence is cut into clauses before a new subject ("..., I'm pescatarian",
   "... and I love hiking", "... but my ..."); in a sentence ending with "?" the last clause is
   the question and is dropped, and a clause opening like a question is skipped;
5. each clause, once stripped of leading fillers ("actually", "btw", "oh", ...), is matched by
   anchored rules.

Every regular expression is either anchored or bounded, and the input is capped, so any
input (1 MB strings, markup, emoji, CJK) is read in linear time and never raises.

Modules, each with one job:
- `items`: the `Extracted` type and `conflicting_slots`;
- `limits`: the input caps and value lengths;
- `vocabulary`: the word lists; `patterns` and `statement_patterns`: the regular expressions;
- `sentences`: message -> sentences -> clauses; `values`: cleaning objects, names, places;
- `preferences` and `facts`: the rules (clause -> items); `rules`: all rules on one clause;
- `notes`: "remember that ..." requests; `reader`: `extract`, a whole message -> items.
"""

from __future__ import annotations

from agent.extraction.items import Extracted, Kind, conflicting_slots
from agent.extraction.limits import MAX_SENTENCE, MAX_SENTENCES, MAX_TEXT
from agent.extraction.reader import extract

__all__ = [
    "MAX_SENTENCE",
    "MAX_SENTENCES",
    "MAX_TEXT",
    "Extracted",
    "Kind",
    "conflicting_slots",
    "extract",
]
