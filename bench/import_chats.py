"""History import rate: a made-up ChatGPT data export through `import-chats`' own code.

The export has `--conversations` conversations of `--messages` messages each (1,000 x 50 by
default: the issue's 50,000 messages), deterministic for a seed. User messages are 8-40
words, one in eight stating a preference or a fact the extractor picks up; the assistant's
are 60-250 words (longer than the encoder's 128 tokens, as ChatGPT's replies are). Every
conversation has a regenerated reply (a sibling branch that is not the current one) and a
system message, as real exports do. Timed: reading the zip, then `import_export` into a
fresh SQLite profile with the packaged encoder (loaded before timing), then the same file
again (which must add nothing). Reported: messages per second, the encoder's share of the
time, peak RSS.

    .venv/bin/python bench/import_chats.py [--conversations 1000] [--messages 50] [--json]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import resource
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.bootstrap import build_agent  # noqa: E402
from agent.history.formats import read_export  # noqa: E402
from agent.history.importer import ImportOptions, import_export  # noqa: E402
from agent.settings import load_settings  # noqa: E402
from bench.ingest import STATEMENTS, TEXT, timed_encoder  # noqa: E402

START = 1_700_000_000.0  # 14 November 2023, in seconds since the epoch


def words(rng: random.Random, low: int, high: int) -> str:
    vocabulary = TEXT.split(" ")
    return " ".join(rng.choice(vocabulary) for _ in range(rng.randint(low, high))).capitalize()


def node(node_id: str, parent: str | None, role: str | None, text: str, t: float) -> dict:
    """A mapping node; `role` None: the root, which holds no message."""
    message = None
    if role is not None:
        message = {
            "id": node_id,
            "author": {"role": role},
            "create_time": t,
            "content": {"content_type": "text", "parts": [text]},
            "recipient": "all",
            "metadata": {},
        }
    return {"id": node_id, "message": message, "parent": parent, "children": []}


def conversation(rng: random.Random, number: int, messages: int) -> dict[str, Any]:
    """One conversation: root, a system message, then user and assistant in turn; the first
    reply also has a regenerated sibling that is not on the current branch."""
    t = START + number * 3600.0
    nodes = [node("root", None, None, "", t), node("sys", "root", "system", "Be helpful.", t)]
    for i in range(messages):
        user = i % 2 == 0
        text = words(rng, 8, 40) + "."
        if user and rng.random() < 0.125:
            text = f"{rng.choice(STATEMENTS)} {text}"
        if not user:
            text = words(rng, 60, 250) + "."
        nodes.append(
            node(f"{number}-{i}", nodes[-1]["id"], "user" if user else "assistant", text, t + i)
        )
    nodes.append(node(f"{number}-regen", f"{number}-0", "assistant", "An older reply.", t + 0.5))
    mapping = {n["id"]: n for n in nodes}
    for n in nodes:
        if n["parent"] is not None:
            mapping[n["parent"]]["children"].append(n["id"])
    return {
        "title": f"Conversation {number}",
        "create_time": t,
        "conversation_id": f"conv-{number}",
        "mapping": mapping,
        "current_node": nodes[-2]["id"],  # the last message, not the regenerated reply
    }


def write_export(path: Path, conversations: int, messages: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    data = [conversation(rng, n, messages) for n in range(conversations)]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("conversations.json", json.dumps(data))
        archive.writestr("chat.html", "<html></html>")


def timed_import(agent: Any, path: Path) -> dict[str, float]:
    spent = timed_encoder(agent)
    started = time.perf_counter()
    export = read_export(path)
    read_s = time.perf_counter() - started
    summary = import_export(agent, export, ImportOptions(str(path)))
    seconds = time.perf_counter() - started
    encode_s = sum(spent)
    spent.clear()
    return {
        "conversations": summary.conversations,
        "turns": summary.turns,
        "memories": summary.memories,
        "skipped": summary.skipped,
        "seconds": round(seconds, 2),
        "read_s": round(read_s, 2),
        "turns_per_s": round(summary.turns / seconds, 1),
        "encode_share": round(encode_s / seconds, 3),
    }


def run(conversations: int, messages: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as home:
        path = Path(home) / "chatgpt-export.zip"
        write_export(path, conversations, messages)
        agent = build_agent(load_settings(home=Path(home), profile="bench"))
        agent.store.encoder.encode(["warm up"])  # the model loads before timing
        first = timed_import(agent, path)
        again = timed_import(agent, path)
        size_mb = path.stat().st_size / 2**20
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "export": {"conversations": conversations, "messages": conversations * messages,
                   "zip_mb": round(size_mb, 1)},
        "first": first,
        "again": again,
        "peak_rss_mb": round(peak_mb),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} threads",
        "date": time.strftime("%Y-%m-%d"),
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=50, help="per conversation")
    parser.add_argument("--json", action="store_true", help="print the JSON document only")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    doc = run(args.conversations, args.messages)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "import_chats.json").write_text(json.dumps(doc, indent=2) + "\n")
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    print("| run | conversations | turns | memories | skipped | s | turns/s | encoder share |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in ("first", "again"):
        r = doc[name]
        assert isinstance(r, dict)
        print(
            f"| {name} | {r['conversations']} | {r['turns']} | {r['memories']} | "
            f"{r['skipped']} | {r['seconds']} | {r['turns_per_s']} | {r['encode_share']:.0%} |"
        )
    print(f"peak RSS {doc['peak_rss_mb']} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
