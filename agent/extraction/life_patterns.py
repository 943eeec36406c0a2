"""The regular expressions of habits, plans, study, work fields, dated events and the places of
named people ("I run every morning", "I'm going to Japan next month", "Tom lives in Berlin").

Compiled once at import; every one is anchored at the clause start, or is a bounded search
(alternations of literal words between word boundaries) on a capped clause.
"""

from __future__ import annotations

import re

from agent.extraction.life_vocabulary import DATE_EVENTS
from agent.extraction.patterns import FLAGS
from agent.extraction.statement_patterns import alternation

_I_AM = r"(?:i'm|im|i\s+am)"
_WEEKDAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_WEEKDAYS = r"(?:mondays|tuesdays|wednesdays|thursdays|fridays|saturdays|sundays)"
_MONTH = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november"
    r"|december)"
)
_SEASON = r"(?:summer|winter|spring|fall|autumn)"
_COUNT = r"(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|a\s+few|a\s+couple\s+of)"
_YEAR = r"(?:19|20)\d\d"
_SOFT = r"(?:(?:also|still|now|really|actually|definitely|finally|officially|then|eventually)\s+)"

# time phrases -------------------------------------------------------------------------------------
FREQUENCY_RE = re.compile(
    r"\b(?:(?:every|each)\s+(?:other\s+|single\s+|\d+\s+)?(?:day|morning|afternoon|evening"
    r"|night|week|weekend|weekday|month|year|lunchtime|days|weeks|months|hours|"
    + _WEEKDAY
    + r"|"
    + _SEASON
    + r")"
    r"|daily|nightly|weekly|monthly|yearly|(?:once|twice)\s+a\s+(?:day|week|month|year)"
    r"|(?:\d+|two|three|four|five|six|several|a\s+few|a\s+couple\s+of)\s+times\s+a\s+(?:day|week"
    r"|month|year)"
    r"|on\s+(?:" + _WEEKDAYS + r"|weekends|weekdays)"
    r"|(?:in\s+the|on)\s+(?:mornings|evenings|afternoons|nights)|at\s+weekends)\b",
    FLAGS,
)
"""A habit's frequency ("every Monday", "twice a week", "in the mornings"), searched for."""

FUTURE_TIME_RE = re.compile(
    r"\b(?:tomorrow|next\s+(?:week|month|year|weekend|semester|term|"
    + _WEEKDAY
    + r"|"
    + _MONTH
    + r"|"
    + _SEASON
    + r")"
    r"|this\s+(?:coming\s+)?(?:weekend|week|month|year|" + _SEASON + r"|" + _WEEKDAY + r")"
    r"|on\s+(?:" + _WEEKDAY + r"|the\s+\d{1,2}(?:st|nd|rd|th)?)"
    r"|in\s+(?:" + _MONTH + r"|" + _YEAR + r"|" + _COUNT + r"\s+(?:days?|weeks?|months?|years?)"
    r"|the\s+(?:spring|summer|fall|autumn|winter|new\s+year))"
    r"|later\s+this\s+(?:week|month|year)"
    r"|(?:at\s+the\s+end\s+of|by\s+the\s+end\s+of)\s+(?:the\s+|this\s+)?(?:week|month|year|"
    + _MONTH
    + r")"
    r"|(?:by|before)\s+(?:" + _MONTH + r"|christmas|next)"
    r"|"
    + _WEEKDAY
    + r"|"
    + _MONTH
    + r"\s+\d{1,2}|\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?"
    + _MONTH
    + r")\b",
    FLAGS,
)
"""A time in the future ("next month", "on Monday", "in June", "in two weeks"), searched for:
"I'm going to ..." and "I'm ...-ing" are plans only with one ("I'm going to bed" is none)."""

ACTIVITY_CUT_RE = re.compile(
    r"\s+(?:every|each|in|on|at|before|after|during|with|for|when|whenever|while|daily|nightly"
    r"|weekly|monthly|yearly|once|twice|next|this|last|tomorrow|tonight|today|soon|later"
    r"|anymore|any\s+more|any\s+longer|no\s+more|again|from|by|until|till|since|because|if"
    r"|and|but|so|then|or|around|first|as|unless|instead|either|too|though|now|already"
    r"|together|alone|early|late|regularly|usually|always|often|sometimes|religiously|almost"
    r"|nearly|mostly|only|about|whether|than|like|through|within|without|over|near|right"
    r"|(?:\d+|two|three|four|five|six|several|a\s+few|a\s+couple\s+of)\s+(?:times|days|weeks"
    r"|months|years|hours|minutes))\b"
    r"|\s*[,;(\u2013\u2014\"]|:(?!\w)|\s+-\s",
    FLAGS,
)
"""Where the activity of a habit or plan ends: "run| in the mornings", "go to the gym| every
Monday", "start a new job| on Monday"."""
LEADING_FOR_RE = re.compile(r"^\s+(?:out\s+)?for\b", FLAGS)
"""A "for" right after the verb is part of the activity ("go for a run")."""

# habits -------------------------------------------------------------------------------------------
HABIT_ADVERB_RE = re.compile(
    r"^i\s+(?:(?:also|still|now)\s+)?(?:usually|always|often|normally|generally|typically"
    r"|regularly|frequently|habitually|routinely|tend\s+to)\s+(?:(?:also|still|just)\s+)?"
    r"(?P<verb>[^\W\d_]+)(?P<rest>(?:\s.*)?)$",
    FLAGS,
)
HABIT_PLAIN_RE = re.compile(
    r"^i\s+(?:(?:also|still|now)\s+)?(?P<verb>[^\W\d_]+)(?P<rest>(?:\s.*)?)$", FLAGS
)
"""A habit without a frequency adverb needs a frequency phrase ("I meditate every day")."""

# plans --------------------------------------------------------------------------------------------
PLAN_EXPLICIT_RE = re.compile(
    r"^(?:i\s+" + _SOFT + r"?(?:plan|intend|aim|am\s+planning|have\s+decided|decided)"
    r"|" + _I_AM + r"\s+" + _SOFT + r"?(?:planning|intending|aiming)"
    r"|my\s+(?:plan|goal|resolution|new\s+year's\s+resolution)\s+is)"
    r"\s+to\s+(?P<verb>[^\W\d_]+)(?P<rest>(?:\s.*)?)$",
    FLAGS,
)
"""An explicit plan needs no date ("I plan to learn Spanish")."""
PLAN_ON_RE = re.compile(
    r"^" + _I_AM + r"\s+" + _SOFT + r"?planning\s+on\s+(?P<ger>[^\W\d_]+ing)(?P<rest>(?:\s.*)?)$",
    FLAGS,
)
PLAN_TRIP_RE = re.compile(
    r"^(?:" + _I_AM + r"\s+" + _SOFT + r"?planning|i\s+(?:plan|have\s+planned|planned|booked"
    r"|have\s+booked))\s+(?:a|my|our|the)\s+(?:(?:big|little|long|short|two[\s-]week|family"
    r"|road)\s+)?(?:trip|holiday|vacation|visit|journey)\s+to\s+(?P<place>.+)$",
    FLAGS,
)
PLAN_FUTURE_RE = re.compile(
    r"^(?:"
    + _I_AM
    + r"\s+"
    + _SOFT
    + r"?(?P<going>going\s+to|gonna)|i(?:'ll|\s+will|\s+shall))\s+"
    + _SOFT
    + r"?(?P<verb>[^\W\d_]+)(?P<rest>(?:\s.*)?)$",
    FLAGS,
)
"""A future ("I'm going to ...", "I will ...") is a plan only with a date."""
PLAN_PROGRESSIVE_RE = re.compile(
    r"^" + _I_AM + r"\s+" + _SOFT + r"?(?P<ger>[^\W\d_]+ing)(?P<rest>(?:\s.*)?)$", FLAGS
)
"""A progressive ("I'm getting married in June") is a plan only with a date."""
TRAVEL_VERB_RE = re.compile(
    r"^(?:go|travel|fly|head|drive|take\s+a\s+trip|go\s+on\s+a\s+trip)\s+to\s+", FLAGS
)
"""Ways of saying "go to" a place: one plan slot (`plan:go to japan`) whatever the verb."""

# study and fields of work -------------------------------------------------------------------------
_STUDY_ADV = (
    r"(?:(?:really|also|just|actually|now|still|currently|mostly|mainly|officially)\s+){0,3}"
)
STUDY_RE = re.compile(
    r"^(?:i\s+" + _STUDY_ADV + r"(?:study|major\s+in|am\s+majoring\s+in)"
    r"|" + _I_AM + r"\s+" + _STUDY_ADV + r"(?:studying|majoring\s+in|doing\s+(?:a|an|my)\s+"
    r"(?:degree|phd|ph\.?d\.?|masters?|master's|bachelors?|bachelor's|ba|bsc|msc|ma|mba"
    r"|doctorate|course)\s+in)"
    r"|my\s+(?:major|degree|field\s+of\s+study)\s+is(?:\s+in)?)\s+(?P<rest>.+)$",
    FLAGS,
)
STUDY_CUT_RE = re.compile(
    r"\s+(?:for|every|each|because|since|and|but|so|with|when|while|whenever|now|currently"
    r"|these|nowadays|full[\s-]time|part[\s-]time|online|remotely|hard|a\s+lot|all|late|on"
    r"|in\s+(?:the|my|\d)|this|next|last|right\s+now|at\s+(?:night|home|the\s+moment)|too"
    r"|as\s+well|though|which|who|where|until|till|to|anymore|any\s+more|after\s+all)\b"
    r"|\s*[,;(]|\s+-\s",
    FLAGS,
)
WORK_FIELD_RE = re.compile(
    r"^(?:i\s+" + _STUDY_ADV + r"(?:work|(?:have|'ve|ve)\s+(?:been\s+)?work(?:ed|ing))"
    r"|" + _I_AM + r"\s+" + _STUDY_ADV + r"(?:working|employed))\s+in\s+(?P<rest>.+)$",
    FLAGS,
)
FIELD_CUT_RE = re.compile(
    r"\s+(?P<prep>as|at|for|since|now|and|but|so|because|which|where|who|in|currently|these"
    r"|nowadays|full[\s-]time|part[\s-]time|remotely|from|anymore|any\s+more|with)\b|\s*[,;(]",
    FLAGS,
)

# dated events -------------------------------------------------------------------------------------
DATE_EVENT_RE = re.compile(
    r"^my\s+(?P<event>(?:[^\W\d_][\w'\-]*\s+){0,2}?" + alternation(DATE_EVENTS) + r")"
    r"(?:'s|\s+is|\s+will\s+be|\s+falls)\s+(?:(?:on|in|at|scheduled\s+for|set\s+for"
    r"|planned\s+for|booked\s+for|coming\s+up\s+on|due\s+on)\s+)?(?P<date>.+)$",
    FLAGS,
)
"""An event of the user and its date: "my exam is on Friday", "my job interview's on the
3rd" (up to two words before the event)."""
DATE_START_RE = re.compile(
    r"^(?:\d|the\s+\d|next\s|this\s|" + _MONTH + r"|" + _WEEKDAY + r"|jan|feb|apr|jun|jul|aug"
    r"|sept?|oct|nov|dec|christmas|easter|halloween|thanksgiving|new\s+year|valentine"
    r"|(?:early|mid|late)[\s-]|the\s+(?:end|beginning|start|middle)\s+of\s)",
    FLAGS,
)
"""A date starts like one ("June 5", "on Friday", "12/08"), not "Google on Friday"."""
DATE_VALUE_RE = re.compile(
    r"\b(?:" + _MONTH + r"|" + _WEEKDAY + r"|jan|feb|apr|jun|jul|aug|sept?|oct|nov|dec"
    r"|christmas|easter|halloween|thanksgiving|new\s+year|valentine)\b"
    r"|\b\d{1,2}(?:st|nd|rd|th)\b|\b" + _YEAR + r"\b|\b\d{1,2}[/.\-]\d{1,2}(?:[/.\-]\d{2,4})?\b",
    FLAGS,
)
"""A date names a month, a weekday, a holiday, a day ("5th"), a year or a numeric date."""

# other people's places ----------------------------------------------------------------------------
PERSON_PLACE_RE = re.compile(
    r"^(?P<name>[^\W\d_][\w'\-]*(?:\s+[^\W\d_][\w'\-]*)?)\s+(?:(?:now|still|currently|also"
    r"|recently|just|finally|actually)\s+)?(?P<verb>lives\s+in|has\s+(?:lived|been\s+living)"
    r"\s+in|is\s+(?:living|based|residing|settled)\s+in|(?:has\s+)?(?:moved|relocated)"
    r"(?:\s+(?:back|over|away))?\s+to)\s+(?P<place>.+)$",
    FLAGS,
)
"""A named person's home: "Tom lives in Berlin", "Alice moved to Lyon last year"."""
MOVE_TIME_RE = re.compile(
    r"^\s*,?\s*(?P<time>last\s+(?:year|month|week|weekend|"
    + _SEASON
    + r"|"
    + _WEEKDAY
    + r"|"
    + _MONTH
    + r")|"
    + _COUNT
    + r"\s+(?:years?|months?|weeks?|days?)\s+ago|recently|yesterday"
    r"|in\s+(?:" + _YEAR + r"|" + _MONTH + r"(?:\s+" + _YEAR + r")?)"
    r"|this\s+(?:year|month|week|" + _SEASON + r")"
    r"|since\s+(?:" + _YEAR + r"|" + _MONTH + r"(?:\s+" + _YEAR + r")?))\b",
    FLAGS,
)
"""When the person moved ("last year", "in 2019"), kept in the value: "Lyon (moved last year)"."""
