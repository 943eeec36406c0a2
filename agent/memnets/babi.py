"""The bAbI QA tasks (Weston et al. 2015): parsing the files and turning them into tensors.

A file holds stories: numbered lines, numbering restarting at 1 for a new story. A line is a
statement ("1 Mary moved to the bathroom.") or a question with its answer and the line numbers
of its supporting facts ("3 Where is Mary? \tbathroom\t1"). Each question becomes one example:
the statements of its story before it, the question, the answer (a whole answer string such
as "n,w" is one answer class, as in the MemN2N paper) and the supporting facts' positions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import torch

PAD = "<pad>"  # index 0 in every vocabulary: empty word slots and empty memories
_TOKEN = re.compile(r"\w+|[^\w\s]")


def words(sentence: str) -> list[str]:
    """Lower-cased word tokens of a sentence, punctuation dropped."""
    return [t for t in _TOKEN.findall(sentence.lower()) if t.isalnum()]


@dataclass(frozen=True)
class Example:
    story: list[list[str]]  # the statements before the question, oldest first
    question: list[str]
    answer: str
    support: list[int]  # indices into `story` of the supporting facts


def parse(text: str) -> list[Example]:
    """Every question of a bAbI file as an Example."""
    examples: list[Example] = []
    story: list[list[str]] = []
    line_of: dict[int, int] = {}  # the file's line number -> index in `story`
    for raw in text.splitlines():
        if not raw.strip():
            continue
        number, _, rest = raw.strip().partition(" ")
        if int(number) == 1:
            story, line_of = [], {}
        if "\t" in rest:
            question, answer, support = (rest.split("\t") + [""])[:3]
            facts = [line_of[int(n)] for n in support.split() if int(n) in line_of]
            examples.append(Example(list(story), words(question), answer.strip(), facts))
        else:
            line_of[int(number)] = len(story)
            story.append(words(rest))
    return examples


def load_task(folder: Path, task: int, split: str) -> list[Example]:
    """Examples of task `task` (1-20), split "train" or "test", from a bAbI folder (en, en-10k)."""
    matches = sorted(folder.glob(f"qa{task}_*_{split}.txt"))
    if not matches:
        raise FileNotFoundError(f"no qa{task}_*_{split}.txt in {folder}")
    return parse(matches[0].read_text(encoding="utf-8"))


@dataclass
class Vocab:
    """Word and answer indices (0 is padding); built from the training examples."""

    index: dict[str, int]

    @classmethod
    def build(cls, examples: list[Example]) -> Vocab:
        seen = {PAD: 0}
        for ex in examples:
            for token in [w for s in ex.story for w in s] + ex.question + [ex.answer]:
                seen.setdefault(token, len(seen))
        return cls(seen)

    def __len__(self) -> int:
        return len(self.index)

    def ids(self, tokens: list[str]) -> list[int]:
        """Indices of the tokens; an unknown token counts as padding (ignored)."""
        return [self.index.get(t, 0) for t in tokens]


@dataclass(frozen=True)
class Batch:
    story: torch.Tensor  # (N, M, J) long: memories, most recent first; 0 pads
    question: torch.Tensor  # (N, J) long
    answer: torch.Tensor  # (N,) long


def vectorize(examples: list[Example], vocab: Vocab, memories: int = 50) -> Batch:
    """Tensors of the examples: each story's last `memories` statements, most recent first
    (so a memory's position is its age, the temporal encoding's index), words padded to the
    longest sentence or question."""
    stories = [ex.story[-memories:][::-1] for ex in examples]
    width = max(
        [len(s) for story in stories for s in story] + [len(ex.question) for ex in examples] + [1]
    )
    depth = max([len(story) for story in stories] + [1])
    story = torch.zeros(len(examples), depth, width, dtype=torch.long)  # (N, M, J)
    question = torch.zeros(len(examples), width, dtype=torch.long)  # (N, J)
    for n, (ex, sentences) in enumerate(zip(examples, stories, strict=True)):
        for m, sentence in enumerate(sentences):
            story[n, m, : len(sentence)] = torch.tensor(vocab.ids(sentence), dtype=torch.long)
        question[n, : len(ex.question)] = torch.tensor(vocab.ids(ex.question), dtype=torch.long)
    answer = torch.tensor([vocab.index.get(ex.answer, 0) for ex in examples], dtype=torch.long)
    return Batch(story, question, answer)
