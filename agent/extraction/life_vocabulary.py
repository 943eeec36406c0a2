"""The word lists of habits, plans, study, work fields, dated events and other people's places.

Written like `vocabulary` (lowercase entries; `word_set` splits on whitespace, `phrase_set`
and `mapping` on `|` and line breaks).
"""

from __future__ import annotations

from agent.extraction.vocabulary import mapping, phrase_set, word_set

NON_ACTIVITY_VERBS: frozenset[str] = word_set("""
    am is are was were be been being do does did doesn't don't didn't has had will would can
    could should must might may shall wanna gonna gotta like love hate enjoy prefer adore dislike
    detest loathe despise want need wish think know believe feel hope mean guess wonder seem
    appear suppose miss care mind understand realise realize say tell ask said told remember
    forget try tried live reside not never also still just really usually always often normally
    generally typically regularly frequently sometimes rarely seldom hardly barely kind sort
    totally actually probably maybe definitely absolutely literally honestly only even already
    got let lets kinda sorta swear promise bet doubt agree disagree apologise apologize
    thank regret admit pretend notice no nor dont cannot cant wont didnt doesnt isnt
    more less most so very too quite rather there here as at in on of to for with by from up
    down out off over again ever once alone together the a an my your his her our their this
    that these those some any all each every both it you he she we they me him them us
""")
"""Words after "I (usually)" or "I'm going to" that start no habit or plan: auxiliaries,
adverbs, feelings and thoughts ("I always think ..."), speech ("I always say .."), and
function words ("I always more ...")."""

PAST_TENSE: frozenset[str] = word_set("""
    went ran swam ate drank did had was were got made took saw came wrote rode drove spent
    thought bought felt left met sat slept kept paid told said found gave knew sang began woke
    wore won flew fell taught caught brought sent built lost chose stood heard understood held
    forgot fed hid hung led lit meant rang rose sold shot sank spoke
    stole struck swore swept threw tore wept became broke grew drew
""")
"""Past forms that do not end in "-ed": "I went to the gym every day" is no habit."""

ED_VERBS: frozenset[str] = word_set("""
    feed bleed breed need speed weed seed shred heed proceed succeed exceed embed wed
""")
"""Present-tense verbs ending in "-ed" (every other "-ed" word is read as a past form)."""

NOT_GERUNDS: frozenset[str] = word_set("""
    thing something nothing anything everything morning evening during king ring string spring
    sibling wedding building ceiling darling bring sing swing sting wing cling fling sling
    pudding duckling wring ping ding ling bling
""")
"""Words ending in "-ing" that are no gerund."""

GERUND_BASES: dict[str, str] = mapping("""
    being: be | dying: die | lying: lie | tying: tie | meditating: meditate
    creating: create | requiring: require | exploring: explore | ignoring: ignore
    adoring: adore | restoring: restore | breathing: breathe | bathing: bathe
    focusing: focus | focussing: focus | visiting: visit | travelling: travel
    traveling: travel | cancelling: cancel | canceling: cancel | modelling: model
    labelling: label | quoting: quote | volunteering: volunteer | gardening: garden
    listening: listen | opening: open | happening: happen | offering: offer
    entering: enter | ordering: order | answering: answer | remembering: remember
    coloring: color | colouring: colour | honoring: honor | monitoring: monitor
    tutoring: tutor | mentoring: mentor | journaling: journal | journalling: journal
    snowboarding: snowboard | skiing: ski | hiking: hike | biking: bike | using: use
    swimming: swim | running: run | shopping: shop | jogging: jog | getting: get
    sitting: sit | putting: put | setting: set | cutting: cut | hitting: hit
    beginning: begin | forgetting: forget | planning: plan | stopping: stop
    dropping: drop | chatting: chat | quitting: quit | winning: win | spinning: spin
    changing: change | arranging: arrange | exchanging: exchange | raising: raise
    closing: close | choosing: choose | losing: lose | pleasing: please | leaving: leave
    moving: move | living: live | loving: love | driving: drive | having: have
    giving: give | diving: dive | saving: save | serving: serve | solving: solve
    taking: take | making: make | coming: come | writing: write | riding: ride
    retiring: retire | graduating: graduate | preparing: prepare | sharing: share
    caring: care | seeing: see | fleeing: flee | agreeing: agree | going: go | doing: do
""")
"""Gerund -> verb where the spelling rules of `activities.base_verb` would guess wrong (and
the common ones, so they never depend on a guess)."""

WORK_FIELDS: frozenset[str] = phrase_set("""
    marketing | sales | finance | banking | tech | technology | it | hr | pr | healthcare
    health care | education | retail | hospitality | insurance | advertising | consulting | law
    construction | manufacturing | logistics | research | academia | government | media
    journalism | publishing | software | engineering | design | fashion | film | television | tv
    music | accounting | pharma | pharmaceuticals | biotech | nonprofit | non-profit
    nonprofits | operations | cybersecurity | security | recruiting | recruitment | management
    administration | tourism | agriculture | energy | telecom | telecoms | telecommunications
    science | medicine | nursing | politics | policy | sports | gaming | automotive | aerospace
    defense | defence | transport | transportation | procurement | ai | ux | qa | fintech
    crypto | compliance | philanthropy | entertainment | theatre | theater | architecture
    aviation | shipping | mining | real estate | customer service | customer support
    public relations | human resources | social work | data science | machine learning
    supply chain | product management | software development | web development
    game development | food service | social media | higher education | venture capital
    private equity | investment banking | the arts | r&d | quality assurance
    public health | mental health | information technology | catering | events | analytics
    development | communications | hospitality management | translation | real-estate
""")
"""What "I work in ..." must name to be a field of work (not a town: "I work in Lyon")."""

FIELD_SUFFIXES: frozenset[str] = word_set("""
    industry sector field business space department world team
""")
"""Trailing words of a field phrase ("the tech industry" is read as the field "tech")."""

NON_STUDY_STARTS: frozenset[str] = word_set("""
    to for at with on in hard late every each a an the abroad alone together online remotely
    full part all too much lot lots it that this there here now right really very so and but
    or because since from until till while when whenever tonight today tomorrow again more
    daily nightly weekly my your his her our their some any
""")
"""First words after "I study" that name no subject ("I study hard", "I study at night")."""

DATE_EVENTS: frozenset[str] = phrase_set("""
    anniversary | wedding | exam | exams | final | finals | test | interview | appointment
    surgery | operation | flight | graduation | due date | deadline | party | presentation
    defense | defence | recital | concert | match | game | race | marathon | trip | vacation
    holiday | holidays | moving day | court date | hearing | meeting | check-up | checkup
    viva | ceremony | audition | premiere | launch | exhibition | performance | birthday party
    wedding anniversary | baby shower | reunion | retirement party | thesis defense
""")
"""Events whose date "my <event> is <date>" names (the user's birthday has its own rule)."""

PERSON_NON_NAMES: frozenset[str] = word_set("""
    i im i'm ive i've we everybody anybody somebody nobody everyone anyone someone people
    person family friends
    friend parents kids children folks guys company office work school team class business
    store shop restaurant mine yours who which whoever dinner lunch breakfast meeting party
    government police city town country world news church club band group neighbours
    neighbors colleagues coworkers boss manager grandparents relatives cousins siblings
    brothers sisters daughters sons sister brother mother father mom mum dad wife husband
    son daughter partner girlfriend boyfriend uncle aunt cousin grandma grandpa granny
    nana baby puppy dog cat one nobody everything something nothing life mail
    summer winter spring autumn fall monday tuesday wednesday thursday friday saturday
    sunday january february march april may june july august september october november
    december today tomorrow yesterday tonight christmas easter god jesus
""")
"""Capitalised sentence starts that are no person's name ("Everybody moved to Zoom")."""

TIME_WORDS: frozenset[str] = word_set("""
    monday tuesday wednesday thursday friday saturday sunday january february march april may
    june july august september october november december today tomorrow yesterday tonight
    christmas easter weekend week month year
""")
"""Words that are no place ("The meeting moved to Friday")."""

NON_PLAN_GERUNDS: frozenset[str] = word_set("""
    being feeling thinking hoping trying looking wondering kidding joking living considering
    wanting dying waiting planning intending aiming struggling hating loving liking enjoying
    missing needing saying telling asking talking guessing assuming willing
""")
"""Progressive forms that state no plan, even with a date ("I'm feeling better tomorrow")."""
