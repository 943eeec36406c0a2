"""The answer path: questions about the user answered from memory (cited, dated), "not
mentioned" when nothing read supports an answer, other messages generated; bad memories stay
harmless."""

from __future__ import annotations

from datetime import date

import pytest
import torch
from sqlalchemy import func, select

from agent.answer.avoid import avoided_words
from agent.answer.dates import happened_on
from agent.answer.grounded import NOT_MENTIONED, Remembered, ground, source_phrase
from agent.answer.intent import asks_list, asks_memory, asks_when
from agent.core import Agent
from agent.models.fast_decode import ban_sequences
from agent.models.repeats import repeated_ngram_ids
from agent.turn import sentences_end
from storage.models import Memory, MemoryEvent, Turn
from tests.fakes import FakeGenerator

SAID = date(2023, 5, 8)


def memory(text: str, id: int = 1, speaker: str = "", weight: float = 0.5) -> Remembered:
    return Remembered(id, text, speaker, SAID, weight)


# ------------------------------------------------------------------ what a message asks


@pytest.mark.parametrize(
    "message",
    [
        "Where does my sister live?",
        "What is my name?",
        "Do you remember what I said about my job",
        "Tell me what you know about my sister",
        "When did Jon lose his job?",
        "What advice did Gina give Jon?",
        "Où habite ma sœur ?",
    ],
)
def test_questions_about_the_user_or_the_past_are_answered_from_memory(message: str) -> None:
    assert asks_memory(message)


@pytest.mark.parametrize(
    "message",
    [
        "What should I cook tonight?",
        "Can you suggest a recipe?",
        "Any ideas for the weekend?",
        "How are you?",
        "Tell me a joke",
        "I moved to Lyon last year.",
        "What do you think about Paris?",
        "Remember that the meeting is at 3 o'clock.",
    ],
)
def test_requests_small_talk_and_statements_are_not(message: str) -> None:
    assert not asks_memory(message)


def test_when_questions_want_a_date() -> None:
    assert asks_when("When did I move?") and asks_when("In which year did she graduate?")
    assert not asks_when("Where do I live?")


@pytest.mark.parametrize(
    ("message", "many"),
    [
        ("What activities does Melanie partake in?", True),
        ("What books has Melanie read?", True),
        ("Where has Melanie camped?", True),
        ("Which cities has Jon visited?", True),
        ("What pet does Caroline have?", False),
        ("What do sunflowers represent?", False),
        ("Where does my sister live?", False),
        ("What type of workout class did Maria start?", False),
        ("What are Joanna's hobbies?", True),
        ("What are the names of John's children?", True),
    ],
)
def test_a_plural_thing_or_what_someone_has_done_asks_for_a_list(message: str, many: bool) -> None:
    assert asks_list(message) is many


@pytest.mark.parametrize(
    ("sentence", "when"),
    [
        ("I lost my job yesterday.", "7 May 2023"),
        ("I started running last week.", "the week before 8 May 2023"),
        ("We moved two years ago.", "2021"),
        ("I went hiking last Saturday.", "the Saturday before 8 May 2023"),
        ("I'm off to Ireland next month.", "June 2023"),
        ("Got hurt last month.", "April 2023"),
        ("I adopted a puppy.", "8 May 2023"),
        ("I'm hiking with some buddies this weekend.", "the weekend of 8 May 2023"),
        ("We're going camping next week.", "the week after 8 May 2023"),
        ("We had a blast on our camping trip last summer.", "the summer of 2022"),
        ("Got the tattoo a few years ago.", "a few years before 8 May 2023"),
        ("A friend made it for my birthday ten years ago.", "2013"),
    ],
)
def test_a_date_is_the_day_it_was_said_moved_by_what_it_says(sentence: str, when: str) -> None:
    assert happened_on(sentence, SAID) == when


def test_last_month_in_january_is_december_of_the_year_before() -> None:
    assert happened_on("Got hurt last month.", date(2024, 1, 15)) == "December 2023"


def test_how_long_ago_is_answered_as_it_was_said() -> None:
    told = memory("A friend made it for my 18th birthday ten years ago.", speaker="Caroline")
    assert ground("How long ago was Caroline's 18th birthday?", [told]).text == "Ten years ago."


# ------------------------------------------------------------------ the grounded answer


def test_the_answer_is_the_part_of_the_remembered_sentence_that_answers() -> None:
    told = memory("My name is Sam, I am vegetarian, I live in Lyon, my sister lives in Paris")
    answer = ground("Where does my sister live?", [told])
    assert answer.text == "Paris." and answer.cited == [1] and not answer.abstained
    assert source_phrase(answer) == f'you told me on 8 May 2023: "{told.text}"'


def test_a_second_hop_follows_the_name_to_the_answer() -> None:
    """'my sister is Alice' does not say where she lives; the sentence about Alice does."""
    memories = [
        memory("My sister is Alice.", 1, weight=0.8),
        memory("Alice lives in Lyon", 2, weight=0.1),
        memory("My brother likes chess.", 3, weight=0.1),
    ]
    answer = ground("Where does my sister live?", memories)
    assert answer.text == "Lyon." and answer.cited == [1, 2]
    assert ground("What is my sister called?", memories).text == "Alice."


def test_a_when_question_gets_the_date_from_the_day_it_was_said() -> None:
    answer = ground("When did I lose my job?", [memory("I lost my job yesterday, sadly.")])
    assert answer.text == "7 May 2023."


def test_the_answer_keeps_the_words_as_written_and_a_quoted_title_whole() -> None:
    """'cook-off' stays one word (not 'cook off'); a title is the answer as it was quoted."""
    said = memory("We need to get the word out about the chili cook-off at the fundraiser.")
    assert ground("What fundraiser does Maria need to spread the word about?", [said]).text == (
        "Chili cook-off."
    )
    book = memory('Just finished "A Dance with Dragons" and it\'s a really good story.', 1, "Tim")
    assert ground("What book did Tim just finish?", [book]).text == '"A Dance with Dragons".'


def test_a_question_asked_back_is_no_answer() -> None:
    """'What did you cook?' repeats the question's words but tells nothing."""
    memories = [
        memory("What did you cook last night?", 1, weight=0.9),
        memory("I cooked a mushroom risotto last night.", 2, weight=0.1),
    ]
    answer = ground("What did I cook last night?", memories)
    assert answer.text == "Mushroom risotto." and answer.cited == [2]


def test_a_list_question_gathers_one_answer_per_memory_and_cites_them_all() -> None:
    memories = [
        memory("We went camping at the beach.", 1, weight=0.5),
        memory("I camped in the mountains last summer.", 2, weight=0.3),
        memory("I love pottery.", 3, weight=0.2),
    ]
    answer = ground("Where have I camped?", memories)
    assert answer.text == "Beach, mountains." and answer.cited == [1, 2]
    assert ground("Where did I camp last summer?", memories).cited == [2]


def test_who_is_answered_with_the_name_said_not_the_one_greeted() -> None:
    memories = [
        memory("Thanks Mel, you're the best!", 1, "Caroline", 0.5),
        memory("We went to a concert! It was Matt Patterson, so talented.", 2, "Melanie", 0.4),
    ]
    answer = ground("Who performed at the concert Melanie went to?", memories)
    assert answer.text == "Matt Patterson." and answer.cited == [2]


def test_whose_asks_for_a_thing_and_a_possessive_carries_it() -> None:
    """'Whose' is not 'who' (no name wanted); "daughter's" is a word of the answer, not a
    contraction like "it's"."""
    told = memory(
        "We celebrated my daughter's birthday with a concert! It was Matt Patterson.",
        speaker="Melanie",
    )
    assert ground("Whose birthday did Melanie celebrate?", [told]).text == "Daughter's concert."


def test_how_many_keeps_the_number_and_its_unit() -> None:
    told = memory("We were teammates for four years in high school.", speaker="John")
    assert ground("How long did John play with his teammates?", [told]).text == "Four years."


def test_the_sentence_with_the_kind_of_thing_asked_is_preferred() -> None:
    """'where' wants a place: the sentence that names one beats one that repeats the words."""
    memories = [
        memory("Our road trip was so much fun, the kids loved the trip.", 1, weight=0.6),
        memory("On the road we stopped in Yosemite.", 2, weight=0.3),
    ]
    answer = ground("Where did we go on our road trip?", memories)
    assert answer.text == "Yosemite." and answer.cited == [2]


def test_what_is_said_to_someone_is_about_them_not_the_speaker() -> None:
    """Caroline telling Melanie 'your pottery project' says nothing about Caroline."""
    memories = [
        memory("Can't wait to see your pottery project.", 1, "Caroline", 0.7),
        memory("I finished another pottery project, a bowl with a dog face.", 2, "Melanie", 0.3),
    ]
    assert ground("What pottery project did Caroline finish?", memories).abstained
    assert ground("What pottery project did Melanie finish?", memories).cited == [2]


def test_a_place_in_a_sentence_about_something_else_is_no_answer_to_where() -> None:
    """'Where do I work?' wants a place, but not the one of 'I live in Lyon'."""
    memories = [
        memory("My name is Sam, I live in Lyon, my sister lives in Paris.", 1, weight=0.7),
        memory("I work as a nurse at the city hospital.", 2, weight=0.2),
    ]
    answer = ground("Where do I work?", memories)
    assert answer.cited == [2] and answer.text == "City hospital."


def test_nothing_that_covers_the_question_means_not_mentioned() -> None:
    answer = ground("Where does my brother work?", [memory("I love pottery and hiking.")])
    assert answer.abstained and answer.text == NOT_MENTIONED and answer.cited == []
    assert ground("What is my name?", []).abstained


def test_what_someone_else_said_is_not_an_answer_about_the_person_asked() -> None:
    """Asked about Alice, a sentence by Bob that matches better means it was Bob's."""
    memories = [
        memory("I love hiking in the mountains.", 1, "Alice", 0.6),
        memory("I started learning the violin.", 2, "Bob", 0.3),
    ]
    assert ground("What instrument is Alice learning?", memories).abstained
    answer = ground("What instrument is Bob learning?", memories)
    assert answer.cited == [2] and answer.speaker == "Bob"


@pytest.mark.parametrize(
    "text",
    [
        "My sister lives in [bold]Paris[/bold] \x1b[31mred\x1b[0m",
        "My sister lives in Paris " + "and more words " * 10_000,
        "",
        "\x00\x07",
    ],
)
def test_hostile_memories_give_a_bounded_literal_answer(text: str) -> None:
    answer = ground("Where does my sister live?", [memory(text)])
    assert len(answer.text) < 200 and "\x1b" not in answer.text and "\x00" not in answer.text
    assert len(source_phrase(answer)) < 400


# ------------------------------------------------------------------ through the agent


def count_rows(agent: Agent) -> tuple[int, int, int]:
    with agent.sessions() as s:
        return tuple(
            s.scalar(select(func.count()).select_from(t)) or 0 for t in (Memory, MemoryEvent, Turn)
        )  # type: ignore[return-value]


def test_ask_answers_from_memory_and_cites_it(agent: Agent) -> None:
    told = agent.ask("My name is Sam, I live in Lyon, my sister Alice lives in Paris.")
    asked = agent.ask("Where does my sister live?")
    assert asked.reply == "Paris." and asked.answered.source_kind == "memory"
    turn_memory = told.written[0].id
    assert asked.cited == [turn_memory]
    doc = asked.as_json()
    assert doc["cited"] == [turn_memory] and doc["answered_from"] == "memory"
    assert doc["source"].startswith("you told me on ")
    generator = agent.models.generator
    assert isinstance(generator, FakeGenerator)
    assert len(generator.prompts) == 1  # the statement went to the model, the question did not


def test_a_forgotten_memory_is_not_cited_again(agent: Agent) -> None:
    told = agent.ask("My sister Alice lives in Paris.")
    assert agent.ask("Where does my sister live?").cited == [told.written[0].id]
    agent.forget(told.written[0].id)
    again = agent.ask("Where does my sister live?")
    assert told.written[0].id not in again.cited


def test_a_question_asked_again_and_again_is_still_answered(agent: Agent) -> None:
    """Each question is written as a turn memory; asked often, the copies would fill the read
    and push the answer out."""
    agent.ask("My name is Sam, I live in Lyon, my sister Alice lives in Paris.")
    agent.ask("I adopted a puppy named Biscuit last week.")
    agent.ask("I work as a nurse at the city hospital.")
    replies = [agent.ask("Where does my sister live?").reply for _ in range(8)]
    assert replies == ["Paris."] * 8


def test_a_question_nothing_answers_says_so(agent: Agent) -> None:
    agent.ask("I love pottery.")
    asked = agent.ask("Where does my brother work?")
    assert asked.reply == NOT_MENTIONED and asked.cited == []
    assert asked.as_json()["answered_from"] == "nothing"


def test_answering_writes_nothing(agent: Agent) -> None:
    agent.ask("My sister Alice lives in Paris.")
    read = agent.search("Where does my sister live?").results
    before = count_rows(agent)
    answered, _ = agent.answer(agent.profile_id(), "Where does my sister live?", read)
    assert answered.reply == "Paris." and count_rows(agent) == before


def test_requests_go_to_the_model_with_the_preferences(agent: Agent) -> None:
    agent.ask("I am vegetarian.")
    generator = agent.models.generator
    assert isinstance(generator, FakeGenerator)
    asked = agent.ask("What should I cook tonight?")
    assert asked.answered.source_kind == "model" and asked.reply == generator.reply
    assert "vegetarian" in generator.prompts[-1][0]["content"]


def test_a_guess_is_one_sentence_small_talk_or_a_statement_two_a_request_any(agent: Agent) -> None:
    generator = agent.models.generator
    assert isinstance(generator, FakeGenerator)
    generator.reply = "Yes, she would. She loves the outdoors. She hikes a lot. And camps."
    streamed: list[str] = []
    guess = agent.ask("Would Melanie enjoy a national park?", on_token=streamed.append)
    assert guess.reply == "Yes, she would." and "".join(streamed) == "Yes, she would."
    assert agent.ask("How are you?").reply == "Yes, she would. She loves the outdoors."
    assert agent.ask("I moved to Lyon.").reply == "Yes, she would. She loves the outdoors."
    assert agent.ask("Give me a recipe.").reply == generator.reply


def test_a_sentence_ends_at_its_stop_not_at_an_initial_or_a_title() -> None:
    text = "I read C.S. Lewis with Dr. Smith. Then"
    assert sentences_end(text, 1) == len("I read C.S. Lewis with Dr. Smith.")
    assert sentences_end("Hi!", 1) is None  # it may go on ("Hi!!")
    assert sentences_end('He said "go." Then', 1) == len('He said "go."')


def test_a_reply_never_repeats_four_tokens() -> None:
    no, comma = 5, 6
    assert repeated_ngram_ids([no, comma, no, comma, no], 4) == [comma]
    assert repeated_ngram_ids([1, 2, 3, 4], 4) == []
    assert repeated_ngram_ids([7, 7, 7], 2) == [7, 7]


# ------------------------------------------------------------------ preferences in replies


def test_a_vegetarian_is_offered_no_meat_or_fish() -> None:
    words = avoided_words([("diet", "vegetarian"), ("name", "Sam")])
    assert {"chicken", "fish", "salmon", "steaks", "anchovies"} <= set(words)
    assert "cheese" not in words and "Sam" not in words
    assert "mushrooms" in avoided_words([("dislikes", "mushrooms")])
    assert "peanuts" in avoided_words([("allergy", "peanuts")])


def test_banned_sequences_mask_only_their_last_token_after_their_prefix() -> None:
    logits = torch.zeros(10)
    banned = [[3], [5, 6], [7, 8, 9]]
    out = ban_sequences(logits.clone(), torch.tensor([1, 5]), banned)
    assert out[3] == float("-inf") and out[6] == float("-inf") and out[9] == 0
    out = ban_sequences(logits.clone(), torch.tensor([7, 8]), banned)
    assert out[9] == float("-inf") and out[6] == 0
    assert ban_sequences(logits.clone(), torch.tensor([], dtype=torch.long), banned)[6] == 0


def test_the_reply_to_a_request_avoids_what_the_preferences_exclude(agent: Agent) -> None:
    agent.ask("I am vegetarian and I hate mushrooms.")
    generator = agent.models.generator
    assert isinstance(generator, FakeGenerator)
    agent.ask("What should I cook tonight?")
    assert {"chicken", "salmon", "mushrooms"} <= set(generator.avoided[-1])
