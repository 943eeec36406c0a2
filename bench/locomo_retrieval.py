"""LoCoMo turn-level retrieval: recall@k of the evidence turns for the hybrid memory read.

Each turn of a conversation becomes one memory, stored as the ingest stores it: key text
"{date} {speaker}: {text}" (+ " [shares a photo: {caption}]"), MiniLM key embedding, BM25 over
the key text, temporal links to the previous and next turn in write order. For every question of
categories 1-4 with evidence, every variant below scores all memories of its conversation;
recall@k = |evidence in top k| / |evidence|, averaged over questions (and per category).

Reports: an ablation table (baselines, each component added in turn, each removed from the
default, and measured ideas that were not adopted), per-category and per-conversation recall,
leave-one-conversation-out parameter choice, and the softmax temperature by max likelihood.

    .venv/bin/python bench/locomo_retrieval.py --data ../shared/data/locomo/locomo_dev.json
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.memory.hybrid import (  # noqa: E402
    HybridParams,
    content_scores,
    follow,
    hybrid_scores,
    key_lengths,
    length_prior,
    neighbour_lift,
    read_weights,
    speaker_match,
)
from agent.memory.lexical import LexicalIndex  # noqa: E402

KS = (1, 5, 10, 20)
CATEGORIES = (1, 2, 3, 4)
CATEGORY_NAMES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}
EVIDENCE_ID = re.compile(r"D\s*:?\s*(\d+)\s*:\s*(\d+)")
# Measured, not adopted: a "when" question favours turns with a time expression.
TIME_WORDS = re.compile(
    r"\b(yesterday|today|tonight|tomorrow|ago|last|next|recently|since|earlier|soon|week|"
    r"weekend|month|year|monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|"
    r"february|march|april|may|june|july|august|september|october|november|december|\d{4})\b",
    re.IGNORECASE,
)


# ----------------------------------------------------------------------------- memories


def session_date(stamp: str) -> str:
    """'1:56 pm on 8 May, 2023' -> '8 May 2023'."""
    day = datetime.strptime(stamp.split(" on ")[-1].replace(",", "").strip(), "%d %B %Y")
    return f"{day.day} {day:%B} {day.year}"


def parse_evidence(items: list[str], rows: dict[str, int]) -> list[int]:
    """Memory rows of the evidence ids; tolerates 'D8:6; D9:17', 'D:11:26', drops unknown ids."""
    found = {f"D{s}:{t}" for item in items for s, t in EVIDENCE_ID.findall(str(item))}
    return sorted(rows[i] for i in found if i in rows)


@dataclass
class Conversation:
    sample_id: str
    names: list[str]  # the two speakers
    keys: list[str]  # (n,) key texts, in write order
    texts: list[str]  # (n,) the utterance alone (no date, speaker or caption)
    speakers: list[str]  # (n,)
    questions: list[str]  # (q,) categories 1-4 with evidence
    categories: list[int]  # (q,)
    evidence: list[list[int]]  # (q,) memory rows


def build_conversation(sample: dict) -> Conversation:
    conv = sample["conversation"]
    sessions = sorted(int(m.group(1)) for k in conv if (m := re.fullmatch(r"session_(\d+)", k)))
    keys, texts, speakers, ids = [], [], [], []
    for s in sessions:
        date = session_date(conv[f"session_{s}_date_time"])
        for turn in conv[f"session_{s}"]:
            key = f"{date} {turn['speaker']}: {turn['text']}"
            if turn.get("blip_caption"):
                key += f" [shares a photo: {turn['blip_caption']}]"
            keys.append(key)
            texts.append(turn["text"])
            speakers.append(turn["speaker"])
            ids.append(turn["dia_id"])
    rows = {dia_id: i for i, dia_id in enumerate(ids)}
    questions, categories, evidence = [], [], []
    for qa in sample["qa"]:
        found = parse_evidence(qa.get("evidence", []), rows)
        if qa["category"] in CATEGORIES and found:
            questions.append(qa["question"])
            categories.append(qa["category"])
            evidence.append(found)
    names = [conv["speaker_a"], conv["speaker_b"]]
    return Conversation(
        sample["sample_id"], names, keys, texts, speakers, questions, categories, evidence
    )


def temporal_links(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """prev_row, next_row: (n,) long, -1 at the ends (write order, across sessions)."""
    rows = torch.arange(n)
    return torch.where(rows > 0, rows - 1, -1), torch.where(rows < n - 1, rows + 1, -1)


def without_names(question: str, names: list[str]) -> str:
    for name in names:
        question = re.sub(rf"(?<!\w){re.escape(name)}('s)?(?!\w)", "they", question, flags=re.I)
    return question


# ----------------------------------------------------------------------------- features


class Embedder:
    """MiniLM embeddings, cached on disk by the sha256 of the texts and of how the encoder
    runs (its input length and precision: vectors of another setting are not reused)."""

    def __init__(self, cache_dir: Path | None) -> None:
        self.cache_dir, self._encoder, self.seconds, self.encoded = cache_dir, None, 0.0, 0

    def __call__(self, texts: list[str]) -> torch.Tensor:
        from agent.models.encoder import FORWARD_DTYPE, MAX_TOKENS

        how = f"{MAX_TOKENS}:{FORWARD_DTYPE}"
        digest = hashlib.sha256("\x00".join([how, *texts]).encode()).hexdigest()[:24]
        path = self.cache_dir / f"{digest}.pt" if self.cache_dir else None
        if path and path.exists():
            return torch.load(path)
        if self._encoder is None:
            from agent.models.encoder import load_encoder
            from agent.settings import load_settings

            self._encoder = load_encoder(load_settings())
        start = time.perf_counter()
        vectors = self._encoder.encode(texts).float()  # (len(texts), 384), unit rows
        self.seconds += time.perf_counter() - start
        self.encoded += len(texts)
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.save(vectors, path)
        return vectors


@dataclass
class Features:
    """Everything a variant may use, for the q questions x n memories of one conversation."""

    dense: torch.Tensor  # (q, n) cosine(question, key)
    dense_no_names: torch.Tensor  # (q, n) cosine with the speakers' names taken out of q
    lexical: torch.Tensor  # (q, n) BM25, 0 where no term is shared
    speaker: torch.Tensor  # (q, n) bool
    lengths: torch.Tensor  # (n,)
    prev_row: torch.Tensor  # (n,)
    next_row: torch.Tensor  # (n,)
    when_time: torch.Tensor  # (q, n) bool: a "when" question and a turn with a time expression
    evidence: torch.Tensor  # (q, n) bool: memory i is evidence for question q


def features(conv: Conversation, embed: Embedder) -> Features:
    keys = embed(conv.keys)  # (n, d)
    dense = embed(conv.questions) @ keys.T  # (q, n)
    plain = [without_names(q, conv.names) for q in conv.questions]
    dense_no_names = embed(plain) @ keys.T
    index = LexicalIndex()
    for i, key in enumerate(conv.keys):
        index.put(i, key)
    lexical = torch.zeros_like(dense)
    for qi, question in enumerate(conv.questions):
        for i, score in index.scores(question).items():
            lexical[qi, i] = score
    speaker = torch.stack([speaker_match(q, conv.speakers) for q in conv.questions])
    prev_row, next_row = temporal_links(len(conv.keys))
    is_when = torch.tensor([bool(re.search(r"\bwhen\b", q, re.I)) for q in conv.questions])
    has_time = torch.tensor([bool(TIME_WORDS.search(t)) for t in conv.texts])
    return Features(
        dense,
        dense_no_names,
        lexical,
        speaker,
        key_lengths(conv.keys),
        prev_row,
        next_row,
        is_when[:, None] & has_time[None, :],
        evidence_mask(conv),
    )


# ----------------------------------------------------------------------------- variants

Variant = Callable[[Features, HybridParams], torch.Tensor]  # -> (q, n) scores


def default(f: Features, p: HybridParams) -> torch.Tensor:
    return hybrid_scores(f.dense, f.lexical, f.prev_row, f.next_row, f.speaker, p, f.lengths)


def with_params(**changes: float) -> Variant:
    return lambda f, p: default(f, replace(p, **changes))


def lift_as_sum(f: Features, p: HybridParams) -> torch.Tensor:
    """The default with the neighbours' content summed, sum_d g^d (c_prev^d + c_next^d)."""
    c = content_scores(f.dense, f.lexical, p.lexical_weight)  # (q, n)
    lift, back, forward = torch.zeros_like(c), f.prev_row, f.next_row
    for d in range(1, p.neighbour_hops + 1):
        for rows in (back, forward):
            lift += torch.where(rows >= 0, p.neighbour_decay**d * c[:, rows.clamp_min(0)], 0.0)
        back, forward = follow(back, f.prev_row), follow(forward, f.next_row)
    prior = p.length_prior * length_prior(f.lengths)
    return c + lift + p.speaker_boost * f.speaker.float() + prior


def mix_and_lift(f: Features, p: HybridParams) -> torch.Tensor:
    """z-mix + one hop of neighbour lift, no speaker (the first component added)."""
    c = content_scores(f.dense, f.lexical, p.lexical_weight)
    return c + neighbour_lift(c, f.prev_row, f.next_row, p.neighbour_decay, 1)


VARIANTS: dict[str, tuple[str, Variant]] = {
    # baselines
    "dense": ("baseline", lambda f, p: f.dense),
    "bm25": ("baseline", lambda f, p: f.lexical),
    "z-mix": ("baseline", lambda f, p: content_scores(f.dense, f.lexical, p.lexical_weight)),
    # each component added in turn
    "z-mix + lift (1 hop)": ("added", mix_and_lift),
    "+ speaker": ("added", with_params(neighbour_hops=1, length_prior=0.0)),
    "+ lift 2nd hop": ("added", with_params(length_prior=0.0)),
    "+ length prior = default": ("added", default),
    # each component removed from the default
    "default - speaker": ("removed", with_params(speaker_boost=0.0)),
    "default - lift": ("removed", with_params(neighbour_hops=0)),
    "default - length prior": ("removed", with_params(length_prior=0.0)),
    "default, dense z-scored (no fixed scale)": ("removed", with_params(dense_scale=None)),
    # measured, not adopted
    "default, lift = sum of neighbours": ("not adopted", lift_as_sum),
    "default + time cue (when-q x time words, +1)": (
        "not adopted",
        lambda f, p: default(f, p) + f.when_time.float(),
    ),
    "default, dense on question without names": (
        "not adopted",
        lambda f, p: hybrid_scores(
            f.dense_no_names, f.lexical, f.prev_row, f.next_row, f.speaker, p, f.lengths
        ),
    ),
}

# leave-one-conversation-out grid (g, b, lambda)
GRID = {
    "neighbour_decay": (0.6, 0.7, 0.8, 0.9),
    "speaker_boost": (3.0, 6.0, 10.0),
    "length_prior": (0.0, 1.0, 2.0, 3.0),
}
TAUS = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0)


# ----------------------------------------------------------------------------- metrics


def evidence_mask(conv: Conversation) -> torch.Tensor:
    """(q, n) bool: memory i is evidence for question q."""
    mask = torch.zeros(len(conv.questions), len(conv.keys), dtype=torch.bool)
    for qi, rows in enumerate(conv.evidence):
        mask[qi, rows] = True
    return mask


def recall_at(scores: torch.Tensor, evidence: torch.Tensor, ks=KS) -> torch.Tensor:
    """(q, len(ks)): |evidence in top k| / |evidence| per question."""
    # scores: (q, n)   evidence: (q, n) bool
    top = torch.topk(scores, min(max(ks), scores.shape[1]), dim=1).indices  # (q, K)
    hits = evidence.gather(1, top).float().cumsum(1)  # (q, K): evidence found in the top j+1
    found = hits[:, [min(k, top.shape[1]) - 1 for k in ks]]  # (q, len(ks))
    return found / evidence.sum(1, keepdim=True)


def summarise(per_q: torch.Tensor, cats: torch.Tensor) -> dict:
    """Mean recall@k over all questions (categories 1-4) and per category."""
    result = {"all": dict(zip(map(str, KS), per_q.mean(0).tolist(), strict=True))}
    for c in CATEGORIES:
        mask = cats == c
        result[str(c)] = dict(zip(map(str, KS), per_q[mask].mean(0).tolist(), strict=True))
        result[str(c)]["n"] = int(mask.sum())
    result["all"]["n"] = len(cats)
    return result


def evidence_nll(scores: torch.Tensor, evidence: torch.Tensor, tau: float) -> torch.Tensor:
    """(q,): -ln sum_{i in evidence} softmax(score / tau)_i."""
    logp = torch.log_softmax(scores / tau, dim=1)  # (q, n)
    return -torch.logsumexp(logp.masked_fill(~evidence, float("-inf")), dim=1)


# ----------------------------------------------------------------------------- report


def leave_one_out(convs, feats, params) -> dict:
    """Choose (g, b, lambda) on 4 conversations by recall@5, score the 5th with them."""
    combos = [dict(zip(GRID, v, strict=True)) for v in itertools.product(*GRID.values())]
    r5 = torch.zeros(len(combos), len(convs))  # mean recall@5 per combo and conversation
    sizes = torch.tensor([len(c.questions) for c in convs], dtype=torch.float)
    for a, combo in enumerate(combos):
        p = replace(params, **combo)
        for b, f in enumerate(feats):
            r5[a, b] = recall_at(default(f, p), f.evidence, (5,)).mean()
    folds = []
    for b, conv in enumerate(convs):
        train = [i for i in range(len(convs)) if i != b]
        train_r5 = (r5[:, train] * sizes[train]).sum(1) / sizes[train].sum()
        best = int(train_r5.argmax())
        d = next(
            i for i, c in enumerate(combos) if all(getattr(params, k) == v for k, v in c.items())
        )
        folds.append(
            {
                "held_out": conv.sample_id,
                "chosen": combos[best],
                "train_recall@5": float(train_r5[best]),
                "held_out_recall@5": float(r5[best, b]),
                "default_held_out_recall@5": float(r5[d, b]),
                "best_on_held_out_recall@5": float(r5[:, b].max()),
                "grid_min_on_held_out": float(r5[:, b].min()),
            }
        )
    pooled = float((torch.tensor([f["held_out_recall@5"] for f in folds]) * sizes).sum())
    return {"grid": GRID, "folds": folds, "pooled_held_out_recall@5": pooled / float(sizes.sum())}


def markdown(results: dict, loo: dict, per_conv: dict, tau: dict) -> str:
    lines = [
        "| variant | kind | R@1 | R@5 | R@10 | R@20 | cat1 R@5 | cat2 R@5 | cat3 R@5 | cat4 R@5 |"
    ]
    lines.append("|---|---|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        row = [f"{r['all'][str(k)]:.3f}" for k in KS]
        row += [f"{r[str(c)]['5']:.3f}" for c in CATEGORIES]
        lines.append(f"| {name} | {r['kind']} | " + " | ".join(row) + " |")
    lines += ["", "Default recall@5 per conversation: "]
    lines[-1] += ", ".join(f"{k} {v:.3f}" for k, v in per_conv.items())
    lines += [
        "",
        "| held out | chosen on the other 4 (g, b, lambda) | train R@5 | held-out R@5 |"
        " default on held-out | best on held-out |",
        "|---|---|---|---|---|---|",
    ]
    for f in loo["folds"]:
        chosen = ", ".join(f"{v:g}" for v in f["chosen"].values())
        lines.append(
            f"| {f['held_out']} | {chosen} | {f['train_recall@5']:.3f} | "
            f"{f['held_out_recall@5']:.3f} | {f['default_held_out_recall@5']:.3f} | "
            f"{f['best_on_held_out_recall@5']:.3f} |"
        )
    lines.append(f"\nPooled held-out recall@5: {loo['pooled_held_out_recall@5']:.3f}")
    lines.append(
        "Temperature (evidence NLL by tau): "
        + ", ".join(f"{t:g}: {v:.3f}" for t, v in tau["nll"].items())
        + f"; chosen {tau['best']:g}; median top-1 weight when top-1 is evidence "
        f"{tau['top1_weight_when_right']:.2f} (when not: {tau['top1_weight_when_wrong']:.2f})"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "memchat-locomo-embeddings",
        help="embedding cache (keyed by the texts' sha256)",
    )
    parser.add_argument("--no-cache", action="store_true")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    params = HybridParams()
    convs = [build_conversation(s) for s in json.loads(args.data.read_text())]
    embed = Embedder(None if args.no_cache else args.cache_dir)
    feats = [features(c, embed) for c in convs]
    feature_s = time.perf_counter() - start
    cats = torch.tensor([c for conv in convs for c in conv.categories])

    results, per_question = {}, {}
    for name, (kind, variant) in VARIANTS.items():
        per_q = torch.cat([recall_at(variant(f, params), f.evidence) for f in feats])
        per_question[name] = per_q
        results[name] = {"kind": kind, **summarise(per_q, cats)}
    sizes = [len(c.questions) for c in convs]
    per_conv = {
        c.sample_id: float(part[:, 1].mean())
        for c, part in zip(
            convs, per_question["+ length prior = default"].split(sizes), strict=True
        )
    }
    loo = leave_one_out(convs, feats, params)

    nll = {
        t: float(torch.cat([evidence_nll(default(f, params), f.evidence, t) for f in feats]).mean())
        for t in TAUS
    }
    top_weight, top_right = [], []
    for f in feats:
        top_w, top = read_weights(default(f, params), params.tau).max(1)  # (q,), (q,)
        top_weight.append(top_w)
        top_right.append(f.evidence.gather(1, top[:, None])[:, 0])
    top_weight, top_right = torch.cat(top_weight), torch.cat(top_right)
    tau = {
        "nll": nll,
        "best": min(nll, key=nll.get),
        "default": params.tau,
        "top1_weight_when_right": float(top_weight[top_right].median()),
        "top1_weight_when_wrong": float(top_weight[~top_right].median()),
    }
    total_s = time.perf_counter() - start

    report = {
        "data": str(args.data),
        "conversations": {
            c.sample_id: {"memories": len(c.keys), "questions": len(c.questions)} for c in convs
        },
        "params": params.__dict__,
        "formula": "score = c + max(0, max_d g^d max(c_prev^d, c_next^d)) + b*speaker "
        "+ lambda*ln(len); c = z(cos) + w*z(bm25); weights = softmax(score/tau)",
        "variants": results,
        "default_recall@5_per_conversation": per_conv,
        "leave_one_conversation_out": loo,
        "temperature": tau,
        "runtime_s": {
            "total": total_s,
            "features": feature_s,
            "encoder": embed.seconds,
            "texts_encoded": embed.encoded,
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "locomo_retrieval.json").write_text(json.dumps(report, indent=2) + "\n")
    print(markdown(results, loo, per_conv, tau))
    print(
        f"\nRuntime {total_s:.1f} s (features {feature_s:.1f} s, encoder {embed.seconds:.1f} s "
        f"for {embed.encoded} texts; cache {args.cache_dir if not args.no_cache else 'off'})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
