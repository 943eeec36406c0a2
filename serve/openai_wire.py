"""What goes over the wire of `memchat serve openai`: reading a chat completion request, and
writing OpenAI's shapes (completions, chunks, errors). Pure functions, no agent: each check
here is one a client can fail, and each failure is a 4xx in OpenAI's error shape, never a
traceback."""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agent.callers import caller_label

if TYPE_CHECKING:
    from agent.turn import TurnResult

MODEL_ID = "memchat"  # the one model /v1/models lists; requests may name any model
ERROR_TYPES = {401: "authentication_error", 404: "not_found_error"}


class ApiError(Exception):
    """A request that fails: the status and OpenAI's error object."""

    def __init__(
        self, status: int, message: str, code: str | None = None, param: str | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.param = status, message, code, param

    def as_json(self) -> dict[str, Any]:
        kind = "server_error" if self.status >= 500 else "invalid_request_error"
        kind = ERROR_TYPES.get(self.status, kind)
        error = {"message": self.message, "type": kind, "param": self.param, "code": self.code}
        return {"error": error}


@dataclass(frozen=True)
class ChatRequest:
    """What memchat takes from a request: the last user message's text, whether to stream,
    and the profile the `user` field names (None: not given)."""

    text: str
    stream: bool
    include_usage: bool
    user: str | None


def bad(message: str, param: str | None = None) -> ApiError:
    return ApiError(400, message, "invalid_request", param)


def parse_chat(body: bytes) -> ChatRequest:
    """The request, checked: a JSON object with a list of messages, the last user message
    holding text, and fields of the types OpenAI's API gives them."""
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise bad(f"the request body is not valid UTF-8 (byte {exc.start})") from exc
    except ValueError as exc:
        raise bad(f"the request body is not valid JSON ({exc})") from exc
    except RecursionError as exc:
        raise bad("the request body is not valid JSON (nested too deeply)") from exc
    if not isinstance(data, dict):
        raise bad("the request body must be a JSON object")
    stream = optional(data, "stream", bool) or False
    options = optional(data, "stream_options", dict) or {}
    include_usage = optional(options, "include_usage", bool, "stream_options.") or False
    user = optional(data, "user", str)
    return ChatRequest(last_user_text(data.get("messages")), stream, include_usage, user)


def optional(data: dict[str, Any], name: str, kind: type, prefix: str = "") -> Any:
    """`data[name]`, None when absent or null; of type `kind`, else the request is bad."""
    value = data.get(name)
    if value is not None and not isinstance(value, kind):
        raise bad(f"'{prefix}{name}' must be {TYPE_NAMES[kind]}", prefix + name)
    return value


TYPE_NAMES = {bool: "a boolean", dict: "an object", str: "a string"}


def last_user_text(messages: Any) -> str:
    """The text of the last message whose role is "user": the turn. The others are not
    used (memchat keeps its own history), only checked to be messages."""
    if not isinstance(messages, list) or not messages:
        raise bad("'messages' must be a non-empty list of messages", "messages")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise bad(f"messages[{i}] must be an object with a 'role'", f"messages[{i}]")
    users = [i for i, m in enumerate(messages) if m["role"] == "user"]
    if not users:
        raise bad("'messages' holds no message with role 'user'", "messages")
    i = users[-1]
    text = content_text(messages[i].get("content"), f"messages[{i}].content")
    if not text.strip():
        raise bad("the last user message has no text", f"messages[{i}].content")
    return text


def content_text(content: Any, param: str) -> str:
    """A message's text: a string, or the `text` of its parts of type "text" joined by
    newlines (images, audio and files are not read)."""
    if content is None or isinstance(content, str):
        return content or ""
    if not isinstance(content, list):
        raise bad(f"'{param}' must be a string or a list of parts", param)
    texts = []
    for j, part in enumerate(content):
        if not isinstance(part, dict):
            raise bad(f"'{param}[{j}]' must be an object", f"{param}[{j}]")
        if part.get("type") == "text":
            if not isinstance(part.get("text"), str):
                raise bad(f"'{param}[{j}].text' must be a string", f"{param}[{j}].text")
            texts.append(part["text"])
    return "\n".join(texts)


def header_text(value: str | None) -> str | None:
    """A header's value as UTF-8 text (the server hands it over decoded as Latin-1)."""
    if value is None:
        return None
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError as exc:
        raise bad("a header is not valid UTF-8") from exc


def client_label(user_agent: str | None) -> str:
    """The session label of a client: "openai: " and its User-Agent's first word, without
    a version ("OpenAI/Python 1.54.0" -> "openai: OpenAI"; "openai: client" without one)."""
    name = re.split(r"[\s/]", (user_agent or "").strip(), maxsplit=1)[0]
    return caller_label("openai", name)


def model_list(generator: str, profile: str, created: int) -> dict[str, Any]:
    """GET /v1/models: the one model, with the chat model behind it and the default profile
    in the "memchat" extension field."""
    model = {"id": MODEL_ID, "object": "model", "created": created, "owned_by": "memchat"}
    model["memchat"] = {"generator": generator, "profile": profile}
    return {"object": "list", "data": [model]}


def memchat_json(result: TurnResult, profile: str) -> dict[str, Any]:
    """The "memchat" extension field: the turn's ids, what it read and wrote (as `ask --json`
    gives them, less the reply, which is the message)."""
    turn = {k: v for k, v in result.as_json().items() if k != "reply"}
    ids = {"turn_id": result.user_turn_id, "reply_turn_id": result.reply_turn_id}
    return {"profile": profile, **ids, **turn}


def usage_json(result: TurnResult, completion_tokens: int) -> dict[str, int]:
    """Token counts: the prompt as built (0 for a reply from memory), and the reply as the
    chat model's tokenizer counts it."""
    prompt = result.prompt_tokens
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt + completion_tokens,
    }


def completion_json(
    result: TurnResult, profile: str, completion_tokens: int, created: int
) -> dict[str, Any]:
    """A `chat.completion` for one turn."""
    message = {"role": "assistant", "content": result.reply}
    return {
        "id": f"chatcmpl-{result.reply_turn_id}",
        "object": "chat.completion",
        "created": created,
        "model": result.model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": usage_json(result, completion_tokens),
        "memchat": memchat_json(result, profile),
    }


class Chunks:
    """The `chat.completion.chunk` events of one streamed reply, as server-sent event lines.
    They share one id, made up front: the reply's turn id is known only at the end (it is in
    the last chunk's "memchat" field)."""

    def __init__(self, model: str) -> None:
        self.id = f"chatcmpl-{secrets.token_hex(12)}"
        self.model, self.created = model, int(time.time())

    def event(self, choices: list[dict[str, Any]], **extra: Any) -> str:
        chunk = {"id": self.id, "object": "chat.completion.chunk", "created": self.created}
        return sse({**chunk, "model": self.model, "choices": choices, **extra})

    def delta(self, delta: dict[str, str]) -> str:
        return self.event([{"index": 0, "delta": delta, "finish_reason": None}])

    def end(self, result: TurnResult, profile: str) -> str:
        choice = {"index": 0, "delta": {}, "finish_reason": "stop"}
        return self.event([choice], memchat=memchat_json(result, profile))

    def usage(self, result: TurnResult, completion_tokens: int) -> str:
        return self.event([], usage=usage_json(result, completion_tokens))


def sse(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


SSE_DONE = "data: [DONE]\n\n"
