"""The chat generator: a causal LM run greedily on the CPU, streamed token by token.

The default model is a GGUF file. transformers de-quantises it on load, which takes tens of
seconds, so the result is converted once into a safetensors folder under
`<cache>/models/<sha256[:16]>` and later starts load that folder instead (about a second).

`generator_dtype = "int4"` runs a Llama GGUF model with the hand-written int4 decoder of
`llama_int4` / `fast_decode` instead (its packed weights are cached in the same folder); other
models then run in float32, with a message saying so.
"""

from __future__ import annotations

# Importing this module runs agent/models/__init__.py first, which sets HF offline mode.
import contextlib
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

# transformers takes seconds to import: only the float32/bfloat16 path and the one-time GGUF
# conversion import it (inside the functions below); the int4 path reads the converted folder
# with the `tokenizers` library (agent/models/chat_tokenizer.py).
if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase, TextIteratorStreamer

from agent.errors import MemchatError, UsageError
from agent.models.cache_files import damaged, record
from agent.models.locate import ModelSource, file_sha256, locate_generator, quiet_loading
from agent.models.repeats import NO_REPEAT_NGRAM, no_repeat_in_reply
from agent.models.tokenized import DEFAULT_CONTEXT, REPETITION_PENALTY, TokenizedChat
from agent.settings import Settings

Progress = Callable[[str], None]

DTYPES: dict[str, torch.dtype] = {"float32": torch.float32, "bfloat16": torch.bfloat16}
INT4 = "int4"  # the hand-written int4 decoder (Llama GGUF models only)
# A conversion's temp folder older than this belongs to a process that died mid-way.
STALE_TEMP_S = 3600.0


def _event_stop(*events: threading.Event | None) -> Any:
    """A `StoppingCriteria` that stops generation as soon as any of the given events is set."""
    from transformers import StoppingCriteria

    class EventStop(StoppingCriteria):
        def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> Any:
            halted = any(e.is_set() for e in events if e is not None)
            return torch.full(
                (input_ids.shape[0],), halted, dtype=torch.bool, device=input_ids.device
            )

    return EventStop()


class Generator(TokenizedChat):
    """A transformers chat model: streams greedy replies with `model.generate`."""

    def __init__(
        self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, name: str = ""
    ) -> None:
        limit = getattr(model.config, "max_position_embeddings", None)
        super().__init__(tokenizer, int(limit) if limit else DEFAULT_CONTEXT, name or "model")
        self.model = model.eval()

    def stream(
        self,
        messages: list[dict[str, str]],
        max_new_tokens: int,
        stop: threading.Event | None = None,
        avoid: Sequence[str] = (),
    ) -> Iterator[str]:
        """Yield the reply to `messages` piece by piece (greedy decoding), never producing a
        word of `avoid`.

        Setting `stop` ends generation after the current token. Abandoning the iterator early
        (break, close, garbage collection) also stops the background thread and joins it.
        """
        batch = self._encode_prompt(messages)
        budget = self._budget(len(batch["input_ids"][0]), max_new_tokens)
        if budget <= 0 or (stop is not None and stop.is_set()):
            return
        halt = threading.Event()
        from transformers import TextIteratorStreamer

        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        errors: list[BaseException] = []
        kwargs = self._generate_kwargs(batch, budget, streamer, _event_stop(halt, stop))
        if avoid:
            kwargs["bad_words_ids"] = self.banned_ids(avoid)
        worker = threading.Thread(
            target=self._run, args=(kwargs, streamer, errors), name="memchat-generate", daemon=True
        )
        worker.start()
        try:
            for piece in streamer:
                if piece:
                    yield piece
        finally:
            halt.set()
            worker.join()
        if errors:
            raise MemchatError(f"generation failed: {errors[0]}") from errors[0]

    def _generate_kwargs(
        self,
        batch: Any,
        budget: int,
        streamer: TextIteratorStreamer,
        criterion: Any,
    ) -> dict[str, Any]:
        """Keyword arguments for `model.generate`: greedy, mild repetition penalty."""
        from transformers import StoppingCriteriaList

        pad = self.tokenizer.pad_token_id
        if pad is None:
            pad = self.tokenizer.eos_token_id
        return {
            "input_ids": batch["input_ids"],
            "attention_mask": batch["attention_mask"],
            "max_new_tokens": budget,
            "do_sample": False,
            "temperature": None,
            "top_p": None,
            "top_k": None,
            "repetition_penalty": REPETITION_PENALTY,
            "logits_processor": no_repeat_in_reply(batch["input_ids"].shape[1], NO_REPEAT_NGRAM),
            "pad_token_id": pad,
            "streamer": streamer,
            "stopping_criteria": StoppingCriteriaList([criterion]),
        }

    def _run(
        self, kwargs: dict[str, Any], streamer: TextIteratorStreamer, errors: list[BaseException]
    ) -> None:
        """Thread body: generate; on failure record the error and end the stream."""
        try:
            with torch.inference_mode():
                self.model.generate(**kwargs)
        except BaseException as exc:  # re-raised in the consuming thread
            errors.append(exc)
            streamer.on_finalized_text("", stream_end=True)


# --------------------------------------------------------------------------- loading


def _precision(name: str) -> str:
    """The normalised `generator_dtype` setting: a key of DTYPES, or INT4."""
    key = name.strip().lower()
    if key in DTYPES or key == INT4:
        return key
    choices = " | ".join([*DTYPES, INT4])
    raise UsageError(f"setting generator_dtype={name!r} must be one of {choices}")


def cache_dir_for(settings: Settings, sha256: str) -> Path:
    """The folder that holds the converted form of the GGUF file with digest `sha256`."""
    return settings.cache / "models" / sha256[:16]


def _load_folder(folder: Path, dtype: torch.dtype) -> Generator:
    """Load a Hugging Face model folder (also the conversion cache)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    with quiet_loading():
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
        model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=dtype)
    return Generator(model, tokenizer)


def _plain_copy(gguf_model: PreTrainedModel) -> PreTrainedModel:
    """A copy of a GGUF-loaded model that `save_pretrained` accepts (no quantization config).

    The copy is built on the meta device and takes the GGUF model's tensors as they are (no
    random init, no copy); its non-persistent buffers stay on meta, so it is only fit to save.
    """
    from transformers import AutoConfig, AutoModelForCausalLM

    config_dict = gguf_model.config.to_dict()
    config_dict.pop("quantization_config", None)
    model_type = config_dict.pop("model_type")
    config = AutoConfig.for_model(model_type, **config_dict)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(gguf_model.state_dict(), assign=True)
    model.tie_weights()
    model.generation_config = gguf_model.generation_config
    return model


def _convert_gguf(gguf: Path, target: Path) -> None:
    """De-quantise `gguf` and save it as safetensors at `target`, atomically.

    The model is written into a temporary folder beside `target` and renamed into place, so an
    interrupted conversion never leaves a half-written cache.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf.parent), gguf.name
    with quiet_loading():
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        gguf_model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name)
    model = _plain_copy(gguf_model)
    del gguf_model
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        with quiet_loading():
            model.save_pretrained(str(tmp))
            tokenizer.save_pretrained(str(tmp))
        record(tmp)  # what later starts check before loading
        tmp.rename(target)
    except OSError:
        if not (target / "config.json").is_file():
            raise
        # Another process finished the same conversion first; its copy is as good as ours.
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _remove_stale_temp_dirs(target: Path, older_than_s: float = STALE_TEMP_S) -> None:
    """Delete temporary folders that a killed conversion into `target` left behind."""
    if not target.parent.is_dir():
        return
    cutoff = time.time() - older_than_s
    for leftover in target.parent.glob(f".{target.name}-*"):
        with contextlib.suppress(OSError):
            if leftover.is_dir() and leftover.stat().st_mtime < cutoff:
                shutil.rmtree(leftover, ignore_errors=True)


def _drop_if_damaged(target: Path, settings: Settings, progress: Progress) -> None:
    """Remove the cache folder `target` if a file of it was cut, altered or removed since it
    was written (`cache_files.damaged`), saying so: it is converted again, never loaded."""
    if not target.is_dir():
        return
    why = damaged(target, settings.cache)
    if why is not None:
        progress(f"The converted model cache is damaged ({why}); converting again ...")
        shutil.rmtree(target, ignore_errors=True)


def _converted(source: ModelSource, settings: Settings, progress: Progress) -> Path:
    """The conversion-cache folder of a GGUF source, converting it first if needed."""
    digest = source.sha256 or file_sha256(source.path, settings.cache)
    target = cache_dir_for(settings, digest)
    if (target / "config.json").is_file():
        return target
    progress(f"Converting {source.path.name} once (about 30 s); later starts use the cache ...")
    _remove_stale_temp_dirs(target)
    _convert_gguf(source.path, target)
    return target


def _load_gguf(
    source: ModelSource, settings: Settings, dtype: torch.dtype, progress: Progress
) -> Generator:
    """Load a GGUF source from the conversion cache, converting it first if needed."""
    digest = source.sha256 or file_sha256(source.path, settings.cache)
    target = cache_dir_for(settings, digest)
    _drop_if_damaged(target, settings, progress)
    if (target / "config.json").is_file():
        progress("Loading generator ...")
        try:
            return _load_folder(target, dtype)
        except (OSError, ValueError):
            # A damaged cache (files removed by hand): convert again.
            shutil.rmtree(target, ignore_errors=True)
    target = _converted(source, settings, progress)
    # Load what was written, so this start runs exactly the model later starts will.
    return _load_folder(target, dtype)


def _int4_from_folder(gguf: Path, folder: Path, progress: Progress) -> TokenizedChat:
    """The int4 decoder of `gguf`, with tokenizer and config from its converted `folder`."""
    from agent.models.chat_tokenizer import ChatTokenizer, read_config
    from agent.models.fast_decode import Int4Generator, eos_ids
    from agent.models.gguf_int4 import load_int4_llama

    config: Any = read_config(folder)
    if config is None:
        raise OSError(f"{folder} has no config.json")
    if (getattr(config, "rope_parameters", None) or {}).get("rope_type", "default") != "default":
        from transformers import AutoConfig  # its rope initialisers want its config object

        config = AutoConfig.from_pretrained(str(folder))
    try:
        tokenizer: Any = ChatTokenizer.from_folder(folder)
    except (OSError, ValueError, KeyError):  # not the files it reads: transformers' way
        from transformers import AutoTokenizer

        with quiet_loading():
            tokenizer = AutoTokenizer.from_pretrained(str(folder))
    generation = read_config(folder, "generation_config.json")
    model = load_int4_llama(gguf, folder, config, progress)
    return Int4Generator(model, tokenizer, eos_ids(tokenizer, config, generation))


def _load_int4(source: ModelSource, settings: Settings, progress: Progress) -> TokenizedChat:
    """The int4 decoder for a Llama GGUF source; any other model runs in float32 instead."""
    from agent.models.gguf_int4 import UnsupportedModel

    if source.kind != "gguf":
        progress(
            f"generator_dtype=int4 needs a Llama GGUF model; running {source.path.name} "
            "in float32 instead ..."
        )
        return _load_folder(source.path, torch.float32)
    digest = source.sha256 or file_sha256(source.path, settings.cache)
    _drop_if_damaged(cache_dir_for(settings, digest), settings, progress)
    if (cache_dir_for(settings, digest) / "config.json").is_file():
        progress("Loading generator ...")
    folder = _converted(source, settings, progress)
    try:
        try:
            return _int4_from_folder(source.path, folder, progress)
        except (OSError, ValueError):
            # A damaged cache (files removed by hand): convert again, once.
            shutil.rmtree(folder, ignore_errors=True)
            folder = _converted(source, settings, progress)
            return _int4_from_folder(source.path, folder, progress)
    except UnsupportedModel as exc:
        progress(
            f"generator_dtype=int4 cannot run {source.path.name} ({exc}); running it in "
            "float32 instead ..."
        )
        return _load_folder(folder, torch.float32)


def load_generator(settings: Settings, progress: Progress | None = None) -> TokenizedChat:
    """Locate the generator named by `settings` (default: the packaged GGUF) and load it.

    `progress` receives one-line status messages meant for the user.
    """
    report: Progress = progress or (lambda _message: None)
    precision = _precision(settings.generator_dtype)
    source = locate_generator(settings)
    loaded: TokenizedChat
    if precision == INT4:
        loaded = _load_int4(source, settings, report)
    elif source.kind == "gguf":
        loaded = _load_gguf(source, settings, DTYPES[precision], report)
    else:
        report("Loading generator ...")
        loaded = _load_folder(source.path, DTYPES[precision])
    name = source.path.stem if source.kind == "gguf" else source.path.name
    loaded.name = f"{name} (packaged)" if source.packaged else name
    return loaded
