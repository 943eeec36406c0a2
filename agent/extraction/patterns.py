"""The regular expressions that cut a message into sentences, clauses and values.

Compiled once at import. Every one is anchored or bounded, so each runs in linear time on
the capped input. The patterns of the statements themselves live in `statement_patterns`.
"""

from __future__ import annotations

import re

FLAGS = re.IGNORECASE
"""Every pattern of the extractor ignores case."""

_SUBJECT = (
    r"(?:i|my|im|ive|call\s+me|(?:you\s+(?:can|may|should|could)|please|just"
    r"|everyone|everybody|people|friends|my\s+friends)\s+calls?\s+me)\b"
)
_SUBJECT_LEAD = r"(?:(?:actually|also|now|really|still|btw|though|then|honestly|oh)\s+){0,2}"
_QUESTION_WORD = (
    r"(?:what|who|whom|whose|where|when|why|how|which|do|does|did|am|is|are|was|were|can"
    r"|could|would|should|will|shall|may|might|have|has|had|must|isn't|aren't|don't"
    r"|doesn't|didn't|wasn't|weren't|won't|wouldn't|shouldn't|can't|couldn't)\b"
)


# message and sentences ----------------------------------------------------------------------------
SPACE_RE = re.compile(r"\s+")
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]")
APOSTROPHE_RE = re.compile(r"[\u2018\u2019\u02bc\u00b4`\uff07]")
SENTENCE_RE = re.compile(r"[^.!?;\n]*(?:[.!?;]+|\n+|$)")
ABBREV_TAIL_RE = re.compile(r"(?:^|[\s(])([a-z]{1,6}(?:\.[a-z])?)\.$", FLAGS)
"""The abbreviation a sentence piece ends with ("St."), if any."""
CANDIDATE_RE = re.compile(
    r"\b(?:i|im|ive|my|me|name's|remember|note|forget|mind|memori[sz]e|save|store|lives|lived"
    r"|moved|living|relocated|based)\b",
    FLAGS,
)
"""Every rule needs one of these words (a first-person word, a note or forget verb, or the
verb of another person's home): sentences without any are skipped quickly."""

# clauses ------------------------------------------------------------------------------------------
CLAUSE_SPLIT_RE = re.compile(
    r"\s*[,;:]\s*(?:(?:and|but|so|because|plus|then)\s+)?(?=" + _SUBJECT_LEAD + _SUBJECT + ")"
    r"|\s+(?:and|but|so|because|plus|then|while|whereas|although|though)\s+(?="
    + _SUBJECT_LEAD
    + _SUBJECT
    + ")"
    r"|\s*,\s*(?=" + _QUESTION_WORD + ")"
    r"|\s+and\s+(?:also\s+)?(?P<complement>(?=(?:(?:very|severely|mildly|highly|slightly)\s+)?"
    r"(?:allergic|[^\W\d_]{2,20}\s+intolerant)\b))",
    FLAGS,
)
"""Where a sentence splits into clauses: before a new subject ("..., I'm ..."), before a
question ("..., what should I cook"), or before an "and allergic to ..." complement, which is
then read as "I am allergic to ..."."""

FILLER_RE = re.compile(
    r"^(?:(?:actually|also|and|but|so|well|oh|ok|okay|yes|yeah|yep|yup|no|nope|hi|hey|hello"
    r"|btw|by\s+the\s+way|fyi|just\s+so\s+you\s+know|for\s+the\s+record|anyway|anyways|now"
    r"|these\s+days|nowadays|honestly|plus|then|though|ah|um|uhm|uh|hmm|fun\s+fact|in\s+fact"
    r"|as\s+you\s+know|as\s+i\s+said|like\s+i\s+said|to\s+be\s+honest|tbh|lol|haha|ps|p\.s"
    r"|sure|right|alright|wait|look|listen|oops|sorry|correction|update|hmmm?|dear\s+\w+)"
    r"(?:\b|(?<=\.))[\s,:;!\-\u2013\u2014.]*){0,4}",
    FLAGS,
)
HYPOTHETICAL_RE = re.compile(
    r"^(?:if|suppose|supposing|imagine|assuming|assume|pretend|hypothetically|let's\s+say"
    r"|lets\s+say|say|what\s+if|in\s+case|unless|when|whenever|once|maybe|perhaps|would"
    r"|i\s+wish|i\s+would|i'd|if\s+only)\b",
    FLAGS,
)
QUESTION_RE = re.compile(r"^" + _QUESTION_WORD, FLAGS)
LEADING_CONTRACTION_RE = re.compile(r"^i(?:'ve|ve)\b", FLAGS)
"""A clause opening "I've" / "Ive", read as "I have"."""
SPEECH_END_RE = re.compile(
    r"\b(?:said|says|say|told\s+(?:me|us|him|her|them)|tells\s+me|asked|asks|thinks?|thought"
    r"|believes?|believed|claims?|claimed|wrote|writes|joked|jokes|texted|replied|yelled"
    r"|shouted|goes|went\s+like|was\s+like|is\s+like)$",
    FLAGS,
)
"""A clause ending like reported speech ("my sister said"): the next clause is not the user's."""

# notes --------------------------------------------------------------------------------------------
NOTE_RE = re.compile(
    r"^(?P<polite>(?:(?:please|pls|plz|kindly|can\s+you|could\s+you|would\s+you|will\s+you"
    r"|i\s+want\s+you\s+to|i\s+need\s+you\s+to|i'd\s+like\s+you\s+to|you\s+should|try\s+to"
    r"|make\s+sure\s+(?:to|you))\s+){0,2})"
    r"(?:(?:always|also|just)\s+)?"
    r"(?P<verb>remember|memori[sz]e|note|keep\s+in\s+mind|(?:don't|dont|do\s+not|never)"
    r"\s+forget|make\s+a\s+note|take\s+note|save|store)"
    r"(?P<sep>\s+(?:that|this|the\s+fact\s+that)\s*[:,\-]?\s*|\s*(?:this|that)?\s*[:\-,]\s*|\s+)"
    r"(?P<body>.*)$",
    FLAGS | re.DOTALL,
)
NOTE_PUNCT_RE = re.compile(r"[^\w\s]")

# values -------------------------------------------------------------------------------------------
TRAILING_CLAUSE_RE = re.compile(
    r"\s*,?\s+(?:because|cause|cuz|when|whenever|if|unless|since|although|though|but|while"
    r"|whereas|so\s+that|especially|except|which|who|whom|where|until|till|as\s+long\s+as"
    r"|even\s+though|like\s+i\s+said|i\s+think|i\s+guess|i\s+believe|lol|haha|so|please"
    r"|and\s+(?:so|please|then|therefore)|therefore|hence|rather\s+than|instead\s+of|over"
    r"|than)\b"
    r"|\s*,\s+(?:and|so|or|but|right|you\s+know|ok|okay)\b"
    r"|\s*[(\u2013\u2014]|\s+-\s",
    FLAGS,
)
TRAILING_MODIFIER_RE = re.compile(
    r"(?:\s+(?:a\s+lot|so\s+much|very\s+much|too|as\s+well|anymore|any\s+more|now|these\s+days"
    r"|nowadays|lately|more\s+than\s+anything|the\s+most|a\s+bit|a\s+little|more|though"
    r"|haha|lol|really|actually|honestly|tbh|right\s+now|at\s+the\s+moment|currently|again"
    r"|most\s+of\s+all|in\s+general|generally|overall))+$",
    FLAGS,
)
PLACE_CUT_RE = re.compile(
    r"\s+(?:for|since|last|this|next|ago|now|recently|currently|with|because|when|after"
    r"|before|during|until|till|at|and|but|so|where|which|who|as|to|from|these|nowadays"
    r"|anymore|about|around|permanently|temporarily|yesterday|today|lately|full[\s-]time"
    r"|back)\b"
    r"|\s+in\s+(?:\d|january|february|march|april|may|june|july|august|september|october"
    r"|november|december|the\s+(?:summer|winter|spring|fall|autumn|past|end|beginning))"
    r"|\s+(?:\d+|a|an|two|three|four|five|six|few|several|many)\s+(?:years?|months?|weeks?"
    r"|days?)\b"
    r"|\s*,\s*(?:which|where|who|and|but|so|since|because|for|with)\b",
    FLAGS,
)
LIST_SPLIT_RE = re.compile(
    r"\s*,\s*(?:(?:and|or)\s+)?|\s+(?:and|or|&|as\s+well\s+as|plus)\s+", FLAGS
)
WORD_RE = re.compile(r"^[^\W\d_]+(?:['\-.][^\W\d_]+)*$")
QUOTES = "\"'\u201c\u201d\u00ab\u00bb\u2039\u203a\u300c\u300d"
TRAIL_PUNCT = ".,!?;:\u2026\u3002\uff01\uff1f\uff0c"
