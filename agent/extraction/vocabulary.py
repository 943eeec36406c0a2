"""The word lists the extraction rules read: diets, relations, jobs, non-names, places, ...

Lists are written compactly as text: `words` and `word_set` split on whitespace; `phrases`
and `phrase_set` split on `|` and line breaks (their entries may contain spaces); `mapping`
reads `key: value` entries separated the same way. Every entry is lowercase; matching is
case-insensitive.
"""

from __future__ import annotations

import re

_PHRASE_SEPARATOR = re.compile(r"[|\n]")


def words(text: str) -> tuple[str, ...]:
    """The whitespace-separated words of `text`, in order."""
    return tuple(text.split())


def word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of `text`."""
    return frozenset(text.split())


def phrases(text: str) -> tuple[str, ...]:
    """The phrases of `text` separated by `|` or line breaks, stripped, in order."""
    return tuple(p.strip() for p in _PHRASE_SEPARATOR.split(text) if p.strip())


def phrase_set(text: str) -> frozenset[str]:
    """The phrases of `text` separated by `|` or line breaks, stripped."""
    return frozenset(phrases(text))


def mapping(text: str) -> dict[str, str]:
    """`key: value` entries separated by `|` or line breaks, in order."""
    pairs = (entry.split(":", 1) for entry in phrases(text))
    return {key.strip(): value.strip() for key, value in pairs}


DIETS: tuple[str, ...] = phrases("""
    lacto-ovo vegetarian | lacto-ovo-vegetarian | lacto-vegetarian | ovo-vegetarian | vegetarian
    veggie | vegan | pescatarian | pescetarian | flexitarian | keto | ketogenic | paleo | halal
    kosher | gluten-free | gluten free | dairy-free | dairy free | lactose-free | lactose free
    plant-based | plant based | low-carb | low carb | carnivore | omnivore | raw vegan
    fruitarian | low-fodmap | low fodmap | mediterranean
""")

RELATIONS: dict[str, str] = mapping("""
    sister: sister | brother: brother | sibling: sibling | mother: mother | mom: mother
    mum: mother | mommy: mother | mummy: mother | mama: mother | father: father | dad: father
    daddy: father | papa: father | wife: wife | husband: husband | spouse: spouse
    son: son | daughter: daughter
    grandmother: grandmother | grandma: grandmother | granny: grandmother | nana: grandmother
    grandfather: grandfather | grandpa: grandfather | granddad: grandfather
    grandad: grandfather | grandson: grandson | granddaughter: granddaughter | aunt: aunt
    auntie: aunt | aunty: aunt | uncle: uncle | cousin: cousin | niece: niece | nephew: nephew
    stepmother: stepmother | stepfather: stepfather
    stepson: stepson | stepdaughter: stepdaughter | stepsister: stepsister
    stepbrother: stepbrother
""")

"""Family members: "my sister is Alice" -> slot `family:sister`."""

SOCIAL_RELATIONS: dict[str, str] = mapping("""
    best friend: best friend | bestie: best friend | bff: best friend | boss: boss
    manager: manager | supervisor: supervisor | partner: partner | boyfriend: boyfriend
    girlfriend: girlfriend | significant other: partner | fiance: fiancé | fiancé: fiancé
    fiancee: fiancée | fiancée: fiancée | colleague: colleague | coworker: colleague
    co-worker: colleague | roommate: roommate | roomie: roommate | flatmate: flatmate
    housemate: housemate | neighbour: neighbor | neighbor: neighbor | landlord: landlord
    landlady: landlady | mentor: mentor | teammate: teammate
""")
"""People around the user who are not family: "my boss is Karen" -> slot `relation:boss`."""

PARTNER_ROLES: frozenset[str] = phrase_set("""
    partner | boyfriend | girlfriend | fiancé | fiancée
""")
"""Roles that share the slot `relation:partner` (one romantic partner at a time)."""

PETS: dict[str, str] = mapping("""
    dog: dog | puppy: dog | pup: dog | doggo: dog | cat: cat | kitten: cat | kitty: cat
    pet: pet | hamster: hamster | rabbit: rabbit | bunny: rabbit | parrot: parrot | bird: bird
    horse: horse | pony: pony | goldfish: goldfish | turtle: turtle | tortoise: tortoise
    snake: snake | lizard: lizard | guinea pig: guinea pig | ferret: ferret | gecko: gecko
""")

RELATION_MODIFIERS: dict[str, str] = mapping("""
    older: older | big: older | elder: older | eldest: older | oldest: older | younger: younger
    little: younger | baby: younger | youngest: younger | twin: twin | step: step | half: half
""")

JOBS: frozenset[str] = word_set("""
    nurse doctor teacher engineer developer programmer coder designer artist writer author
    accountant pilot farmer dentist pharmacist architect scientist researcher professor lecturer
    librarian mechanic electrician plumber carpenter firefighter officer cop soldier surgeon
    physician therapist psychologist psychiatrist musician actor actress journalist editor
    consultant manager analyst student freelancer barista waiter waitress bartender cashier chef
    baker butcher paramedic vet veterinarian photographer translator interpreter lawyer attorney
    judge banker broker economist entrepreneur founder ceo cto cfo coo administrator technician
    clerk secretary receptionist assistant intern tutor coach trainer instructor counselor
    counsellor salesman saleswoman salesperson tester sysadmin mathematician physicist chemist
    biologist geologist historian linguist philosopher statistician optician midwife carer
    caregiver janitor cleaner gardener landscaper welder machinist miner fisherman sailor
    detective radiologist pediatrician paediatrician anesthesiologist anaesthetist nanny
    babysitter housekeeper homemaker influencer youtuber streamer blogger podcaster composer
    singer dancer painter sculptor illustrator animator filmmaker director producer publisher
    marketer recruiter realtor planner strategist executive supervisor foreman contractor
    surveyor optometrist dietitian dietician nutritionist physiotherapist physio chiropractor
    hairdresser barber stylist tailor jeweler jeweller florist roofer postman courier astronaut
    diplomat politician academic postdoc employee pharmacologist epidemiologist neurologist
    cardiologist oncologist dermatologist paralegal auditor bookkeeper cook driver worker guard
    agent servant
""")
"""Head nouns of a job phrase ("a senior software *engineer*")."""

AMBIGUOUS_JOBS: frozenset[str] = word_set("""
    cook driver worker guard agent servant
""")
"""Heads that are a job only with a modifier ("line cook", "taxi driver", "social worker")."""

JOB_REJECT_MODIFIERS: frozenset[str] = word_set("""
    former ex ex- retired aspiring wannabe future good bad great terrible awful decent amateur
    hobby hobbyist huge big real hard lazy budding would-be failed frustrated secret closet
""")

NON_NAMES: frozenset[str] = (
    # grammar words
    word_set("""
    a an the not no so very just also really still here there back home in on at from into to of
    by for with about and or but that this it its me you him her them us we they he she my your
    our their his myself yourself always never currently literally totally kinda pretty quite
    bit little sort kind all now then too only even actually finally almost definitely probably
    maybe perhaps later tomorrow today tonight soon anytime sometime asap please thanks if when
    what who how why where one two someone somebody anyone nobody everyone nothing something
    anything everything like going trying looking thinking feeling getting planning learning
    working living doing being having coming leaving moving starting writing reading glad gonna
    gotta wanna
""")
    # states and adjectives
    | word_set("""
    sorry fine good great ok okay well sure happy sad tired hungry thirsty busy bored excited
    new old married single divorced engaged widowed pregnant sick ill allergic retired done
    ready late early alone afraid scared angry curious confused lost stuck sleepy cold hot warm
    free available interested gay straight bi trans human alive awake asleep hopeful proud
    grateful thankful lucky stressed anxious worried nervous depressed alright cool fantastic
    amazing awesome exhausted starving broke rich poor young tall short blind deaf unemployed
    employed self-employed vaccinated certain positive convinced aware bad terrible awful better
    worse best worst same different fat thin fit healthy unwell pleased delighted fed sober
    drunk shy introverted extroverted lonely calm upset annoyed frustrated fan big huge right
    wrong serious kidding joking honest impressed surprised blessed vegetarian lactose
    intolerant diabetic celiac coeliac male female nonbinary non-binary boy girl man woman guy
    dude mom dad mother father student teacher nurse doctor retiree parent adult kid child
    teenager teen bilingual left-handed right-handed
""")
    # religions and nationalities ("I'm French" is not a name)
    | word_set("""
    catholic christian protestant jewish muslim buddhist hindu sikh atheist agnostic mormon
    orthodox american british english scottish welsh irish french german italian spanish
    portuguese dutch belgian swiss austrian swedish norwegian danish finnish icelandic polish
    czech slovak hungarian romanian bulgarian greek turkish russian ukrainian belarusian serbian
    croatian slovenian bosnian albanian lithuanian latvian estonian canadian mexican brazilian
    argentinian argentine chilean peruvian colombian venezuelan cuban chinese japanese korean
    vietnamese thai filipino indonesian malaysian singaporean indian pakistani bangladeshi
    nepali iranian iraqi israeli palestinian lebanese syrian egyptian moroccan algerian tunisian
    nigerian kenyan ethiopian ghanaian african european asian australian kiwi latino latina
    hispanic arab persian saudi emirati scandinavian texan parisian londoner asian-american
    african-american
""")
    # and every one-word diet ("my sister is Vegan")
    | frozenset(d for d in DIETS if " " not in d)
)
"""Words that are never accepted as a name ("I'm tired", "I'm French", "my sister is Vegan")."""
NOT_INTOLERANCES: frozenset[str] = NON_NAMES - {"lactose"}
"""Words before "intolerant" that are no substance ("I'm so intolerant")."""

PRONOUN_OBJECTS: frozenset[str] = word_set("""
    it that this these those you him her them us me myself yourself yourselves himself herself
    themselves ourselves everything anything something nothing everyone anyone someone nobody
    everybody anybody somebody what how when where which who why whatever whoever there here so
    too very one ones to it's its that's yours his hers theirs ours if because all both either
    neither none some any lots much more most less least ya u y'all em 'em being having your ur
    their such
""")
"""A like/dislike whose object starts with one of these is no memory ("I love you")."""

VAGUE_OBJECTS: frozenset[str] = word_set("""
    idea way fact thought question answer suggestion suggestions advice plan look feeling part
    point thing things stuff lot bit response reply help tip tips recommendation recommendations
    list explanation sound name story joke jokes one ones same most best least
""")
"""Heads of objects that refer to the conversation, not a taste ("I like the idea")."""

OBJECT_IDIOMS: frozenset[str] = phrase_set("""
    rock and roll | rock n roll | fish and chips | mac and cheese | macaroni and cheese
    salt and pepper | bread and butter | peanut butter and jelly | pride and prejudice
    dungeons and dragons | law and order | rhythm and blues | drum and bass | war and peace
    rick and morty | tom and jerry | romeo and juliet | sweet and sour | pen and paper
    bed and breakfast | arts and crafts | hide and seek | black and white | r and b
    surf and turf | cookies and cream | strawberries and cream | beauty and the beast
    harry potter and the philosopher's stone | trial and error | lord of the rings
    fast and furious | the fast and the furious | peanut butter and jelly sandwiches
    chicken and waffles | rice and beans
""")
"""Objects that contain "and" but are one thing (not split into a list)."""

COUNTABLE_ALLERGENS: dict[str, str] = mapping("""
    peanut: peanuts | nut: nuts | tree nut: tree nuts | egg: eggs | cat: cats | dog: dogs
    bee: bees | wasp: wasps | strawberry: strawberries | tomato: tomatoes | almond: almonds
    cashew: cashews | walnut: walnuts | hazelnut: hazelnuts | pistachio: pistachios
    kiwi: kiwis | banana: bananas | mushroom: mushrooms | sesame seed: sesame seeds
    bee sting: bee stings | horse: horses | peach: peaches | apple: apples | avocado: avocados
    pecan: pecans | shrimp: shrimp | mango: mangoes | bean: beans | legume: legumes
    seed: seeds | insect sting: insect stings
""")
"""Singular allergen -> plural, so "a peanut allergy" and "allergic to peanuts" share a slot."""

CATEGORY_SPELLINGS: dict[str, str] = mapping("""
    colour: color | flavour: flavor | favourite: favorite | films: movies | film: movie
""")

PLACE_ACRONYMS: frozenset[str] = word_set("""
    uk us usa uae nyc dc eu sf
""")

PLACE_LOWER_WORDS: frozenset[str] = word_set("""
    the of de la le les du del da di upon on am an sur in and y en im by
""")

NON_PLACES: frozenset[str] = word_set("""
    fear hope peace denial poverty luxury misery sin harmony moment past present future dream
    bubble shadow shadows terror constant debt comfort style hiding limbo silence pain love
""")
"""Words after "I live in" that are no place ("I live in fear")."""

ABBREVIATIONS: frozenset[str] = word_set("""
    mr mrs ms dr st jr sr prof mt ft vs e.g i.e approx dept univ ave blvd rd
""")
"""A sentence never ends after these ("I live on St. Mary's road")."""

NON_PLACE_STARTS: frozenset[str] = word_set("""
    a an my our your his her their home town somewhere here there another some
""")
"""First words of a phrase after "I live in" that make it no place name ("my parents' house")."""

NON_EMPLOYER_STARTS: frozenset[str] = word_set("""
    my our your his her their home night nights weekends
""")
"""First words of a phrase after "I work at" that make it no employer ("I work at night")."""
