"""The transformers-free tokenizer of the int4 generator against transformers' own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent.models.chat_tokenizer import ChatTokenizer, read_config
from agent.settings import Settings

ROOT = Path(__file__).resolve().parents[1]

CHATS = [
    [{"role": "user", "content": "What is the capital of France?"}],
    [
        {"role": "system", "content": "You are helpful. Known about the user:\n- diet: vegan"},
        {"role": "user", "content": "Hi! I'm Zoë 👋 — café at 9?"},
        {"role": "assistant", "content": "Sure [bold]not markup[/bold] <|im_end|> text"},
        {"role": "user", "content": "  spaces\tand\nlines  "},
    ],
    [{"role": "user", "content": "日本語のテキスト and ünïcödé"}],
]


def test_read_config_gives_attributes_or_none(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"model_type": "llama", "hidden_size": 8}')
    config = read_config(tmp_path)
    assert config is not None and config.model_type == "llama" and config.hidden_size == 8
    assert read_config(tmp_path, "generation_config.json") is None


def test_a_folder_without_a_template_is_refused(tmp_path: Path) -> None:
    (tmp_path / "tokenizer_config.json").write_text('{"eos_token": "</s>"}')
    with pytest.raises(OSError, match="chat template"):
        ChatTokenizer.from_folder(tmp_path)


@pytest.fixture(scope="module")
def converted(model_cache: Path) -> Path:
    from agent.models.generator import cache_dir_for, load_generator
    from agent.models.locate import GENERATOR

    settings = Settings(home=model_cache / "home", cache=model_cache, generator_dtype="int4")
    load_generator(settings)  # converts and packs once
    return cache_dir_for(settings, GENERATOR.sha256)


@pytest.mark.integration
def test_it_renders_tokenizes_and_decodes_like_transformers(converted: Path) -> None:
    from transformers import AutoTokenizer

    ours, theirs = ChatTokenizer.from_folder(converted), AutoTokenizer.from_pretrained(converted)
    for chat in CHATS:
        text = ours.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
        assert text == theirs.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
        ids = ours(text, add_special_tokens=False)["input_ids"]
        assert ids == theirs(text, add_special_tokens=False)["input_ids"]
        assert ours(text, return_tensors="pt")["input_ids"].tolist() == [ids]
        for skip in (True, False):
            assert ours.decode(ids, skip_special_tokens=skip) == theirs.decode(
                ids, skip_special_tokens=skip
            )
    assert (ours.eos_token_id, ours.pad_token_id) == (theirs.eos_token_id, theirs.pad_token_id)


@pytest.mark.integration
def test_the_int4_generator_loads_without_importing_transformers(converted: Path) -> None:
    cache = converted.parent.parent
    code = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "from pathlib import Path\n"
        "from agent.models.generator import load_generator\n"
        "from agent.settings import Settings\n"
        "g = load_generator(Settings(home=Path(sys.argv[2]) / 'home', cache=Path(sys.argv[2])))\n"
        "reply = g.generate([{'role': 'user', 'content': 'Say hello.'}], 6)\n"
        "print(type(g).__name__, bool(reply.strip()), 'transformers' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(ROOT), str(cache)],
        capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    assert done.stdout.split() == ["Int4Generator", "True", "False"]
