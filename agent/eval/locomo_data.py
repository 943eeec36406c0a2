"""Loading a LoCoMo file (the `locomo10.json` layout), with one-line errors for a wrong format.

A file is a list of samples: `{"sample_id", "conversation": {"speaker_a", "speaker_b",
"session_N_date_time", "session_N": [{"speaker", "dia_id", "text", "blip_caption"?}]},
"qa": [{"question", "answer" | "adversarial_answer", "evidence": [dia_id...], "category"}]}`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from agent.errors import MemchatError

CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop", 5: "adversarial"}
_SESSION = re.compile(r"session_(\d+)")
# "D1:3", "D10:05", "D:11:26", "D 2 : 4": the session and turn numbers of a dialogue id.
_DIA_ID = re.compile(r"D\s*:?\s*(\d+)\s*:\s*(\d+)", re.IGNORECASE)
_DATE = re.compile(r"(\d{1,2})\s+([A-Za-z]+)\.?,?\s+(\d{4})")


class LocomoFormatError(MemchatError):
    """The file is not in the LoCoMo format; the message says where."""


@dataclass(frozen=True)
class LocomoTurn:
    dia_id: str  # normalised: "D<session>:<turn>", no leading zeros
    speaker: str
    text: str
    blip_caption: str = ""


@dataclass(frozen=True)
class LocomoSession:
    number: int
    date_time: str  # as in the file, e.g. "1:56 pm on 8 May, 2023"
    date: str  # e.g. "8 May 2023" (the raw string when it does not parse)
    turns: list[LocomoTurn]


@dataclass(frozen=True)
class LocomoQuestion:
    question: str
    answer: str  # the gold answer (the adversarial answer for category 5), as text
    category: int
    evidence: list[str]  # normalised ids of turns that exist in the conversation
    raw_evidence: list[str]


@dataclass(frozen=True)
class LocomoSample:
    sample_id: str
    speaker_a: str
    speaker_b: str
    sessions: list[LocomoSession]
    questions: list[LocomoQuestion]

    @property
    def turn_count(self) -> int:
        return sum(len(s.turns) for s in self.sessions)


def parse_day(date_time: str) -> datetime | None:
    """'1:56 pm on 8 May, 2023' -> datetime(2023, 5, 8); None if no date is found."""
    match = _DATE.search(date_time)
    if match is None:
        return None
    day, month, year = match.groups()
    for fmt in ("%d %B %Y", "%d %b %Y"):
        try:
            return datetime.strptime(f"{day} {month} {year}", fmt)
        except ValueError:
            continue
    return None


def parse_date(date_time: str) -> str:
    """'1:56 pm on 8 May, 2023' -> '8 May 2023'; the input unchanged if no date is found."""
    parsed = parse_day(date_time)
    if parsed is None:
        return date_time.strip()
    return f"{parsed.day} {parsed.strftime('%B')} {parsed.year}"


def parse_evidence(items: Any) -> list[str]:
    """Normalised dialogue ids found in evidence strings ("D1:3; D2:4" gives both), in order,
    without repeats; anything that holds no id is ignored."""
    values = items if isinstance(items, list) else [items]
    found: list[str] = []
    for value in values:
        for session, turn in _DIA_ID.findall(str(value)):
            dia_id = f"D{int(session)}:{int(turn)}"
            if dia_id not in found:
                found.append(dia_id)
    return found


def normalize_dia_id(dia_id: str) -> str:
    ids = parse_evidence(dia_id)
    return ids[0] if ids else dia_id.strip()


def _text(obj: dict[str, Any], key: str, where: str, required: bool = True) -> str:
    value = obj.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise LocomoFormatError(f"{where}: {key!r} must be a string")
    return value


def _turn(raw: Any, where: str) -> LocomoTurn:
    if not isinstance(raw, dict):
        raise LocomoFormatError(f"{where}: a turn must be an object")
    caption = raw.get("blip_caption")
    return LocomoTurn(
        dia_id=normalize_dia_id(_text(raw, "dia_id", where)),
        speaker=_text(raw, "speaker", where),
        text=_text(raw, "text", where),
        blip_caption=caption.strip() if isinstance(caption, str) else "",
    )


def _sessions(conv: Any, where: str) -> list[LocomoSession]:
    if not isinstance(conv, dict):
        raise LocomoFormatError(f"{where}: 'conversation' must be an object")
    numbers = sorted(int(m.group(1)) for k in conv if (m := _SESSION.fullmatch(k)))
    sessions = []
    for n in numbers:
        turns = conv[f"session_{n}"]
        if not isinstance(turns, list):
            raise LocomoFormatError(f"{where}: 'session_{n}' must be a list of turns")
        raw_date = conv.get(f"session_{n}_date_time")
        date_time = raw_date if isinstance(raw_date, str) else ""
        parsed = [_turn(t, f"{where} session_{n} turn {i + 1}") for i, t in enumerate(turns)]
        sessions.append(LocomoSession(n, date_time, parse_date(date_time), parsed))
    if not sessions:
        raise LocomoFormatError(f"{where}: the conversation has no 'session_N' lists")
    return sessions


def _category(raw: Any, where: str) -> int:
    try:
        category = int(raw)
    except (TypeError, ValueError):
        category = 0
    if category not in CATEGORIES:
        raise LocomoFormatError(f"{where}: 'category' must be 1 to 5, not {raw!r}")
    return category


def _question(raw: Any, known: set[str], where: str) -> LocomoQuestion:
    if not isinstance(raw, dict):
        raise LocomoFormatError(f"{where}: a question must be an object")
    category = _category(raw.get("category"), where)
    answer = raw.get("answer")
    if answer is None:
        answer = raw.get("adversarial_answer", "")
    raw_evidence = raw.get("evidence") or []
    evidence = [e for e in parse_evidence(raw_evidence) if e in known]
    raw_list = raw_evidence if isinstance(raw_evidence, list) else [raw_evidence]
    return LocomoQuestion(
        _text(raw, "question", where), str(answer), category, evidence, [str(e) for e in raw_list]
    )


def _sample(raw: Any, index: int) -> LocomoSample:
    where = f"sample {index + 1}"
    if not isinstance(raw, dict):
        raise LocomoFormatError(f"{where}: a sample must be an object")
    sample_id = str(raw.get("sample_id") or f"sample-{index + 1}")
    where = f"sample {index + 1} ({sample_id})"
    conv = raw.get("conversation")
    sessions = _sessions(conv, where)
    qa = raw.get("qa")
    if not isinstance(qa, list):
        raise LocomoFormatError(f"{where}: 'qa' must be a list of questions")
    known = {t.dia_id for s in sessions for t in s.turns}
    questions = [_question(q, known, f"{where} question {i + 1}") for i, q in enumerate(qa)]
    speaker_a = _text(conv, "speaker_a", where, required=False)
    speaker_b = _text(conv, "speaker_b", where, required=False)
    return LocomoSample(sample_id, speaker_a, speaker_b, sessions, questions)


def load_locomo(path: Path) -> list[LocomoSample]:
    """The samples of a LoCoMo file; a missing or malformed file raises LocomoFormatError."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LocomoFormatError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise LocomoFormatError(f"{path}: is a folder, not a LoCoMo JSON file") from None
    except OSError as exc:
        raise LocomoFormatError(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise LocomoFormatError(f"{path}: not valid UTF-8") from None
    except json.JSONDecodeError as exc:
        raise LocomoFormatError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if isinstance(data, dict) and "conversation" in data:
        data = [data]  # a single sample
    if not isinstance(data, list) or not data:
        raise LocomoFormatError(f"{path}: expected a non-empty list of LoCoMo samples")
    try:
        return [_sample(raw, i) for i, raw in enumerate(data)]
    except LocomoFormatError as exc:
        raise LocomoFormatError(f"{path}: {exc}") from None
