"""The regular expressions of the statements that rules read ("I'm vegan", "my son is Leo").

Compiled once at import; every one is anchored at the clause start or bounded. Word lists
from `vocabulary` become alternations (longest first, spaces and hyphens matched loosely).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from agent.extraction.patterns import FLAGS
from agent.extraction.vocabulary import (
    DIETS,
    PETS,
    RELATION_MODIFIERS,
    RELATIONS,
    SOCIAL_RELATIONS,
)


def alternation(words: Iterable[str]) -> str:
    """A regex alternation of `words`, longest first, spaces and hyphens matched loosely."""
    parts = []
    for word in sorted(set(words), key=len, reverse=True):
        parts.append(r"[\s-]?".join(re.escape(piece) for piece in re.split(r"[\s-]", word)))
    return "(?:" + "|".join(parts) + ")"


_I_AM = r"(?:i'm|im|i\s+am)"
_I_HAVE = r"(?:i\s+have|i've|ive|i\s+have\s+got|i've\s+got|ive\s+got|i\s+got)"
_DONT = r"(?:do\s+not|don't|dont|doesn't|no\s+longer|never)"
_ADV = (
    r"(?:(?:really|also|just|absolutely|totally|actually|now|still|truly|genuinely|definitely"
    r"|honestly|kinda|kind\s+of|sort\s+of|currently|do|so|very\s+much|mostly|usually|always"
    r"|quite|pretty\s+much|particularly|especially|recently|finally|officially|even|deeply"
    r"|seriously|totally|literally|strictly|fully|mainly|mostly)\s+){0,3}"
)
_DIET = alternation(DIETS)
_REL = alternation([*RELATIONS, *SOCIAL_RELATIONS])
_PET = alternation(PETS)
_MOD = alternation(RELATION_MODIFIERS)

# names ----------------------------------------------------------------------------------------
NAME_EXPLICIT_RE = re.compile(
    r"^(?:my\s+(?:first\s+|real\s+|full\s+|given\s+)?name\s+is|my\s+name's|name's"
    r"|" + _I_AM + r"\s+(?:called|named)|i\s+go\s+by|the\s+name\s+is|the\s+name's)\s+(?P<rest>.+)$",
    FLAGS,
)
NAME_CALL_ME_RE = re.compile(
    r"^(?:(?:you\s+(?:can|may|should|could)|please|just|everyone|everybody|people|my\s+friends"
    r"|friends|most\s+people)\s+){0,2}call(?:s)?\s+me\s+(?P<rest>.+)$",
    FLAGS,
)
NAME_IM_RE = re.compile(
    r"^" + _I_AM + r"\s+(?P<first>[^\W\d_][\w'\-]*)(?:\s+(?P<last>[^\W\d_][\w'\-]*))?"
    r"(?:\s+(?:here|btw|by\s+the\s+way))?\s*(?:[,!.\u2026]|$)",
    FLAGS,
)

# diet -----------------------------------------------------------------------------------------
DIET_IM_RE = re.compile(
    r"^" + _I_AM + r"\s+" + _ADV + r"(?P<neg>not\s+(?:a\s+|an\s+)?|no\s+longer\s+(?:a\s+|an\s+)?)?"
    r"(?:(?:a|an)\s+)?(?:(?:strict|full|fully|total|complete|proud|practicing|practising"
    r"|lifelong|committed|100%)\s+)?(?P<diet>" + _DIET + r")\b(?P<rest>.*)$",
    FLAGS,
)
DIET_VERB_RE = re.compile(
    r"^(?:i\s+" + _ADV + r"(?:follow|eat|went|became|turned|go|keep|switched\s+to|stick\s+to"
    r"|(?:have|'ve|ve)\s+(?:gone|become|turned|switched\s+to))|"
    + _I_AM
    + r"\s+"
    + _ADV
    + r"(?:on|going|doing|eating|following))"
    r"\s+(?:an?\s+)?(?:(?:strict|full|fully|mostly|completely)\s+)?(?P<diet>" + _DIET + r")\b"
    r"(?P<rest>.*)$",
    FLAGS,
)
DIET_MY_RE = re.compile(
    r"^my\s+diet\s+is\s+(?:(?:now|mostly|strictly)\s+)?(?:an?\s+)?(?P<diet>" + _DIET + r")\b"
    r"(?P<rest>.*)$",
    FLAGS,
)
DIET_MORE_RE = re.compile(
    r"^\s*(?:,\s*(?:and\s+)?|\s+and\s+|\s*&\s*|\s+(?:and\s+)?also\s+)(?:an?\s+)?(?P<diet>"
    + _DIET
    + r")\b",
    FLAGS,
)
AVOID_RE = re.compile(
    r"^i\s+(?:"
    + _DONT
    + r"|can't|cant|cannot|can\s+not|won't|no\s+longer)\s+"
    + _ADV
    + r"(?P<verb>eat|drink|consume|touch)\s+(?:any\s+)?(?P<obj>.+)$"
    r"|^i\s+(?:" + _ADV + r")(?:stopped|quit|gave\s+up|have\s+given\s+up|'ve\s+given\s+up"
    r"|cut\s+out)\s+(?P<verb2>eating|drinking)?\s*(?P<obj2>.+)$",
    FLAGS,
)
MEAT_RE = re.compile(
    r"^(?:any\s+)?(?:red\s+)?meat(?:\s+(?:or|and|nor)\s+(?:fish|seafood|poultry))?$"
    r"|^(?:fish|seafood|poultry)\s+(?:or|and|nor)\s+meat$|^animal\s+products$",
    FLAGS,
)

# allergies ------------------------------------------------------------------------------------
_ALLERGY_DEGREE = (
    r"(?:(?:very|severely|highly|deathly|mildly|slightly|seriously|extremely"
    r"|a\s+(?:bit|little))\s+)?"
)
ALLERGIC_RE = re.compile(
    r"^" + _I_AM + r"\s+" + _ADV + _ALLERGY_DEGREE + r"allergic\s+to\s+(?P<obj>.+)$",
    FLAGS,
)
ALLERGY_HAVE_RE = re.compile(
    r"^" + _I_HAVE + r"\s+(?:a\s+|an\s+)?(?:(?:severe|mild|bad|serious|strong|deadly|slight)\s+)?"
    r"(?:(?:allerg(?:y|ies))\s+to\s+(?P<obj>.+)"
    r"|(?P<obj2>[^\W\d_][\w'\-]*(?:\s+[^\W\d_][\w'\-]*)?)\s+allerg(?:y|ies)\b.*)$",
    FLAGS,
)
ALLERGY_MY_RE = re.compile(r"^my\s+allergies\s+(?:are|include)\s+(?P<obj>.+)$", FLAGS)
INTOLERANT_RE = re.compile(
    r"^"
    + _I_AM
    + r"\s+"
    + _ADV
    + _ALLERGY_DEGREE
    + r"(?:(?P<adj>[^\W\d_][\w\-]{1,20})\s+intolerant\b|intolerant\s+to\s+(?P<obj>.+)$)",
    FLAGS,
)
INTOLERANCE_HAVE_RE = re.compile(
    r"^" + _I_HAVE + r"\s+(?:a\s+|an\s+)?(?:(?:severe|mild|bad|slight)\s+)?"
    r"(?P<adj>[^\W\d_][\w\-]{1,20})\s+intolerance\b",
    FLAGS,
)

# likes and dislikes ---------------------------------------------------------------------------
LIKE_RE = re.compile(
    r"^(?:i\s+" + _ADV + r"(?:love|like|enjoy|adore|dig|fancy|prefer|am\s+fond\s+of)"
    r"|"
    + _I_AM
    + r"\s+"
    + _ADV
    + r"(?:(?:a|an)\s+(?:(?:big|huge|massive|great|real|true|die[\s-]?hard|lifelong|avid)\s+)?"
    r"(?:fan|lover|devotee|admirer)\s+of|into|passionate\s+about|crazy\s+about|mad\s+about"
    r"|obsessed\s+with|keen\s+on|big\s+on|fond\s+of|hooked\s+on|addicted\s+to))"
    r"\s+(?P<obj>.+)$",
    FLAGS,
)
DISLIKE_RE = re.compile(
    r"^(?:i\s+" + _ADV + r"(?:hate|dislike|detest|loathe|despise|abhor)"
    r"|i\s+(?:do\s+not|don't|dont|no\s+longer)\s+" + _ADV + r"(?:like|love|enjoy|care\s+for"
    r"|fancy|dig)"
    r"|i\s+"
    + _ADV
    + r"(?:can't|cant|cannot|can\s+not|couldn't)\s+"
    + _ADV
    + r"(?:stand|bear|stomach|tolerate)"
    r"|"
    + _I_AM
    + r"\s+(?:not|no\s+longer)\s+"
    + _ADV
    + r"(?:(?:a|an)\s+(?:(?:big|huge|great)\s+)?fan\s+of|into|keen\s+on|big\s+on|fond\s+of"
    r"|crazy\s+about))"
    r"\s+(?P<obj>.+)$",
    FLAGS,
)
FAVORITE_RE = re.compile(
    r"^my\s+(?:all[\s-]time\s+|absolute\s+|very\s+|current\s+|most\s+)?favou?rite"
    r"(?:\s+(?P<cat>.+?))?\s+(?:is|are|'s|would\s+be|has\s+to\s+be|have\s+to\s+be)\s+(?P<obj>.+)$",
    FLAGS,
)
FAVORITE_REV_RE = re.compile(
    r"^(?P<obj>.+?)\s+(?:is|are)\s+(?:definitely\s+|probably\s+)?my\s+(?:all[\s-]time\s+"
    r"|absolute\s+|very\s+|new\s+)?favou?rite(?:\s+(?P<cat>.+))?$",
    FLAGS,
)
CATEGORY_TRIM_RE = re.compile(
    r"^(?:kind|type|sort|genre|style|form)\s+of\s+"
    r"|\s+(?:in\s+the\s+world|of\s+all\s+time|ever|right\s+now|at\s+the\s+moment|these\s+days"
    r"|nowadays|by\s+far)$",
    FLAGS,
)

# places ---------------------------------------------------------------------------------------
LOCATION_RE = re.compile(
    r"^(?:i\s+" + _ADV + r"(?:live|reside|(?:have|'ve|ve)\s+(?:lived|been\s+living))\s+in"
    r"|i\s+" + _ADV + r"(?:moved|relocated|(?:have|'ve|ve)\s+(?:moved|relocated))"
    r"(?:\s+(?:back|over|out|away))?\s+to"
    r"|" + _I_AM + r"\s+" + _ADV + r"(?:based|living|residing|settled|located)\s+in"
    r"|my\s+(?:home|house|apartment|flat)\s+is\s+in)\s+(?P<place>.+)$",
    FLAGS,
)
HOMETOWN_RE = re.compile(
    r"^(?:" + _I_AM + r"\s+" + _ADV + r"(?:originally\s+)?from"
    r"|i\s+" + _ADV + r"(?:originally\s+)?come\s+from"
    r"|i\s+(?:was\s+)?(?:born\s+and\s+raised|grew\s+up|was\s+raised|was\s+born)\s+in"
    r"|my\s+hometown\s+is)\s+(?P<place>.+)$",
    FLAGS,
)
CALL_HOME_RE = re.compile(r"^i\s+" + _ADV + r"call\s+(?P<place>.+?)\s+(?:my\s+)?home$", FLAGS)

# work -----------------------------------------------------------------------------------------
JOB_AS_RE = re.compile(
    r"^(?:i\s+" + _ADV + r"(?:work|(?:have|'ve|ve)\s+(?:been\s+)?work(?:ed|ing))"
    r"|" + _I_AM + r"\s+" + _ADV + r"(?:working|employed)"
    r"|my\s+(?:job|role|position|profession|occupation|title)\s+is)"
    r"\s+(?:as\s+)?(?:an?\s+)?(?P<job>.+)$",
    FLAGS,
)
JOB_WORK_AS_RE = re.compile(r"^i\s+" + _ADV + r"work\s+as\b", FLAGS)
JOB_MY_RE = re.compile(r"^my\s+(?:job|role|position|profession|occupation|title)\s+is\b", FLAGS)
JOB_IM_RE = re.compile(r"^" + _I_AM + r"\s+" + _ADV + r"(?:an?)\s+(?P<job>.+)$", FLAGS)
JOB_STATUS_RE = re.compile(
    r"^" + _I_AM + r"\s+" + _ADV + r"(?P<status>retired|unemployed|self[\s-]employed"
    r"|between\s+jobs|a\s+stay[\s-]at[\s-]home\s+(?:mom|mum|dad|parent))\b(?P<rest>.*)$",
    FLAGS,
)
EMPLOYER_RE = re.compile(
    r"^(?:i\s+" + _ADV + r"(?:work|(?:have|'ve|ve)\s+(?:been\s+)?work(?:ed|ing))"
    r"|" + _I_AM + r"\s+" + _ADV + r"(?:working|employed)|i\s+" + _ADV + r"intern)"
    r"\s+(?:at|for|by)\s+(?P<employer>.+)$",
    FLAGS,
)
JOB_TAIL_RE = re.compile(
    r"\s+(?P<prep>at|for|with|in|by|from|since|and|who|which|but|because|so|now|currently|of"
    r"|nowadays|these|full[\s-]time|part[\s-]time|on)\b|\s*[,(]",
    FLAGS,
)
EMPLOYER_TAIL_RE = re.compile(
    r"\s+(?:as\s+(?:an?\s+)?(?P<job>[^,]+?)$|as\b|since|for\s+\d|for\s+(?:a|an|two|three|four"
    r"|five|many|several|the\s+past|the\s+last|over|almost|about|nearly)\b|now|and|but|so"
    r"|because|which|where|who|in\s+(?:\d|the\s+)|currently|these|nowadays|full[\s-]time"
    r"|part[\s-]time|remotely|from\s+home)\b|\s*[,(]",
    FLAGS,
)

# family, other people and pets --------------------------------------------------------------------
FAMILY_MY_RE = re.compile(
    r"^my\s+(?:(?P<mod>" + _MOD + r")[\s-]?)?(?P<rel>" + _REL + r"|" + _PET + r")"
    r"(?P<link>'s\s+name\s+is|s\s+name\s+is|\s+name\s+is|'s\s+name's|\s+is\s+called"
    r"|\s+is\s+named|\s+goes\s+by|'s\s+called|\s+called|\s+named|\s+is|'s|,)\s+(?P<rest>.+)$",
    FLAGS,
)
FAMILY_HAVE_RE = re.compile(
    r"^" + _I_HAVE + r"\s+(?:a|an|one|this)\s+(?:(?P<mod>" + _MOD + r")[\s-]?)?"
    r"(?:(?:little|cute|lovely|beautiful|new|old|black|white|grey|gray|brown|ginger|tabby"
    r"|rescue|small|big)\s+){0,2}"
    r"(?P<rel>" + _REL + r"|" + _PET + r")(?:\s+(?:who|which|that)\s+is)?"
    r"\s+(?:named|called|whose\s+name\s+is|by\s+the\s+name\s+of)\s+(?P<rest>.+)$",
    FLAGS,
)
FAMILY_REV_RE = re.compile(
    r"^(?P<name>[^\W\d_][\w'\-]*(?:\s+[^\W\d_][\w'\-]*)?)\s+is\s+my\s+(?:(?P<mod>"
    + _MOD
    + r")[\s-]?)?(?P<rel>"
    + _REL
    + r"|"
    + _PET
    + r")\s*$",
    FLAGS,
)

# age and birthday -----------------------------------------------------------------------------
AGE_RE = re.compile(
    r"^(?:" + _I_AM + r"\s+(?:now\s+|just\s+|already\s+|currently\s+)?"
    r"|i\s+(?:just\s+|recently\s+)?turned\s+|my\s+age\s+is\s+)"
    r"(?P<age>\d{1,3})(?P<unit>\s*(?:years?|yrs?|y/?o|year[\s-]old)(?:\s+old)?)?"
    r"(?P<rest>\s*(?:now|today|this\s+year)?\s*(?:[,!.]|$))",
    FLAGS,
)
BIRTHDAY_RE = re.compile(
    r"^(?:my\s+(?:birthday|bday|b-day|birth\s+date|birthdate|date\s+of\s+birth)(?:\s+is|'s)"
    r"\s+(?:on\s+|in\s+)?|i\s+was\s+born\s+on\s+)(?P<date>.+)$",
    FLAGS,
)
BORN_YEAR_RE = re.compile(r"^i\s+was\s+born\s+in\s+(?P<year>(?:19|20)\d\d)\b", FLAGS)
DATE_CUT_RE = re.compile(
    r"\s+(?:so|and|but|because|which|if|when|remember|don't|dont|in\s+case)\b|\s*,\s*(?![0-9])",
    FLAGS,
)
MONTH_RE = re.compile(
    r"jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|christmas|halloween|valentine", FLAGS
)
"""A date without a digit must name a month or a holiday ("May 3rd", "Christmas Eve")."""
