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
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "MAX_SENTENCE",
    "MAX_SENTENCES",
    "MAX_TEXT",
    "Extracted",
    "conflicting_slots",
    "extract",
]

Kind = Literal["preference", "fact", "note"]

MAX_TEXT = 20_000
"""Characters of a message that are scanned at all."""
MAX_SENTENCE = 2_000
"""Characters of one sentence that are scanned."""
MAX_SENTENCES = 500
"""Sentences of one message that are read (those without a first-person word don't count)."""
MAX_OBJECT_WORDS = 6
"""Longest liked/disliked object, place or job, in words."""
NOTE_KEY_CHARS = 60
"""Longest note key (and normalised note slot text)."""


@dataclass(frozen=True)
class Extracted:
    """One statement the user made about themselves.

    `slot` is the identity of the thing the memory is about (a new value for the same slot
    updates the memory), `key` the short human-readable key shown to users and embedded for
    retrieval, and `value` the value text.
    """

    kind: Kind
    slot: str
    key: str
    value: str


# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------

DIETS: tuple[str, ...] = (
    "lacto-ovo vegetarian",
    "lacto-ovo-vegetarian",
    "lacto-vegetarian",
    "ovo-vegetarian",
    "vegetarian",
    "veggie",
    "vegan",
    "pescatarian",
    "pescetarian",
    "flexitarian",
    "keto",
    "ketogenic",
    "paleo",
    "halal",
    "kosher",
    "gluten-free",
    "gluten free",
    "dairy-free",
    "dairy free",
    "lactose-free",
    "lactose free",
    "plant-based",
    "plant based",
    "low-carb",
    "low carb",
    "carnivore",
    "omnivore",
    "raw vegan",
    "fruitarian",
    "low-fodmap",
    "low fodmap",
    "mediterranean",
)

RELATIONS: dict[str, str] = {
    "sister": "sister",
    "brother": "brother",
    "sibling": "sibling",
    "mother": "mother",
    "mom": "mother",
    "mum": "mother",
    "mommy": "mother",
    "mummy": "mother",
    "mama": "mother",
    "father": "father",
    "dad": "father",
    "daddy": "father",
    "papa": "father",
    "wife": "wife",
    "husband": "husband",
    "partner": "partner",
    "spouse": "spouse",
    "boyfriend": "boyfriend",
    "girlfriend": "girlfriend",
    "fiance": "fiancé",
    "fiancé": "fiancé",
    "fiancee": "fiancée",
    "fiancée": "fiancée",
    "son": "son",
    "daughter": "daughter",
    "grandmother": "grandmother",
    "grandma": "grandmother",
    "granny": "grandmother",
    "nana": "grandmother",
    "grandfather": "grandfather",
    "grandpa": "grandfather",
    "granddad": "grandfather",
    "grandad": "grandfather",
    "grandson": "grandson",
    "granddaughter": "granddaughter",
    "aunt": "aunt",
    "auntie": "aunt",
    "aunty": "aunt",
    "uncle": "uncle",
    "cousin": "cousin",
    "niece": "niece",
    "nephew": "nephew",
    "best friend": "best friend",
    "stepmother": "stepmother",
    "stepfather": "stepfather",
    "stepson": "stepson",
    "stepdaughter": "stepdaughter",
    "stepsister": "stepsister",
    "stepbrother": "stepbrother",
}

PETS: dict[str, str] = {
    "dog": "dog",
    "puppy": "dog",
    "pup": "dog",
    "doggo": "dog",
    "cat": "cat",
    "kitten": "cat",
    "kitty": "cat",
    "pet": "pet",
    "hamster": "hamster",
    "rabbit": "rabbit",
    "bunny": "rabbit",
    "parrot": "parrot",
    "bird": "bird",
    "horse": "horse",
    "pony": "pony",
    "goldfish": "goldfish",
    "turtle": "turtle",
    "tortoise": "tortoise",
    "snake": "snake",
    "lizard": "lizard",
    "guinea pig": "guinea pig",
    "ferret": "ferret",
    "gecko": "gecko",
}

RELATION_MODIFIERS: dict[str, str] = {
    "older": "older",
    "big": "older",
    "elder": "older",
    "eldest": "older",
    "oldest": "older",
    "younger": "younger",
    "little": "younger",
    "baby": "younger",
    "youngest": "younger",
    "twin": "twin",
    "step": "step",
    "half": "half",
}

JOBS: frozenset[str] = frozenset(
    {
        "nurse",
        "doctor",
        "teacher",
        "engineer",
        "developer",
        "programmer",
        "coder",
        "designer",
        "artist",
        "writer",
        "author",
        "accountant",
        "pilot",
        "farmer",
        "dentist",
        "pharmacist",
        "architect",
        "scientist",
        "researcher",
        "professor",
        "lecturer",
        "librarian",
        "mechanic",
        "electrician",
        "plumber",
        "carpenter",
        "firefighter",
        "officer",
        "cop",
        "soldier",
        "surgeon",
        "physician",
        "therapist",
        "psychologist",
        "psychiatrist",
        "musician",
        "actor",
        "actress",
        "journalist",
        "editor",
        "consultant",
        "manager",
        "analyst",
        "student",
        "freelancer",
        "barista",
        "waiter",
        "waitress",
        "bartender",
        "cashier",
        "chef",
        "baker",
        "butcher",
        "paramedic",
        "vet",
        "veterinarian",
        "photographer",
        "translator",
        "interpreter",
        "lawyer",
        "attorney",
        "judge",
        "banker",
        "broker",
        "economist",
        "entrepreneur",
        "founder",
        "ceo",
        "cto",
        "cfo",
        "coo",
        "administrator",
        "technician",
        "clerk",
        "secretary",
        "receptionist",
        "assistant",
        "intern",
        "tutor",
        "coach",
        "trainer",
        "instructor",
        "counselor",
        "counsellor",
        "salesman",
        "saleswoman",
        "salesperson",
        "tester",
        "sysadmin",
        "mathematician",
        "physicist",
        "chemist",
        "biologist",
        "geologist",
        "historian",
        "linguist",
        "philosopher",
        "statistician",
        "optician",
        "midwife",
        "carer",
        "caregiver",
        "janitor",
        "cleaner",
        "gardener",
        "landscaper",
        "welder",
        "machinist",
        "miner",
        "fisherman",
        "sailor",
        "detective",
        "radiologist",
        "pediatrician",
        "paediatrician",
        "anesthesiologist",
        "anaesthetist",
        "nanny",
        "babysitter",
        "housekeeper",
        "homemaker",
        "influencer",
        "youtuber",
        "streamer",
        "blogger",
        "podcaster",
        "composer",
        "singer",
        "dancer",
        "painter",
        "sculptor",
        "illustrator",
        "animator",
        "filmmaker",
        "director",
        "producer",
        "publisher",
        "marketer",
        "recruiter",
        "realtor",
        "planner",
        "strategist",
        "executive",
        "supervisor",
        "foreman",
        "contractor",
        "surveyor",
        "optometrist",
        "dietitian",
        "dietician",
        "nutritionist",
        "physiotherapist",
        "physio",
        "chiropractor",
        "hairdresser",
        "barber",
        "stylist",
        "tailor",
        "jeweler",
        "jeweller",
        "florist",
        "roofer",
        "postman",
        "courier",
        "astronaut",
        "diplomat",
        "politician",
        "academic",
        "postdoc",
        "employee",
        "pharmacologist",
        "epidemiologist",
        "neurologist",
        "cardiologist",
        "oncologist",
        "dermatologist",
        "paralegal",
        "auditor",
        "bookkeeper",
        "cook",
        "driver",
        "worker",
        "guard",
        "agent",
        "servant",
    }
)
"""Head nouns of a job phrase ("a senior software *engineer*")."""

AMBIGUOUS_JOBS: frozenset[str] = frozenset(
    {"cook", "driver", "worker", "guard", "agent", "servant"}
)
"""Heads that are a job only with a modifier ("line cook", "taxi driver", "social worker")."""

JOB_REJECT_MODIFIERS: frozenset[str] = frozenset(
    {
        "former",
        "ex",
        "ex-",
        "retired",
        "aspiring",
        "wannabe",
        "future",
        "good",
        "bad",
        "great",
        "terrible",
        "awful",
        "decent",
        "amateur",
        "hobby",
        "hobbyist",
        "huge",
        "big",
        "real",
        "hard",
        "lazy",
        "budding",
        "would-be",
        "failed",
        "frustrated",
        "secret",
        "closet",
    }
)

NON_NAMES: frozenset[str] = frozenset(
    {
        # grammar words
        "a",
        "an",
        "the",
        "not",
        "no",
        "so",
        "very",
        "just",
        "also",
        "really",
        "still",
        "here",
        "there",
        "back",
        "home",
        "in",
        "on",
        "at",
        "from",
        "into",
        "to",
        "of",
        "by",
        "for",
        "with",
        "about",
        "and",
        "or",
        "but",
        "that",
        "this",
        "it",
        "its",
        "me",
        "you",
        "him",
        "her",
        "them",
        "us",
        "we",
        "they",
        "he",
        "she",
        "my",
        "your",
        "our",
        "their",
        "his",
        "myself",
        "yourself",
        "always",
        "never",
        "currently",
        "literally",
        "totally",
        "kinda",
        "pretty",
        "quite",
        "bit",
        "little",
        "sort",
        "kind",
        "all",
        "now",
        "then",
        "too",
        "only",
        "even",
        "actually",
        "finally",
        "almost",
        "definitely",
        "probably",
        "maybe",
        "perhaps",
        "later",
        "tomorrow",
        "today",
        "tonight",
        "soon",
        "anytime",
        "sometime",
        "asap",
        "please",
        "thanks",
        "if",
        "when",
        "what",
        "who",
        "how",
        "why",
        "where",
        "one",
        "two",
        "someone",
        "somebody",
        "anyone",
        "nobody",
        "everyone",
        "nothing",
        "something",
        "anything",
        "everything",
        "like",
        "going",
        "trying",
        "looking",
        "thinking",
        "feeling",
        "getting",
        "planning",
        "learning",
        "working",
        "living",
        "doing",
        "being",
        "having",
        "coming",
        "leaving",
        "moving",
        "starting",
        "writing",
        "reading",
        "glad",
        "gonna",
        "gotta",
        "wanna",
        # states and adjectives
        "sorry",
        "fine",
        "good",
        "great",
        "ok",
        "okay",
        "well",
        "sure",
        "happy",
        "sad",
        "tired",
        "hungry",
        "thirsty",
        "busy",
        "bored",
        "excited",
        "new",
        "old",
        "married",
        "single",
        "divorced",
        "engaged",
        "widowed",
        "pregnant",
        "sick",
        "ill",
        "allergic",
        "retired",
        "done",
        "ready",
        "late",
        "early",
        "alone",
        "afraid",
        "scared",
        "angry",
        "curious",
        "confused",
        "lost",
        "stuck",
        "sleepy",
        "cold",
        "hot",
        "warm",
        "free",
        "available",
        "interested",
        "gay",
        "straight",
        "bi",
        "trans",
        "human",
        "alive",
        "awake",
        "asleep",
        "hopeful",
        "proud",
        "grateful",
        "thankful",
        "lucky",
        "stressed",
        "anxious",
        "worried",
        "nervous",
        "depressed",
        "alright",
        "cool",
        "fantastic",
        "amazing",
        "awesome",
        "exhausted",
        "starving",
        "broke",
        "rich",
        "poor",
        "young",
        "tall",
        "short",
        "blind",
        "deaf",
        "unemployed",
        "employed",
        "self-employed",
        "vaccinated",
        "certain",
        "positive",
        "convinced",
        "aware",
        "bad",
        "terrible",
        "awful",
        "better",
        "worse",
        "best",
        "worst",
        "same",
        "different",
        "fat",
        "thin",
        "fit",
        "healthy",
        "unwell",
        "pleased",
        "delighted",
        "fed",
        "sober",
        "drunk",
        "shy",
        "introverted",
        "extroverted",
        "lonely",
        "calm",
        "upset",
        "annoyed",
        "frustrated",
        "fan",
        "big",
        "huge",
        "right",
        "wrong",
        "serious",
        "kidding",
        "joking",
        "honest",
        "impressed",
        "surprised",
        "blessed",
        "vegetarian",
        "lactose",
        "intolerant",
        "diabetic",
        "celiac",
        "coeliac",
        "male",
        "female",
        "nonbinary",
        "non-binary",
        "boy",
        "girl",
        "man",
        "woman",
        "guy",
        "dude",
        "mom",
        "dad",
        "mother",
        "father",
        "student",
        "teacher",
        "nurse",
        "doctor",
        "retiree",
        "parent",
        "adult",
        "kid",
        "child",
        "teenager",
        "teen",
        "bilingual",
        "left-handed",
        "right-handed",
        # religions and nationalities ("I'm French" is not a name)
        "catholic",
        "christian",
        "protestant",
        "jewish",
        "muslim",
        "buddhist",
        "hindu",
        "sikh",
        "atheist",
        "agnostic",
        "mormon",
        "orthodox",
        "american",
        "british",
        "english",
        "scottish",
        "welsh",
        "irish",
        "french",
        "german",
        "italian",
        "spanish",
        "portuguese",
        "dutch",
        "belgian",
        "swiss",
        "austrian",
        "swedish",
        "norwegian",
        "danish",
        "finnish",
        "icelandic",
        "polish",
        "czech",
        "slovak",
        "hungarian",
        "romanian",
        "bulgarian",
        "greek",
        "turkish",
        "russian",
        "ukrainian",
        "belarusian",
        "serbian",
        "croatian",
        "slovenian",
        "bosnian",
        "albanian",
        "lithuanian",
        "latvian",
        "estonian",
        "canadian",
        "mexican",
        "brazilian",
        "argentinian",
        "argentine",
        "chilean",
        "peruvian",
        "colombian",
        "venezuelan",
        "cuban",
        "chinese",
        "japanese",
        "korean",
        "vietnamese",
        "thai",
        "filipino",
        "indonesian",
        "malaysian",
        "singaporean",
        "indian",
        "pakistani",
        "bangladeshi",
        "nepali",
        "iranian",
        "iraqi",
        "israeli",
        "palestinian",
        "lebanese",
        "syrian",
        "egyptian",
        "moroccan",
        "algerian",
        "tunisian",
        "nigerian",
        "kenyan",
        "ethiopian",
        "ghanaian",
        "african",
        "european",
        "asian",
        "australian",
        "kiwi",
        "latino",
        "latina",
        "hispanic",
        "arab",
        "persian",
        "saudi",
        "emirati",
        "scandinavian",
        "texan",
        "parisian",
        "londoner",
        "asian-american",
        "african-american",
    }
)
"""Words that are never accepted as a name ("I'm tired", "I'm French", "my sister is Vegan")."""
NON_NAMES = NON_NAMES | frozenset(d for d in DIETS if " " not in d)
NOT_INTOLERANCES: frozenset[str] = NON_NAMES - {"lactose"}
"""Words before "intolerant" that are no substance ("I'm so intolerant")."""

PRONOUN_OBJECTS: frozenset[str] = frozenset(
    {
        "it",
        "that",
        "this",
        "these",
        "those",
        "you",
        "him",
        "her",
        "them",
        "us",
        "me",
        "myself",
        "yourself",
        "yourselves",
        "himself",
        "herself",
        "themselves",
        "ourselves",
        "everything",
        "anything",
        "something",
        "nothing",
        "everyone",
        "anyone",
        "someone",
        "nobody",
        "everybody",
        "anybody",
        "somebody",
        "what",
        "how",
        "when",
        "where",
        "which",
        "who",
        "why",
        "whatever",
        "whoever",
        "there",
        "here",
        "so",
        "too",
        "very",
        "one",
        "ones",
        "to",
        "it's",
        "its",
        "that's",
        "yours",
        "his",
        "hers",
        "theirs",
        "ours",
        "if",
        "because",
        "all",
        "both",
        "either",
        "neither",
        "none",
        "some",
        "any",
        "lots",
        "much",
        "more",
        "most",
        "less",
        "least",
        "ya",
        "u",
        "y'all",
        "em",
        "'em",
        "being",
        "having",
        "your",
        "ur",
        "their",
        "such",
    }
)
"""A like/dislike whose object starts with one of these is no memory ("I love you")."""

VAGUE_OBJECTS: frozenset[str] = frozenset(
    {
        "idea",
        "way",
        "fact",
        "thought",
        "question",
        "answer",
        "suggestion",
        "suggestions",
        "advice",
        "plan",
        "look",
        "feeling",
        "part",
        "point",
        "thing",
        "things",
        "stuff",
        "lot",
        "bit",
        "response",
        "reply",
        "help",
        "tip",
        "tips",
        "recommendation",
        "recommendations",
        "list",
        "explanation",
        "sound",
        "name",
        "story",
        "joke",
        "jokes",
        "one",
        "ones",
        "same",
        "most",
        "best",
        "least",
    }
)
"""Heads of objects that refer to the conversation, not a taste ("I like the idea")."""

OBJECT_IDIOMS: frozenset[str] = frozenset(
    {
        "rock and roll",
        "rock n roll",
        "fish and chips",
        "mac and cheese",
        "macaroni and cheese",
        "salt and pepper",
        "bread and butter",
        "peanut butter and jelly",
        "pride and prejudice",
        "dungeons and dragons",
        "law and order",
        "rhythm and blues",
        "drum and bass",
        "war and peace",
        "rick and morty",
        "tom and jerry",
        "romeo and juliet",
        "sweet and sour",
        "pen and paper",
        "bed and breakfast",
        "arts and crafts",
        "hide and seek",
        "black and white",
        "r and b",
        "surf and turf",
        "cookies and cream",
        "strawberries and cream",
        "beauty and the beast",
        "harry potter and the philosopher's stone",
        "trial and error",
        "lord of the rings",
        "fast and furious",
        "the fast and the furious",
        "peanut butter and jelly sandwiches",
        "chicken and waffles",
        "rice and beans",
    }
)
"""Objects that contain "and" but are one thing (not split into a list)."""

COUNTABLE_ALLERGENS: dict[str, str] = {
    "peanut": "peanuts",
    "nut": "nuts",
    "tree nut": "tree nuts",
    "egg": "eggs",
    "cat": "cats",
    "dog": "dogs",
    "bee": "bees",
    "wasp": "wasps",
    "strawberry": "strawberries",
    "tomato": "tomatoes",
    "almond": "almonds",
    "cashew": "cashews",
    "walnut": "walnuts",
    "hazelnut": "hazelnuts",
    "pistachio": "pistachios",
    "kiwi": "kiwis",
    "banana": "bananas",
    "mushroom": "mushrooms",
    "sesame seed": "sesame seeds",
    "bee sting": "bee stings",
    "horse": "horses",
    "peach": "peaches",
    "apple": "apples",
    "avocado": "avocados",
    "pecan": "pecans",
    "shrimp": "shrimp",
    "mango": "mangoes",
    "bean": "beans",
    "legume": "legumes",
    "seed": "seeds",
    "insect sting": "insect stings",
}
"""Singular allergen -> plural, so "a peanut allergy" and "allergic to peanuts" share a slot."""

CATEGORY_SPELLINGS: dict[str, str] = {
    "colour": "color",
    "flavour": "flavor",
    "favourite": "favorite",
    "films": "movies",
    "film": "movie",
}

PLACE_ACRONYMS: frozenset[str] = frozenset({"uk", "us", "usa", "uae", "nyc", "dc", "eu", "sf"})
PLACE_LOWER_WORDS: frozenset[str] = frozenset(
    {
        "the",
        "of",
        "de",
        "la",
        "le",
        "les",
        "du",
        "del",
        "da",
        "di",
        "upon",
        "on",
        "am",
        "an",
        "sur",
        "in",
        "and",
        "y",
        "en",
        "im",
        "by",
    }
)

NON_PLACES: frozenset[str] = frozenset(
    {
        "fear",
        "hope",
        "peace",
        "denial",
        "poverty",
        "luxury",
        "misery",
        "sin",
        "harmony",
        "moment",
        "past",
        "present",
        "future",
        "dream",
        "bubble",
        "shadow",
        "shadows",
        "terror",
        "constant",
        "debt",
        "comfort",
        "style",
        "hiding",
        "limbo",
        "silence",
        "pain",
        "love",
    }
)
"""Words after "I live in" that are no place ("I live in fear")."""

ABBREVIATIONS: frozenset[str] = frozenset(
    {
        "mr",
        "mrs",
        "ms",
        "dr",
        "st",
        "jr",
        "sr",
        "prof",
        "mt",
        "ft",
        "vs",
        "e.g",
        "i.e",
        "approx",
        "dept",
        "univ",
        "ave",
        "blvd",
        "rd",
    }
)
"""A sentence never ends after these ("I live on St. Mary's road")."""


# --------------------------------------------------------------------------------------------
# Regular expressions (module level, compiled once; all anchored or bounded)
# --------------------------------------------------------------------------------------------


def _alternation(words: Iterable[str]) -> str:
    """A regex alternation of `words`, longest first, spaces and hyphens matched loosely."""
    parts = []
    for word in sorted(set(words), key=len, reverse=True):
        parts.append(r"[\s-]?".join(re.escape(piece) for piece in re.split(r"[\s-]", word)))
    return "(?:" + "|".join(parts) + ")"


_FLAGS = re.IGNORECASE
_I_AM = r"(?:i'm|im|i\s+am)"
_I_HAVE = r"(?:i\s+have|i've|ive|i\s+have\s+got|i've\s+got|ive\s+got|i\s+got)"
_DONT = r"(?:do\s+not|don't|dont|doesn't|no\s+longer|never)"
_ADV = (
    r"(?:(?:really|also|just|absolutely|totally|actually|now|still|truly|genuinely|definitely"
    r"|honestly|kinda|kind\s+of|sort\s+of|currently|do|so|very\s+much|mostly|usually|always"
    r"|quite|pretty\s+much|particularly|especially|recently|finally|officially|even|deeply"
    r"|seriously|totally|literally|strictly|fully|mainly|mostly)\s+){0,3}"
)
_DIET = _alternation(DIETS)
_REL = _alternation(RELATIONS)
_PET = _alternation(PETS)
_MOD = _alternation(RELATION_MODIFIERS)
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

CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]")
APOSTROPHE_RE = re.compile(r"[\u2018\u2019\u02bc\u00b4`\uff07]")
SENTENCE_RE = re.compile(r"[^.!?;\n]*(?:[.!?;]+|\n+|$)")
ABBREV_TAIL_RE = re.compile(r"(?:^|[\s(])([a-z]{1,6}(?:\.[a-z])?)\.$", _FLAGS)

CLAUSE_SPLIT_RE = re.compile(
    r"\s*[,;:]\s*(?:(?:and|but|so|because|plus|then)\s+)?(?=" + _SUBJECT_LEAD + _SUBJECT + ")"
    r"|\s+(?:and|but|so|because|plus|then|while|whereas|although|though)\s+(?="
    + _SUBJECT_LEAD
    + _SUBJECT
    + ")"
    r"|\s*,\s*(?=" + _QUESTION_WORD + ")"
    r"|\s+and\s+(?:also\s+)?(?P<complement>(?=(?:(?:very|severely|mildly|highly|slightly)\s+)?"
    r"(?:allergic|[^\W\d_]{2,20}\s+intolerant)\b))",
    _FLAGS,
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
    _FLAGS,
)
HYPOTHETICAL_RE = re.compile(
    r"^(?:if|suppose|supposing|imagine|assuming|assume|pretend|hypothetically|let's\s+say"
    r"|lets\s+say|say|what\s+if|in\s+case|unless|when|whenever|once|maybe|perhaps|would"
    r"|i\s+wish|i\s+would|i'd|if\s+only)\b",
    _FLAGS,
)
QUESTION_RE = re.compile(r"^" + _QUESTION_WORD, _FLAGS)

NOTE_RE = re.compile(
    r"^(?P<polite>(?:(?:please|pls|plz|kindly|can\s+you|could\s+you|would\s+you|will\s+you"
    r"|i\s+want\s+you\s+to|i\s+need\s+you\s+to|i'd\s+like\s+you\s+to|you\s+should|try\s+to"
    r"|make\s+sure\s+(?:to|you))\s+){0,2})"
    r"(?:(?:always|also|just)\s+)?"
    r"(?P<verb>remember|memori[sz]e|note|keep\s+in\s+mind|(?:don't|dont|do\s+not|never)"
    r"\s+forget|make\s+a\s+note|take\s+note|save|store)"
    r"(?P<sep>\s+(?:that|this|the\s+fact\s+that)\s*[:,\-]?\s*|\s*(?:this|that)?\s*[:\-,]\s*|\s+)"
    r"(?P<body>.*)$",
    _FLAGS | re.DOTALL,
)

TRAILING_CLAUSE_RE = re.compile(
    r"\s*,?\s+(?:because|cause|cuz|when|whenever|if|unless|since|although|though|but|while"
    r"|whereas|so\s+that|especially|except|which|who|whom|where|until|till|as\s+long\s+as"
    r"|even\s+though|like\s+i\s+said|i\s+think|i\s+guess|i\s+believe|lol|haha|so|please"
    r"|and\s+(?:so|please|then|therefore)|therefore|hence|rather\s+than|instead\s+of|over"
    r"|than)\b"
    r"|\s*,\s+(?:and|so|or|but|right|you\s+know|ok|okay)\b"
    r"|\s*[(\u2013\u2014]|\s+-\s",
    _FLAGS,
)
TRAILING_MODIFIER_RE = re.compile(
    r"(?:\s+(?:a\s+lot|so\s+much|very\s+much|too|as\s+well|anymore|any\s+more|now|these\s+days"
    r"|nowadays|lately|more\s+than\s+anything|the\s+most|a\s+bit|a\s+little|more|though"
    r"|haha|lol|really|actually|honestly|tbh|right\s+now|at\s+the\s+moment|currently|again"
    r"|most\s+of\s+all|in\s+general|generally|overall))+$",
    _FLAGS,
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
    _FLAGS,
)
LIST_SPLIT_RE = re.compile(
    r"\s*,\s*(?:(?:and|or)\s+)?|\s+(?:and|or|&|as\s+well\s+as|plus)\s+", _FLAGS
)
WORD_RE = re.compile(r"^[^\W\d_]+(?:['\-.][^\W\d_]+)*$")
QUOTES = "\"'\u201c\u201d\u00ab\u00bb\u2039\u203a\u300c\u300d"
TRAIL_PUNCT = ".,!?;:\u2026\u3002\uff01\uff1f\uff0c"

# names ----------------------------------------------------------------------------------------
NAME_EXPLICIT_RE = re.compile(
    r"^(?:my\s+(?:first\s+|real\s+|full\s+|given\s+)?name\s+is|my\s+name's|name's"
    r"|" + _I_AM + r"\s+(?:called|named)|i\s+go\s+by|the\s+name\s+is|the\s+name's)\s+(?P<rest>.+)$",
    _FLAGS,
)
NAME_CALL_ME_RE = re.compile(
    r"^(?:(?:you\s+(?:can|may|should|could)|please|just|everyone|everybody|people|my\s+friends"
    r"|friends|most\s+people)\s+){0,2}call(?:s)?\s+me\s+(?P<rest>.+)$",
    _FLAGS,
)
NAME_IM_RE = re.compile(
    r"^" + _I_AM + r"\s+(?P<first>[^\W\d_][\w'\-]*)(?:\s+(?P<last>[^\W\d_][\w'\-]*))?"
    r"(?:\s+(?:here|btw|by\s+the\s+way))?\s*(?:[,!.\u2026]|$)",
    _FLAGS,
)

# diet -----------------------------------------------------------------------------------------
DIET_IM_RE = re.compile(
    r"^" + _I_AM + r"\s+" + _ADV + r"(?P<neg>not\s+(?:a\s+|an\s+)?|no\s+longer\s+(?:a\s+|an\s+)?)?"
    r"(?:(?:a|an)\s+)?(?:(?:strict|full|fully|total|complete|proud|practicing|practising"
    r"|lifelong|committed|100%)\s+)?(?P<diet>" + _DIET + r")\b(?P<rest>.*)$",
    _FLAGS,
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
    _FLAGS,
)
DIET_MY_RE = re.compile(
    r"^my\s+diet\s+is\s+(?:(?:now|mostly|strictly)\s+)?(?:an?\s+)?(?P<diet>" + _DIET + r")\b"
    r"(?P<rest>.*)$",
    _FLAGS,
)
DIET_MORE_RE = re.compile(
    r"^\s*(?:,\s*(?:and\s+)?|\s+and\s+|\s*&\s*|\s+(?:and\s+)?also\s+)(?:an?\s+)?(?P<diet>"
    + _DIET
    + r")\b",
    _FLAGS,
)
AVOID_RE = re.compile(
    r"^i\s+(?:"
    + _DONT
    + r"|can't|cant|cannot|can\s+not|won't|no\s+longer)\s+"
    + _ADV
    + r"(?P<verb>eat|drink|consume|touch)\s+(?:any\s+)?(?P<obj>.+)$"
    r"|^i\s+(?:" + _ADV + r")(?:stopped|quit|gave\s+up|have\s+given\s+up|'ve\s+given\s+up"
    r"|cut\s+out)\s+(?P<verb2>eating|drinking)?\s*(?P<obj2>.+)$",
    _FLAGS,
)
MEAT_RE = re.compile(
    r"^(?:any\s+)?(?:red\s+)?meat(?:\s+(?:or|and|nor)\s+(?:fish|seafood|poultry))?$"
    r"|^(?:fish|seafood|poultry)\s+(?:or|and|nor)\s+meat$|^animal\s+products$",
    _FLAGS,
)

# allergies ------------------------------------------------------------------------------------
_ALLERGY_DEGREE = (
    r"(?:(?:very|severely|highly|deathly|mildly|slightly|seriously|extremely"
    r"|a\s+(?:bit|little))\s+)?"
)
ALLERGIC_RE = re.compile(
    r"^" + _I_AM + r"\s+" + _ADV + _ALLERGY_DEGREE + r"allergic\s+to\s+(?P<obj>.+)$",
    _FLAGS,
)
ALLERGY_HAVE_RE = re.compile(
    r"^" + _I_HAVE + r"\s+(?:a\s+|an\s+)?(?:(?:severe|mild|bad|serious|strong|deadly|slight)\s+)?"
    r"(?:(?:allerg(?:y|ies))\s+to\s+(?P<obj>.+)"
    r"|(?P<obj2>[^\W\d_][\w'\-]*(?:\s+[^\W\d_][\w'\-]*)?)\s+allerg(?:y|ies)\b.*)$",
    _FLAGS,
)
ALLERGY_MY_RE = re.compile(r"^my\s+allergies\s+(?:are|include)\s+(?P<obj>.+)$", _FLAGS)
INTOLERANT_RE = re.compile(
    r"^"
    + _I_AM
    + r"\s+"
    + _ADV
    + _ALLERGY_DEGREE
    + r"(?:(?P<adj>[^\W\d_][\w\-]{1,20})\s+intolerant\b|intolerant\s+to\s+(?P<obj>.+)$)",
    _FLAGS,
)
INTOLERANCE_HAVE_RE = re.compile(
    r"^" + _I_HAVE + r"\s+(?:a\s+|an\s+)?(?:(?:severe|mild|bad|slight)\s+)?"
    r"(?P<adj>[^\W\d_][\w\-]{1,20})\s+intolerance\b",
    _FLAGS,
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
    _FLAGS,
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
    _FLAGS,
)
FAVORITE_RE = re.compile(
    r"^my\s+(?:all[\s-]time\s+|absolute\s+|very\s+|current\s+|most\s+)?favou?rite"
    r"(?:\s+(?P<cat>.+?))?\s+(?:is|are|'s|would\s+be|has\s+to\s+be|have\s+to\s+be)\s+(?P<obj>.+)$",
    _FLAGS,
)
FAVORITE_REV_RE = re.compile(
    r"^(?P<obj>.+?)\s+(?:is|are)\s+(?:definitely\s+|probably\s+)?my\s+(?:all[\s-]time\s+"
    r"|absolute\s+|very\s+|new\s+)?favou?rite(?:\s+(?P<cat>.+))?$",
    _FLAGS,
)
CATEGORY_TRIM_RE = re.compile(
    r"^(?:kind|type|sort|genre|style|form)\s+of\s+"
    r"|\s+(?:in\s+the\s+world|of\s+all\s+time|ever|right\s+now|at\s+the\s+moment|these\s+days"
    r"|nowadays|by\s+far)$",
    _FLAGS,
)

# places ---------------------------------------------------------------------------------------
LOCATION_RE = re.compile(
    r"^(?:i\s+" + _ADV + r"(?:live|reside|(?:have|'ve|ve)\s+(?:lived|been\s+living))\s+in"
    r"|i\s+" + _ADV + r"(?:moved|relocated|(?:have|'ve|ve)\s+(?:moved|relocated))"
    r"(?:\s+(?:back|over|out|away))?\s+to"
    r"|" + _I_AM + r"\s+" + _ADV + r"(?:based|living|residing|settled|located)\s+in"
    r"|my\s+(?:home|house|apartment|flat)\s+is\s+in)\s+(?P<place>.+)$",
    _FLAGS,
)
HOMETOWN_RE = re.compile(
    r"^(?:" + _I_AM + r"\s+" + _ADV + r"(?:originally\s+)?from"
    r"|i\s+" + _ADV + r"(?:originally\s+)?come\s+from"
    r"|i\s+(?:was\s+)?(?:born\s+and\s+raised|grew\s+up|was\s+raised|was\s+born)\s+in"
    r"|my\s+hometown\s+is)\s+(?P<place>.+)$",
    _FLAGS,
)
CALL_HOME_RE = re.compile(r"^i\s+" + _ADV + r"call\s+(?P<place>.+?)\s+(?:my\s+)?home$", _FLAGS)

# work -----------------------------------------------------------------------------------------
JOB_AS_RE = re.compile(
    r"^(?:i\s+" + _ADV + r"(?:work|(?:have|'ve|ve)\s+(?:been\s+)?work(?:ed|ing))"
    r"|" + _I_AM + r"\s+" + _ADV + r"(?:working|employed)"
    r"|my\s+(?:job|role|position|profession|occupation|title)\s+is)"
    r"\s+(?:as\s+)?(?:an?\s+)?(?P<job>.+)$",
    _FLAGS,
)
JOB_WORK_AS_RE = re.compile(r"^i\s+" + _ADV + r"work\s+as\b", _FLAGS)
JOB_MY_RE = re.compile(r"^my\s+(?:job|role|position|profession|occupation|title)\s+is\b", _FLAGS)
JOB_IM_RE = re.compile(r"^" + _I_AM + r"\s+" + _ADV + r"(?:an?)\s+(?P<job>.+)$", _FLAGS)
JOB_STATUS_RE = re.compile(
    r"^" + _I_AM + r"\s+" + _ADV + r"(?P<status>retired|unemployed|self[\s-]employed"
    r"|between\s+jobs|a\s+stay[\s-]at[\s-]home\s+(?:mom|mum|dad|parent))\b(?P<rest>.*)$",
    _FLAGS,
)
EMPLOYER_RE = re.compile(
    r"^(?:i\s+" + _ADV + r"(?:work|(?:have|'ve|ve)\s+(?:been\s+)?work(?:ed|ing))"
    r"|" + _I_AM + r"\s+" + _ADV + r"(?:working|employed)|i\s+" + _ADV + r"intern)"
    r"\s+(?:at|for|by)\s+(?P<employer>.+)$",
    _FLAGS,
)
JOB_TAIL_RE = re.compile(
    r"\s+(?P<prep>at|for|with|in|by|from|since|and|who|which|but|because|so|now|currently|of"
    r"|nowadays|these|full[\s-]time|part[\s-]time|on)\b|\s*[,(]",
    _FLAGS,
)
EMPLOYER_TAIL_RE = re.compile(
    r"\s+(?:as\s+(?:an?\s+)?(?P<job>[^,]+?)$|as\b|since|for\s+\d|for\s+(?:a|an|two|three|four"
    r"|five|many|several|the\s+past|the\s+last|over|almost|about|nearly)\b|now|and|but|so"
    r"|because|which|where|who|in\s+(?:\d|the\s+)|currently|these|nowadays|full[\s-]time"
    r"|part[\s-]time|remotely|from\s+home)\b|\s*[,(]",
    _FLAGS,
)

# family and pets ------------------------------------------------------------------------------
FAMILY_MY_RE = re.compile(
    r"^my\s+(?:(?P<mod>" + _MOD + r")[\s-]?)?(?P<rel>" + _REL + r"|" + _PET + r")"
    r"(?P<link>'s\s+name\s+is|s\s+name\s+is|\s+name\s+is|'s\s+name's|\s+is\s+called"
    r"|\s+is\s+named|\s+goes\s+by|'s\s+called|\s+called|\s+named|\s+is|'s|,)\s+(?P<rest>.+)$",
    _FLAGS,
)
FAMILY_HAVE_RE = re.compile(
    r"^" + _I_HAVE + r"\s+(?:a|an|one|this)\s+(?:(?P<mod>" + _MOD + r")[\s-]?)?"
    r"(?:(?:little|cute|lovely|beautiful|new|old|black|white|grey|gray|brown|ginger|tabby"
    r"|rescue|small|big)\s+){0,2}"
    r"(?P<rel>" + _REL + r"|" + _PET + r")(?:\s+(?:who|which|that)\s+is)?"
    r"\s+(?:named|called|whose\s+name\s+is|by\s+the\s+name\s+of)\s+(?P<rest>.+)$",
    _FLAGS,
)
FAMILY_REV_RE = re.compile(
    r"^(?P<name>[^\W\d_][\w'\-]*(?:\s+[^\W\d_][\w'\-]*)?)\s+is\s+my\s+(?:(?P<mod>"
    + _MOD
    + r")[\s-]?)?(?P<rel>"
    + _REL
    + r"|"
    + _PET
    + r")\s*$",
    _FLAGS,
)

# age and birthday -----------------------------------------------------------------------------
AGE_RE = re.compile(
    r"^(?:" + _I_AM + r"\s+(?:now\s+|just\s+|already\s+|currently\s+)?"
    r"|i\s+(?:just\s+|recently\s+)?turned\s+|my\s+age\s+is\s+)"
    r"(?P<age>\d{1,3})(?P<unit>\s*(?:years?|yrs?|y/?o|year[\s-]old)(?:\s+old)?)?"
    r"(?P<rest>\s*(?:now|today|this\s+year)?\s*(?:[,!.]|$))",
    _FLAGS,
)
BIRTHDAY_RE = re.compile(
    r"^(?:my\s+(?:birthday|bday|b-day|birth\s+date|birthdate|date\s+of\s+birth)(?:\s+is|'s)"
    r"\s+(?:on\s+|in\s+)?|i\s+was\s+born\s+on\s+)(?P<date>.+)$",
    _FLAGS,
)
BORN_YEAR_RE = re.compile(r"^i\s+was\s+born\s+in\s+(?P<year>(?:19|20)\d\d)\b", _FLAGS)
DATE_CUT_RE = re.compile(
    r"\s+(?:so|and|but|because|which|if|when|remember|don't|dont|in\s+case)\b|\s*,\s*(?![0-9])",
    _FLAGS,
)

# notes ----------------------------------------------------------------------------------------
NOTE_PUNCT_RE = re.compile(r"[^\w\s]")
SPACE_RE = re.compile(r"\s+")
CANDIDATE_RE = re.compile(
    r"\b(?:i|im|ive|my|me|name's|remember|note|forget|mind|memori[sz]e|save|store)\b", _FLAGS
)
"""Every rule needs one of these words: sentences without any are skipped quickly."""
LEADING_CONTRACTION_RE = re.compile(r"^i(?:'ve|ve)\b", _FLAGS)
SPEECH_END_RE = re.compile(
    r"\b(?:said|says|say|told\s+(?:me|us|him|her|them)|tells\s+me|asked|asks|thinks?|thought"
    r"|believes?|believed|claims?|claimed|wrote|writes|joked|jokes|texted|replied|yelled"
    r"|shouted|goes|went\s+like|was\s+like|is\s+like)$",
    _FLAGS,
)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def extract(text: str) -> list[Extracted]:
    """The preferences, facts and notes the user states about themselves in `text`.

    Items come in the order they appear; one item per slot (the last statement wins, and an
    item also displaces an earlier one of the same message whose slot it conflicts with).
    Never raises; scans at most `MAX_TEXT` characters.
    """
    if not isinstance(text, str) or not text:
        return []
    items: list[Extracted] = []
    for sentence in _sentences(_prepare(text)):
        try:
            items.extend(_read_sentence(sentence))
        except (ValueError, IndexError, RecursionError):  # pragma: no cover - defensive
            continue
    return _dedupe(items)


def conflicting_slots(item: Extracted) -> list[str]:
    """Slots that `item` contradicts and that the writer should retire.

    A like and a dislike (or "doesn't eat") of the same thing exclude each other:
    `likes:mushrooms` -> `["dislikes:mushrooms", "avoids:mushrooms"]`,
    `dislikes:mushrooms` -> `["likes:mushrooms"]`, `avoids:pork` -> `["likes:pork"]`.
    Other slots conflict with nothing (a new value for the same slot is an update).
    """
    family, sep, thing = item.slot.partition(":")
    if not sep or not thing:
        return []
    if family == "likes":
        return [f"dislikes:{thing}", f"avoids:{thing}"]
    if family in ("dislikes", "avoids"):
        return [f"likes:{thing}"]
    return []


# --------------------------------------------------------------------------------------------
# Message -> sentences -> clauses
# --------------------------------------------------------------------------------------------


def _prepare(text: str) -> str:
    """The scanned part of `text`: capped, apostrophes unified, control characters blanked."""
    text = text[:MAX_TEXT]
    text = APOSTROPHE_RE.sub("'", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return CONTROL_RE.sub(" ", text)


def _sentences(text: str) -> list[str]:
    """`text` cut at sentence ends (terminators kept), abbreviations ("St.") not ending one."""
    out: list[str] = []
    pending = ""
    for match in SENTENCE_RE.finditer(text):
        if len(out) >= MAX_SENTENCES:
            return out
        piece = match.group(0)
        if not piece:
            continue
        pending += piece
        tail = ABBREV_TAIL_RE.search(pending[-12:])
        if tail and tail.group(1).lower() in ABBREVIATIONS and len(pending) < MAX_SENTENCE:
            continue
        _add_sentence(out, pending)
        pending = ""
    _add_sentence(out, pending)
    return out


def _add_sentence(out: list[str], raw: str) -> None:
    """Append `raw`, capped and with its whitespace collapsed (so no regex sees long runs)."""
    sentence = SPACE_RE.sub(" ", raw[: MAX_SENTENCE * 2]).strip()[:MAX_SENTENCE]
    if CANDIDATE_RE.search(sentence):
        out.append(sentence)


def _read_sentence(sentence: str) -> list[Extracted]:
    """The items of one sentence: a note, or the statements of its clauses."""
    is_question = _ends_with_question(sentence)
    body = _strip_fillers(sentence)
    note = _note(body)
    if note is not None:
        return note
    if HYPOTHETICAL_RE.match(body):
        return []
    clauses = _clauses(body)
    if is_question and clauses:
        clauses = clauses[:-1]
    items: list[Extracted] = []
    reported = False
    for clause in clauses:
        if not reported:
            items.extend(_read_clause(clause))
        reported = SPEECH_END_RE.search(clause) is not None
    return items


def _ends_with_question(sentence: str) -> bool:
    """Whether the sentence ends with a question mark (closing quotes etc. ignored)."""
    return sentence.rstrip(" \t\n\"')]}*_~\u201d\u2019").endswith(("?", "\uff1f"))


def _strip_fillers(text: str) -> str:
    """`text` without leading fillers ("Actually, ", "Oh and btw ") and surrounding space."""
    text = text.strip()
    match = FILLER_RE.match(text)
    if match and match.end():
        text = text[match.end() :]
    return text.strip()


def _clauses(sentence: str) -> list[str]:
    """`sentence` cut into clauses, each stripped of fillers and trailing punctuation."""
    out: list[str] = []
    start = 0
    complement = False
    for match in CLAUSE_SPLIT_RE.finditer(sentence):
        if match.start() == 0 and match.end() == 0:
            continue
        out.append(_clause_text(sentence[start : match.start()], complement))
        complement = match.group("complement") is not None
        start = match.end()
    out.append(_clause_text(sentence[start:], complement))
    return [clause for clause in out if clause]


def _clause_text(raw: str, complement: bool) -> str:
    """One clause, normalised; a bare complement ("allergic to nuts") gets "I am" back."""
    clause = SPACE_RE.sub(" ", _strip_fillers(raw)).strip().rstrip(TRAIL_PUNCT).strip()
    return f"I am {clause}" if complement and clause else clause


def _read_clause(clause: str) -> list[Extracted]:
    """Every statement of one clause, rule by rule (questions and hypotheticals give none)."""
    clause = LEADING_CONTRACTION_RE.sub("I have", _strip_fillers(clause))
    if not clause or QUESTION_RE.match(clause) or HYPOTHETICAL_RE.match(clause):
        return []
    items: list[Extracted] = []
    for rule in _RULES:
        items.extend(rule(clause))
    return items


def _dedupe(items: list[Extracted]) -> list[Extracted]:
    """One item per slot, the last winning (at its own position); conflicting earlier ones go."""
    kept: dict[str, Extracted] = {}
    for item in items:
        for slot in [item.slot, *conflicting_slots(item)]:
            kept.pop(slot, None)
        kept[item.slot] = item
    return list(kept.values())


# --------------------------------------------------------------------------------------------
# Notes
# --------------------------------------------------------------------------------------------


def _note(sentence: str) -> list[Extracted] | None:
    """A "remember that ..." request: the note, then what the remembered statement says.

    Returns None when the sentence is no such request. Plain "remember X" (no "that", no
    colon, no "please") is not one ("Remember when we met?" is a question).
    """
    match = NOTE_RE.match(sentence)
    if match is None:
        return None
    verb = SPACE_RE.sub(" ", match.group("verb").lower())
    explicit = bool(match.group("polite")) or "forget" in verb or match.group("sep").strip()
    if verb in ("note", "save", "store") and not match.group("sep").strip():
        explicit = False
    if not explicit:
        return None
    body = match.group("body").strip().strip(QUOTES).strip()
    body = body.rstrip(TRAIL_PUNCT + " " + QUOTES).strip()
    if not body or body.lower() in PRONOUN_OBJECTS:
        return [] if match.group("sep").strip() else None
    statement = body[0].upper() + body[1:]
    items = [
        Extracted("note", "note:" + _note_slot_text(statement), _shorten(statement), statement)
    ]
    for clause in _clauses(_strip_fillers(body)):
        items.extend(_read_clause(clause))
    return items


def _note_slot_text(text: str) -> str:
    """Lowercase, apostrophes dropped, other punctuation removed, spaces collapsed, 60 chars."""
    text = text.lower().replace("'", "")
    text = NOTE_PUNCT_RE.sub(" ", text).replace("_", " ")
    return SPACE_RE.sub(" ", text).strip()[:NOTE_KEY_CHARS].strip()


def _shorten(text: str, limit: int = NOTE_KEY_CHARS) -> str:
    """`text` cut to at most `limit` characters at a word boundary, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,;:-") + "\u2026"


# --------------------------------------------------------------------------------------------
# Value helpers
# --------------------------------------------------------------------------------------------


def _clean(raw: str) -> str:
    """`raw` without surrounding quotes, spaces and trailing punctuation."""
    text = raw.strip().strip(QUOTES).strip()
    text = text.rstrip(TRAIL_PUNCT + " " + QUOTES)
    return text.lstrip(QUOTES).strip()


def _slot_text(text: str) -> str:
    """The normalised form of a value inside a slot: casefolded, no leading article."""
    text = SPACE_RE.sub(" ", text.casefold()).strip().strip(QUOTES + TRAIL_PUNCT).strip()
    for article in ("the ", "a ", "an "):
        if text.startswith(article) and len(text) > len(article):
            text = text[len(article) :]
            break
    return text


def _cut_object(raw: str) -> str:
    """A liked/avoided object without trailing clauses ("because ...") or modifiers ("a lot")."""
    match = TRAILING_CLAUSE_RE.search(raw)
    text = raw[: match.start()] if match else raw
    text = _clean(text)
    for _ in range(3):
        trimmed = TRAILING_MODIFIER_RE.sub("", text).strip()
        trimmed = _clean(trimmed)
        if trimmed == text:
            break
        text = trimmed
    if text.lower().startswith("to ") and len(text) > 3:
        text = text[3:].strip()
    return text


def _acceptable_object(text: str) -> bool:
    """A real object: non-empty, at most six words, not a pronoun ("it", "you", "that")."""
    words = text.split()
    if not words or len(words) > MAX_OBJECT_WORDS:
        return False
    first = words[0].lower().strip(QUOTES + TRAIL_PUNCT)
    if first in PRONOUN_OBJECTS or not first:
        return False
    head = _slot_text(text).split(" ", 1)[0]
    if head in VAGUE_OBJECTS:
        return False
    return any(ch.isalnum() for ch in text)


def _split_list(text: str) -> list[str]:
    """ "jazz, blues and rock" -> three objects; idioms ("fish and chips") stay whole."""
    if text.lower() in OBJECT_IDIOMS:
        return [text]
    parts = [p for p in LIST_SPLIT_RE.split(text) if p and p.strip()]
    merged: list[str] = []
    for part in parts:
        if merged:
            joined = f"{merged[-1]} and {part}"
            if joined.lower() in OBJECT_IDIOMS:
                merged[-1] = joined
                continue
        merged.append(part.strip())
    return merged


def _objects(raw: str) -> list[str]:
    """The acceptable objects of a like/dislike/allergy phrase, list items apart."""
    whole = _cut_object(raw)
    if not whole or not _acceptable_object(whole):
        return []
    out = []
    for part in _split_list(whole):
        part = _cut_object(part)
        if part and _acceptable_object(part):
            out.append(part)
    return out


def _capitalise_word(word: str) -> str:
    """ "sam" -> "Sam", "mary-jane" -> "Mary-Jane"; other casing is the user's and is kept."""
    if not word.islower():
        return word
    return "-".join(p[:1].upper() + p[1:] for p in word.split("-"))


def _name(rest: str, explicit: bool) -> str | None:
    """A person's (or pet's) name at the start of `rest`: one word plus a capitalised surname.

    Without an `explicit` naming phrase ("my name is", "called") the name must be capitalised.
    """
    words = rest.split()[:4]
    if not words:
        return None
    first = words[0].strip(QUOTES)
    ends = first[-1:] in TRAIL_PUNCT
    first = first.rstrip(TRAIL_PUNCT).strip(QUOTES)
    if not first or not WORD_RE.match(first) or first.lower() in NON_NAMES:
        return None
    if not explicit and not first[0].isupper():
        return None
    if explicit and first.isupper() and len(first) > 3:
        first = first.title()
    name = [_capitalise_word(first)]
    if not ends and len(words) > 1:
        second = words[1].strip(QUOTES).rstrip(TRAIL_PUNCT)
        if (
            second
            and WORD_RE.match(second)
            and second[0].isupper()
            and second.lower() not in NON_NAMES
        ):
            name.append(second)
    return " ".join(name)


def _place(raw: str) -> str | None:
    """A place name: cut before time phrases ("last year"), capitalised when all lowercase."""
    match = PLACE_CUT_RE.search(raw)
    text = _clean(raw[: match.start()] if match else raw)
    text = _clean(TRAILING_MODIFIER_RE.sub("", text))
    words = text.split()
    if not words or len(words) > MAX_OBJECT_WORDS:
        return None
    if words[0].lower() in PRONOUN_OBJECTS or words[0].lower() in (
        "a",
        "an",
        "my",
        "our",
        "your",
        "his",
        "her",
        "their",
        "home",
        "town",
        "somewhere",
        "here",
        "there",
        "another",
        "some",
    ):
        return None
    if not any(ch.isalpha() for ch in text):
        return None
    if words[-1].lower() in NON_PLACES and len(words) <= 2:
        return None
    if text.islower():
        fixed = []
        for i, word in enumerate(words):
            if word in PLACE_ACRONYMS:
                fixed.append(word.upper())
            elif (i > 0 or word == "the") and word in PLACE_LOWER_WORDS:
                fixed.append(word)
            else:
                fixed.append(_capitalise_word(word))
        text = " ".join(fixed)
    return text


def _join_values(values: list[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    if len(values) <= 1:
        return "".join(values)
    return ", ".join(values[:-1]) + " and " + values[-1]


def _allergen(raw: str) -> str:
    """An allergen in its slot form, plural for countable ones ("peanut" -> "peanuts")."""
    text = _slot_text(raw)
    return COUNTABLE_ALLERGENS.get(text, text)


# --------------------------------------------------------------------------------------------
# Rules: clause -> items
# --------------------------------------------------------------------------------------------


def _rule_name(clause: str) -> list[Extracted]:
    """ "My name is Sam", "call me Sam", "I am called Sam", "I go by Sam", "I'm Sam"."""
    name = None
    match = NAME_EXPLICIT_RE.match(clause)
    if match:
        name = _name(match.group("rest"), explicit=True)
    else:
        match = NAME_CALL_ME_RE.match(clause)
        if match:
            rest = match.group("rest")
            only_name = len(_clean(rest).split()) == 1
            name = _name(rest, explicit=only_name)
        else:
            match = NAME_IM_RE.match(clause)
            if match and not clause.isupper():
                first, last = match.group("first"), match.group("last")
                if last is None or (last[:1].isupper() and last.lower() not in NON_NAMES):
                    name = _name(first if last is None else f"{first} {last}", explicit=False)
    return [Extracted("preference", "name", "name", name)] if name else []


def _diet_item(match: re.Match[str], negated: bool = False) -> list[Extracted]:
    """The diet item of a diet match, with any further diets ("vegan and gluten-free")."""
    diets = [_clean(SPACE_RE.sub(" ", match.group("diet"))).lower()]
    rest = match.group("rest")
    for _ in range(4):
        more = DIET_MORE_RE.match(rest)
        if not more:
            break
        diets.append(_clean(SPACE_RE.sub(" ", more.group("diet"))).lower())
        rest = rest[more.end() :]
    diets = [d for i, d in enumerate(diets) if d not in diets[:i]]
    value = _join_values(diets)
    if negated:
        value = "not " + value
    return [Extracted("preference", "diet", "diet", value)]


def _rule_diet(clause: str) -> list[Extracted]:
    """ "I'm (a) vegetarian", "I follow a keto diet", "my diet is vegan", "I'm not vegan"."""
    match = DIET_IM_RE.match(clause)
    if match:
        return _diet_item(match, negated=bool(match.group("neg")))
    match = DIET_VERB_RE.match(clause) or DIET_MY_RE.match(clause)
    if match:
        return _diet_item(match)
    return []


def _rule_avoid(clause: str) -> list[Extracted]:
    """ "I don't eat meat" (diet), "I don't eat pork" / "I don't drink alcohol" (avoids)."""
    match = AVOID_RE.match(clause)
    if not match:
        return []
    verb = (match.group("verb") or match.group("verb2") or "eat").lower()
    verb = {"eating": "eat", "drinking": "drink", "consume": "eat", "touch": "eat"}.get(verb, verb)
    raw = match.group("obj") if match.group("obj") is not None else match.group("obj2")
    whole = _cut_object(raw)
    if whole and MEAT_RE.match(whole) and verb == "eat":
        return [Extracted("preference", "diet", "diet", f"doesn't eat {whole.lower()}")]
    items = []
    for obj in _objects(raw):
        if MEAT_RE.match(obj) and verb == "eat":
            items.append(Extracted("preference", "diet", "diet", f"doesn't eat {obj.lower()}"))
        else:
            items.append(
                Extracted("preference", "avoids:" + _slot_text(obj), f"doesn't {verb}", obj)
            )
    return items


def _rule_allergy(clause: str) -> list[Extracted]:
    """ "I'm allergic to peanuts (and shellfish)", "I have a peanut allergy", "my allergies
    are ...", plus intolerances ("I'm lactose intolerant")."""
    items: list[Extracted] = []
    match = ALLERGIC_RE.match(clause) or ALLERGY_MY_RE.match(clause)
    if match:
        objects = _objects(match.group("obj"))
    else:
        match = ALLERGY_HAVE_RE.match(clause)
        if match and match.group("obj") is not None:
            objects = _objects(match.group("obj"))
        elif match:
            objects = [COUNTABLE_ALLERGENS.get(match.group("obj2").lower(), match.group("obj2"))]
        else:
            objects = []
    for obj in objects:
        slot = _allergen(obj)
        value = COUNTABLE_ALLERGENS.get(obj.lower(), obj)
        items.append(Extracted("preference", f"allergy:{slot}", "allergy", value))
    match = INTOLERANT_RE.match(clause) or INTOLERANCE_HAVE_RE.match(clause)
    if match:
        obj = match.group("adj") if match.group("adj") else None
        objects = [obj] if obj else _objects(match.groupdict().get("obj") or "")
        for thing in objects:
            if thing.lower() in NOT_INTOLERANCES:
                continue
            items.append(
                Extracted(
                    "preference", f"intolerance:{_slot_text(thing)}", "intolerant to", thing.lower()
                )
            )
    return items


def _rule_likes(clause: str) -> list[Extracted]:
    """ "I love hiking", "I'm a big fan of Star Wars", "I hate mushrooms", "I don't like X"."""
    match = DISLIKE_RE.match(clause)
    family, key = "dislikes", "dislikes"
    if not match:
        match = LIKE_RE.match(clause)
        family, key = "likes", "likes"
    if not match:
        return []
    return [
        Extracted("preference", f"{family}:{_slot_text(obj)}", key, obj)
        for obj in _objects(match.group("obj"))
    ]


def _category(raw: str | None) -> str | None:
    """A favourite's category ("kind of music" -> "music"), or None when too long."""
    if raw is None:
        return ""
    text = SPACE_RE.sub(" ", raw.casefold()).strip().strip(TRAIL_PUNCT)
    for _ in range(2):
        text = CATEGORY_TRIM_RE.sub("", text).strip()
    words = [CATEGORY_SPELLINGS.get(w, w) for w in text.split()]
    if not words or len(words) > 3 or not all(WORD_RE.match(w) for w in words):
        return None
    if words[0] in PRONOUN_OBJECTS:
        return None
    if words[0] in ("thing", "things", "part", "activity", "hobby"):
        return ""  # "my favourite thing is hiking" is a plain like
    return " ".join(words)


def _rule_favorite(clause: str) -> list[Extracted]:
    """ "My favourite food is sushi", "Sushi is my favorite food", "my favorite is jazz"."""
    match = FAVORITE_RE.match(clause)
    if match:
        category, raw = _category(match.group("cat")), match.group("obj")
    else:
        match = FAVORITE_REV_RE.match(clause)
        if not match or match.group("obj").lower().startswith(("my ", "i ")):
            return []
        category, raw = _category(match.group("cat")), match.group("obj")
    if category is None:
        return []
    obj = _cut_object(raw)
    if not obj or not _acceptable_object(obj):
        return []
    if not category:
        return [Extracted("preference", f"likes:{_slot_text(obj)}", "likes", obj)]
    return [Extracted("preference", f"favorite:{category}", f"favorite {category}", obj)]


def _rule_location(clause: str) -> list[Extracted]:
    """ "I live in Lyon", "I moved to Berlin", "I'm based in Tokyo" (location);
    "I'm from Paris", "I grew up in Rome" (hometown)."""
    match = LOCATION_RE.match(clause) or CALL_HOME_RE.match(clause)
    if match:
        place = _place(match.group("place"))
        return [Extracted("fact", "location", "lives in", place)] if place else []
    match = HOMETOWN_RE.match(clause)
    if match:
        place = _place(match.group("place"))
        return [Extracted("fact", "hometown", "from", place)] if place else []
    return []


def _job_phrase(raw: str) -> tuple[str | None, str | None]:
    """(job, employer) from "a senior nurse at St Mary's": the job must end in a job noun."""
    match = JOB_TAIL_RE.search(raw)
    job = _clean(raw[: match.start()] if match else raw)
    employer = None
    if match and match.group("prep") and match.group("prep").lower() in ("at", "for"):
        employer = _employer(raw[match.end() :])
    words = job.split()
    if not words or len(words) > 5:
        return None, employer
    lowered = [w.lower() for w in words]
    if lowered[0] in JOB_REJECT_MODIFIERS:
        return None, employer
    head = lowered[-1]
    if head not in JOBS or (head in AMBIGUOUS_JOBS and len(words) < 2):
        return None, employer
    return job, employer


def _employer(raw: str) -> str | None:
    """An employer name: cut before "as ...", "since ...", "now", ..."""
    match = EMPLOYER_TAIL_RE.search(raw)
    text = _clean(raw[: match.start()] if match else raw)
    words = text.split()
    if not words or len(words) > MAX_OBJECT_WORDS:
        return None
    if words[0].lower() in PRONOUN_OBJECTS or words[0].lower() in (
        "my",
        "our",
        "your",
        "his",
        "her",
        "their",
        "home",
        "night",
        "nights",
        "weekends",
    ):
        return None
    return text if any(ch.isalpha() for ch in text) else None


def _rule_work(clause: str) -> list[Extracted]:
    """ "I work as a nurse", "I'm a software engineer", "I work at Google (as ...)",
    "my job is ...", "I'm retired"."""
    items: list[Extracted] = []
    job: str | None = None
    employer: str | None = None
    match = EMPLOYER_RE.match(clause)
    if match:
        raw = match.group("employer")
        employer = _employer(raw)
        tail = EMPLOYER_TAIL_RE.search(raw)
        if tail and tail.group("job"):
            job, _ = _job_phrase(tail.group("job"))
    elif JOB_WORK_AS_RE.match(clause) or JOB_MY_RE.match(clause):
        match = JOB_AS_RE.match(clause)
        if match:
            job, employer = _job_phrase(match.group("job"))
    else:
        match = JOB_IM_RE.match(clause)
        if match:
            job, employer = _job_phrase(match.group("job"))
        else:
            status = JOB_STATUS_RE.match(clause)
            if status:
                job = SPACE_RE.sub(" ", status.group("status").lower())
    if job:
        items.append(Extracted("fact", "job", "job", job))
    if employer:
        items.append(Extracted("fact", "employer", "works at", employer))
    return items


def _family_item(mod: str | None, rel: str, name: str) -> Extracted:
    """The item for "my <mod> <rel> is <name>": family:<rel> or pet:<animal>."""
    rel_key = SPACE_RE.sub(" ", rel.lower().replace("-", " "))
    modifier = RELATION_MODIFIERS.get(mod.lower(), "") if mod else ""
    if rel_key in PETS and rel_key not in RELATIONS:
        label = PETS[rel_key]
        return Extracted("fact", f"pet:{label}", label, name)
    label = RELATIONS.get(rel_key, rel_key)
    if modifier:
        label = f"{modifier}{'' if modifier == 'step' else ' '}{label}"
    return Extracted("fact", f"family:{label}", label, name)


def _rule_family(clause: str) -> list[Extracted]:
    """ "My sister is Alice", "my sister's name is Alice", "my son is called Leo",
    "I have a brother named Tom", "my dog's name is Rex", "Alice is my sister",
    "My wife, Maria, ..."."""
    match = FAMILY_MY_RE.match(clause)
    if match:
        link = SPACE_RE.sub(" ", match.group("link").strip().lower())
        explicit = link not in ("is", "'s", ",")
        name = _name(match.group("rest"), explicit=explicit)
        if name and link == ",":
            after = match.group("rest")[len(name) :].lstrip()
            if not after.startswith(",") and after:
                name = None
        if name:
            return [_family_item(match.group("mod"), match.group("rel"), name)]
        return []
    match = FAMILY_HAVE_RE.match(clause)
    if match:
        name = _name(match.group("rest"), explicit=True)
        return [_family_item(match.group("mod"), match.group("rel"), name)] if name else []
    match = FAMILY_REV_RE.match(clause)
    if match:
        name = _name(match.group("name"), explicit=False)
        if name and name.split()[0].lower() not in ("she", "he", "this", "that", "it"):
            return [_family_item(match.group("mod"), match.group("rel"), name)]
    return []


def _rule_age(clause: str) -> list[Extracted]:
    """ "I'm 34 (years old)", "I just turned 40", "my age is 34", "I was born in 1990"."""
    match = AGE_RE.match(clause)
    if match:
        age = int(match.group("age"))
        bare = (
            match.group("unit") is None
            and clause[:2].lower() != "my"
            and "turned" not in clause.lower()[:20]
        )
        if 0 < age <= 130 and not (bare and age < 5):
            return [Extracted("fact", "age", "age", str(age))]
        return []
    match = BORN_YEAR_RE.match(clause)
    if match:
        return [Extracted("fact", "birth_year", "born in", match.group("year"))]
    return []


def _rule_birthday(clause: str) -> list[Extracted]:
    """ "My birthday is May 3", "my bday's on the 3rd of May", "I was born on 3 May 1990"."""
    match = BIRTHDAY_RE.match(clause)
    if not match:
        return []
    raw = match.group("date")
    cut = DATE_CUT_RE.search(raw)
    date = _clean(raw[: cut.start()] if cut else raw)
    date = _clean(TRAILING_MODIFIER_RE.sub("", date))
    words = date.split()
    if not words or len(words) > 5 or words[0].lower() in PRONOUN_OBJECTS:
        return []
    if not any(ch.isdigit() for ch in date) and not re.search(
        r"jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|christmas|halloween|valentine",
        date,
        _FLAGS,
    ):
        return []
    return [Extracted("fact", "birthday", "birthday", date)]


_RULES: tuple[Callable[[str], list[Extracted]], ...] = (
    _rule_name,
    _rule_diet,
    _rule_avoid,
    _rule_allergy,
    _rule_likes,
    _rule_favorite,
    _rule_location,
    _rule_work,
    _rule_family,
    _rule_age,
    _rule_birthday,
)
"""Every rule sees every clause; each is anchored at the clause start."""
