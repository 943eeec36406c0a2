"""The regular expressions of retractions ("I don't live in Lyon anymore", "I quit my job")
and of forget requests ("forget that I like jazz", "forget everything about Alice").

Compiled once at import; every one is anchored at the clause (or sentence) start, except
`NO_LONGER_MARKER_RE`, a bounded search for a few literal words.
"""

from __future__ import annotations

import re

from agent.extraction.patterns import FLAGS

_I_AM = r"(?:i'm|im|i\s+am)"
_SOFT = r"(?:(?:really|just|actually|honestly|definitely|now|finally|recently|officially)\s+)"
_PARTNER = r"(?:partner|boyfriend|girlfriend|fianc[eé]e?|husband|wife|spouse|significant\s+other)"

NO_LONGER_MARKER_RE = re.compile(
    r"\b(?:anymore|any\s+more|any\s+longer|no\s+more|no\s+longer|after\s+all)\b", FLAGS
)
"""What makes a negation a retraction: "I don't live in Lyon" is a statement, "... anymore"
says it was true before."""
AFTER_ALL_RE = re.compile(r"\bafter\s+all\b", FLAGS)

# "I don't ... anymore", "I no longer ..." ---------------------------------------------------------
NEG_I_RE = re.compile(
    r"^i\s+"
    + _SOFT
    + r"?(?P<neg>no\s+longer|don't|dont|do\s+not|won't|wont|will\s+not)\s+"
    + _SOFT
    + r"?(?P<verb>[^\W\d_]+)(?P<rest>(?:\s.*)?)$",
    FLAGS,
)
NEG_IM_RE = re.compile(
    r"^" + _I_AM + r"\s+" + _SOFT + r"?(?P<neg>no\s+longer|not)\s+" + _SOFT + r"?(?P<rest>.+)$",
    FLAGS,
)
IN_PLACE_RE = re.compile(r"^\s+in\s+(?P<place>.+)$", FLAGS)
AT_EMPLOYER_RE = re.compile(r"^\s+(?:at|for|by)\s+(?P<employer>.+)$", FLAGS)
AS_JOB_RE = re.compile(r"^\s+as\s+(?:an?\s+)?(?P<job>.+)$", FLAGS)
LIKE_VERB_RE = re.compile(r"^(?:like|love|enjoy|adore|fancy|dig|care\s+for)\s+(?P<obj>.+)$", FLAGS)
HAVE_A_RE = re.compile(
    r"^\s+(?:a|an|any)\s+(?P<what>[^\W\d_][\w\-]*(?:\s+[^\W\d_][\w\-]*)?)", FLAGS
)
PLAN_VERB_RE = re.compile(r"^\s+to\s+(?P<verb>[^\W\d_]+)(?P<rest>(?:\s.*)?)$", FLAGS)

# "I'm not ... anymore", "I'm no longer ..." (what follows "not") ----------------------------------
IM_JOB_RE = re.compile(r"^(?:a|an)\s+(?P<job>.+)$", FLAGS)
IM_LIKE_RE = re.compile(
    r"^(?:(?:a|an)\s+(?:(?:big|huge|great|real)\s+)?fan\s+of|into|keen\s+on|big\s+on|fond\s+of"
    r"|crazy\s+about|obsessed\s+with|passionate\s+about|interested\s+in)\s+(?P<obj>.+)$",
    FLAGS,
)
IM_PLACE_RE = re.compile(r"^(?:living|based|residing|located|settled)\s+in\s+(?P<place>.+)$", FLAGS)
IM_WORK_RE = re.compile(r"^(?:working|employed)(?P<rest>\s.+)$", FLAGS)
IM_WITH_RE = re.compile(
    r"^(?:(?:together\s+)?with|dating|seeing|engaged\s+to|married\s+to)\s+(?P<who>.+)$", FLAGS
)
IM_RELATIONSHIP_RE = re.compile(r"^(?:in\s+a\s+relationship|together|a\s+couple)\b", FLAGS)
IM_STUDY_RE = re.compile(r"^(?:studying|majoring\s+in)\s+(?P<rest>.+)$", FLAGS)
IM_PLAN_RE = re.compile(
    r"^(?P<going>going\s+to|gonna|planning\s+to|planning\s+on)\s+(?P<rest>.+)$", FLAGS
)
IM_GERUND_RE = re.compile(r"^(?P<ger>[^\W\d_]+ing)(?P<rest>(?:\s.*)?)$", FLAGS)
SINGLE_RE = re.compile(r"^" + _I_AM + r"\s+" + _SOFT + r"?single\s+(?:again|now)\b", FLAGS)

# stopping, quitting, cancelling, breaking up, moving away -----------------------------------------
QUIT_JOB_RE = re.compile(
    r"^i\s+(?:(?:have|had|just|finally|recently|actually)\s+){0,2}(?:quit|left|lost"
    r"|resigned\s+from|(?:was|got|have\s+been)\s+(?:fired|sacked|laid\s+off|let\s+go)\s+from)"
    r"\s+my\s+(?:(?:old|current|day)\s+)?(?:job|position|role|work)"
    r"(?:\s+(?:at|with)\s+(?P<employer>.+))?$",
    FLAGS,
)
FIRED_RE = re.compile(
    r"^i\s+(?:(?:just|finally|recently|actually)\s+)?(?:was|got|have\s+been|'ve\s+been)\s+"
    r"(?:fired|sacked|laid\s+off|let\s+go|made\s+redundant)(?:\s+(?:from|by)\s+(?P<employer>.+))?$",
    FLAGS,
)
STOP_RE = re.compile(
    r"^i\s+(?:(?:have|had|just|finally|recently|actually)\s+){0,2}(?P<verb>stopped|quit"
    r"|gave\s+up(?:\s+on)?|given\s+up(?:\s+on)?)\s+(?P<ger>[^\W\d_]+ing)(?P<rest>(?:\s.*)?)$",
    FLAGS,
)
CANCEL_RE = re.compile(
    r"^i\s+(?:(?:have|had|just|finally|actually)\s+){0,2}(?:cancell?ed|called\s+off|scrapped"
    r"|dropped|abandoned|gave\s+up\s+on|given\s+up\s+on)\s+(?:my|the|our)\s+(?P<what>.+)$",
    FLAGS,
)
CANCELLED_TRIP_RE = re.compile(
    r"^(?:(?:big|little|long|short|family|road)\s+)?(?:trip|travel|holiday|vacation|visit"
    r"|flight|journey)s?\s+to\s+(?P<place>.+)$",
    FLAGS,
)
CANCELLED_PLAN_RE = re.compile(
    r"^(?:plans?|idea|goal)\s+(?:to|of)\s+(?P<verb>[^\W\d_]+)(?P<rest>(?:\s.*)?)$", FLAGS
)
CANCELLED_WEDDING_RE = re.compile(r"^(?:wedding|engagement)\b", FLAGS)
MOVED_AWAY_RE = re.compile(
    r"^i\s+(?:(?:have|had|just|finally|recently)\s+){0,2}moved\s+(?:away\s+from|out\s+of|from)"
    r"\s+(?P<place>.+)$",
    FLAGS,
)
BREAK_UP_RE = re.compile(
    r"^i\s+(?:(?:have|had|just|finally|recently)\s+){0,2}(?:broke|broken|split)\s+up\s+with"
    r"\s+(?P<who>.+)$"
    r"|^i\s+(?:(?:have|had|just|finally|recently)\s+){0,2}(?:separated|split)\s+from"
    r"\s+(?P<who2>.+)$",
    FLAGS,
)
BROKE_UP_PAIR_RE = re.compile(
    r"^(?P<who>my\s+" + _PARTNER + r"|[^\W\d_][\w'\-]*)\s+and\s+i\s+(?:(?:have|had|just"
    r"|finally|recently)\s+){0,2}(?:broke\s+up|broken\s+up|split\s+up|separated|split"
    r"|are\s+(?:no\s+longer|not)\s+together|aren't\s+together|are\s+over)\b",
    FLAGS,
)
MY_PARTNER_RE = re.compile(r"^my\s+(?:ex[\s-]?)?" + _PARTNER + r"$", FLAGS)

# forget requests ----------------------------------------------------------------------------------
FORGET_RE = re.compile(
    r"^(?:(?:please|pls|plz|kindly|ok|okay|so|now|just|hey|also|and|then|can\s+you|could\s+you"
    r"|would\s+you|will\s+you|i\s+want\s+you\s+to|i\s+need\s+you\s+to|i'd\s+like\s+you\s+to"
    r"|you\s+(?:can|should|may|must)|go\s+ahead\s+and)[\s,]+){0,4}forget\s+(?P<body>.+)$",
    FLAGS | re.DOTALL,
)
"""A sentence asking to forget: "forget ...", "please forget ...", "can you forget ..."."""
FORGET_EVERYTHING_RE = re.compile(
    r"^(?:about\s+)?(?:everything|all)(?:\s+(?:that\s+)?(?:you\s+(?:know|remember|have\s+"
    r"(?:learned|learnt|stored|saved|heard))|you've\s+(?:learned|learnt|stored|saved|heard)"
    r"|i\s+(?:told|said\s+to)\s+you|i've\s+told\s+you|i\s+said|i\s+mentioned))?\s+about\s+"
    r"(?P<about>.+)$"
    r"|^(?:what|everything)\s+i\s+(?:said|told\s+you|mentioned)\s+about\s+(?P<about2>.+)$",
    FLAGS | re.DOTALL,
)
FORGET_THAT_RE = re.compile(
    r"^(?:that|the\s+fact\s+that|i\s+(?:said|told\s+you|mentioned)(?:\s+that)?)\s+(?P<about>.+)$",
    FLAGS | re.DOTALL,
)
FORGET_MY_RE = re.compile(r"^(?P<about>my\s+.+)$", FLAGS | re.DOTALL)
FORGET_ABOUT_END_RE = re.compile(
    r"\s*[,;]\s*(?:she|he|it|they|we|i|you|this|that|but|so|because|and|since|as|it's|she's"
    r"|he's|they're|i'm|thanks|thank|please|ok|okay)\b|\s+(?:because|since|please)\b",
    FLAGS,
)
"""Where what to forget ends: "forget that I mentioned Alice|, she is not important"."""
