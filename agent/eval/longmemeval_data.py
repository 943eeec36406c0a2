"""Loading a LongMemEval file (the official `longmemeval_s.json` layout), with one-line errors.

A file is a list of questions: `{"question_id", "question_type", "question", "question_date",
"answer", "answer_session_ids", "haystack_session_ids", "haystack_dates", "haystack_sessions":
[[{"role": "user" | "assistant", "content", "has_answer"?}]]}`, as `.json`, `.json.gz` or
`.json.xz`. A question whose id ends in `_abs` is an abstention question (the answer is not in
the haystack).
"""

from __future__ import annotations

import gzip
import json
import lzma
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from agent.errors import MemchatError, UsageError

QUESTION_TYPES = (
    "single-session-user",
    "single-session-assistant",
    "single-session-preference",
    "multi-session",
    "knowledge-update",
    "temporal-reasoning",
)
ROLES = ("user", "assistant")
_TEXT_FIELDS = ("question_id", "question_type", "question", "question_date")
_ID_LISTS = ("answer_session_ids", "haystack_session_ids", "haystack_dates")


class LongMemEvalFormatError(MemchatError):
    """The file is not in the LongMemEval format; the message says where."""


@dataclass(frozen=True)
class LmeTurn:
    role: str  # user | assistant
    content: str
    has_answer: bool = False


@dataclass(frozen=True)
class LmeSession:
    session_id: str
    date: str  # as in the file, e.g. "2023/05/20 (Sat) 02:21"
    day: datetime
    turns: list[LmeTurn]


@dataclass(frozen=True)
class LmeQuestion:
    question_id: str
    question_type: str
    question: str
    question_date: str
    answer: str  # numbers in the file are kept as their text
    answer_session_ids: list[str]
    sessions: list[LmeSession]  # the haystack, in the file's order

    @property
    def abstention(self) -> bool:
        return self.question_id.endswith("_abs")

    @property
    def turn_count(self) -> int:
        return sum(len(s.turns) for s in self.sessions)


def parse_lme_date(text: str) -> datetime | None:
    """'2023/05/20 (Sat) 02:21' -> datetime(2023, 5, 20, 2, 21); None if it does not parse."""
    parts = text.split()
    try:
        day = datetime.strptime(parts[0], "%Y/%m/%d")
        if len(parts) > 1 and ":" in parts[-1]:
            clock = datetime.strptime(parts[-1], "%H:%M")
            day = day.replace(hour=clock.hour, minute=clock.minute)
    except (IndexError, ValueError):
        return None
    return day


def _turn(raw: Any, where: str) -> LmeTurn:
    if not isinstance(raw, dict):
        raise LongMemEvalFormatError(f"{where}: a turn must be an object")
    role, content = raw.get("role"), raw.get("content")
    if role not in ROLES:
        raise LongMemEvalFormatError(f"{where}: 'role' must be 'user' or 'assistant'")
    if not isinstance(content, str):
        raise LongMemEvalFormatError(f"{where}: 'content' must be a string")
    has_answer = raw.get("has_answer", False)
    if not isinstance(has_answer, bool):
        raise LongMemEvalFormatError(f"{where}: 'has_answer' must be true or false")
    return LmeTurn(role, content, has_answer)


def _string_list(raw: dict[str, Any], key: str, where: str) -> list[str]:
    value = raw.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise LongMemEvalFormatError(f"{where}: {key!r} must be a list of strings")
    return value


def _sessions(raw: dict[str, Any], where: str) -> list[LmeSession]:
    """The haystack: its three lists (ids, dates, sessions) must have the same length."""
    ids = _string_list(raw, "haystack_session_ids", where)
    dates = _string_list(raw, "haystack_dates", where)
    sessions = raw.get("haystack_sessions")
    if not isinstance(sessions, list) or not all(isinstance(s, list) for s in sessions):
        raise LongMemEvalFormatError(f"{where}: 'haystack_sessions' must be a list of lists")
    if not len(ids) == len(dates) == len(sessions):
        raise LongMemEvalFormatError(
            f"{where}: 'haystack_sessions' ({len(sessions)}), 'haystack_session_ids' "
            f"({len(ids)}) and 'haystack_dates' ({len(dates)}) differ in length"
        )
    out = []
    for i, (sid, date, turns) in enumerate(zip(ids, dates, sessions, strict=True)):
        day = parse_lme_date(date)
        if day is None:
            raise LongMemEvalFormatError(f"{where}: 'haystack_dates' {i + 1} {date!r} is no date")
        parsed = [
            _turn(t, f"{where} 'haystack_sessions' {i + 1} turn {j + 1}")
            for j, t in enumerate(turns)
        ]
        out.append(LmeSession(sid, date, day, parsed))
    return out


def _question(raw: Any, index: int) -> LmeQuestion:
    where = f"question {index + 1}"
    if not isinstance(raw, dict):
        raise LongMemEvalFormatError(f"{where}: a question must be an object")
    for key in (*_TEXT_FIELDS, "answer", *_ID_LISTS, "haystack_sessions"):
        if key not in raw:
            raise LongMemEvalFormatError(f"{where}: {key!r} is missing")
    for key in _TEXT_FIELDS:
        if not isinstance(raw[key], str):
            raise LongMemEvalFormatError(f"{where}: {key!r} must be a string")
    where = f"question {index + 1} ({raw['question_id']})"
    answer = raw["answer"]
    if not isinstance(answer, str | int | float) or isinstance(answer, bool):
        raise LongMemEvalFormatError(f"{where}: 'answer' must be a string or a number")
    return LmeQuestion(
        raw["question_id"],
        raw["question_type"],
        raw["question"],
        raw["question_date"],
        str(answer),
        _string_list(raw, "answer_session_ids", where),
        _sessions(raw, where),
    )


def read_json(path: Path) -> Any:
    """The JSON document in `path`, gzip- or xz-compressed when its name ends so; a missing or
    unreadable file raises LongMemEvalFormatError."""
    path = Path(path)
    opener = {".gz": gzip.open, ".xz": lzma.open}.get(path.suffix, open)
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise LongMemEvalFormatError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise LongMemEvalFormatError(f"{path}: is a folder, not a JSON file") from None
    except UnicodeDecodeError:
        raise LongMemEvalFormatError(f"{path}: not valid UTF-8") from None
    except json.JSONDecodeError as exc:
        raise LongMemEvalFormatError(
            f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})"
        ) from None
    except (OSError, EOFError, lzma.LZMAError) as exc:  # gzip.BadGzipFile is an OSError
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise LongMemEvalFormatError(f"{path}: cannot read ({reason})") from None


def load_longmemeval(path: Path) -> list[LmeQuestion]:
    """The questions of a LongMemEval file; a malformed file raises LongMemEvalFormatError."""
    data = read_json(path)
    if not isinstance(data, list) or not data:
        raise LongMemEvalFormatError(f"{path}: expected a non-empty list of LongMemEval questions")
    try:
        return [_question(raw, i) for i, raw in enumerate(data)]
    except LongMemEvalFormatError as exc:
        raise LongMemEvalFormatError(f"{path}: {exc}") from None


def select_questions(
    questions: list[LmeQuestion], types: list[str] | None = None, limit: int | None = None
) -> list[LmeQuestion]:
    """The questions of `types` (all when None), then the first `limit` of them. An unknown
    type is a UsageError naming the known ones."""
    if types:
        unknown = [t for t in types if t not in QUESTION_TYPES]
        if unknown:
            raise UsageError(
                f"--types: unknown question type {', '.join(unknown)}; "
                f"known: {', '.join(QUESTION_TYPES)}"
            )
        questions = [q for q in questions if q.question_type in types]
    return questions[:limit] if limit else questions
