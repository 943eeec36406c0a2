"""The generator's tokenizer and chat template without transformers.

Importing transformers' tokenizer code (it pulls in its configuration machinery) costs about
3 s at every start. A converted model folder already holds what the int4 decoder needs:
`tokenizer.json` (read by the `tokenizers` library), the special tokens in
`tokenizer_config.json`, the chat template (`chat_template.jinja`, or the `chat_template` key)
and `config.json`. `ChatTokenizer` answers the calls `Generator` and the decode loop make, the
way transformers' tokenizer answers them (a test compares the two on the packaged model).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
from jinja2.exceptions import TemplateError
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment
from tokenizers import Tokenizer


class ChatTokenizer:
    """`tokenizer(text)`, `apply_chat_template`, `decode` and the special token ids."""

    def __init__(self, tokenizer: Tokenizer, special: dict[str, str], template: str) -> None:
        tokenizer.no_padding()
        tokenizer.no_truncation()
        self.tokenizer = tokenizer
        self.special = special  # e.g. {"eos_token": "<|im_end|>", ...}
        env = ImmutableSandboxedEnvironment(
            trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols]
        )
        env.filters["tojson"] = lambda value, **kw: json.dumps(value, ensure_ascii=False, **kw)
        env.globals["raise_exception"] = _raise
        env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
        self.template = env.from_string(template)

    @classmethod
    def from_folder(cls, folder: Path) -> ChatTokenizer:
        """Read a Hugging Face model folder; OSError when it lacks what is needed."""
        config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
        special = {k: _token_text(v) for k, v in config.items() if k.endswith("_token")}
        template_file = folder / "chat_template.jinja"
        if template_file.is_file():
            template = template_file.read_text(encoding="utf-8")
        elif isinstance(config.get("chat_template"), str):
            template = config["chat_template"]
        else:
            raise OSError(f"{folder} has no chat template")
        return cls(Tokenizer.from_file(str(folder / "tokenizer.json")), special, template)

    def __call__(
        self, text: str, add_special_tokens: bool = False, return_tensors: str | None = None
    ) -> dict[str, Any]:
        """{"input_ids": ids, "attention_mask": ones}; a (1, n) tensor each with "pt"."""
        ids = self.tokenizer.encode(text, add_special_tokens=add_special_tokens).ids
        if return_tensors == "pt":
            input_ids = torch.tensor([ids], dtype=torch.long)  # (1, n)
            return {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids)}
        return {"input_ids": ids, "attention_mask": [1] * len(ids)}

    def apply_chat_template(
        self,
        messages: list[dict[str, str]],
        tokenize: bool = False,
        add_generation_prompt: bool = True,
    ) -> str:
        """The prompt text: the chat template rendered as transformers renders it."""
        if tokenize:
            raise ValueError("ChatTokenizer renders text only (tokenize=False)")
        return self.template.render(
            messages=messages, add_generation_prompt=add_generation_prompt, **self.special
        )

    def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=skip_special_tokens)

    def _id(self, name: str) -> int | None:
        token = self.special.get(name)
        return None if token is None else self.tokenizer.token_to_id(token)

    @property
    def eos_token_id(self) -> int | None:
        return self._id("eos_token")

    @property
    def pad_token_id(self) -> int | None:
        return self._id("pad_token")


def read_config(folder: Path, name: str = "config.json") -> SimpleNamespace | None:
    """A JSON config of the folder as attributes (what `getattr(config, ...)` reads), or None
    when the file is missing."""
    path = folder / name
    if not path.is_file():
        return None
    return SimpleNamespace(**json.loads(path.read_text(encoding="utf-8")))


def _token_text(value: object) -> str:
    """A special token as written in tokenizer_config.json: a string or {"content": ...}."""
    if isinstance(value, dict):
        return str(value.get("content", ""))
    return str(value)


def _raise(message: str) -> None:
    raise TemplateError(message)
