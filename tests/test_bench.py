"""The benchmark suite's own logic: the synthetic conversation, the summary document, ingest."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from agent.eval.ingest import ingest_sample
from tests.conftest import make_fake_agent

BENCH = Path(__file__).resolve().parents[1] / "bench"


def bench_module(name: str) -> ModuleType:
    """Import bench/<name>.py (bench/ is scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_synthetic_conversation_has_the_turns_asked_for_and_is_deterministic() -> None:
    ingest = bench_module("ingest")
    sample = ingest.synthetic_conversation(45, seed=3)
    assert sample.turn_count == 45 and [len(s.turns) for s in sample.sessions] == [20, 20, 5]
    assert sample == ingest.synthetic_conversation(45, seed=3)
    assert sample != ingest.synthetic_conversation(45, seed=4)
    ids = [t.dia_id for s in sample.sessions for t in s.turns]
    assert len(set(ids)) == 45 and ids[20] == "D2:1"


def test_ingest_measure_counts_turns_and_encoder_time(tmp_path: Path) -> None:
    ingest = bench_module("ingest")
    agent = make_fake_agent(tmp_path)
    spent = ingest.timed_encoder(agent)
    result = ingest.measure(agent, ingest.synthetic_conversation(60, seed=1), spent)
    assert result["turns"] == 60 and result["memories"] >= 60
    assert 0 < result["encode_share"] <= 1 and result["turns_per_s"] > 0
    second = ingest.measure(agent, ingest.synthetic_conversation(30, seed=5), spent)
    both = ingest.together([result, second])  # two conversations as one: turns over seconds
    assert both["turns"] == 90
    assert both["seconds"] == pytest.approx(result["seconds"] + second["seconds"], abs=0.01)
    assert both["turns_per_s"] == pytest.approx(90 / both["seconds"], rel=0.01)
    # the wrapped encoder still answers: a second conversation ingests too
    again = ingest_sample(agent, ingest.synthetic_conversation(10, seed=2))
    assert again.turns == 10


def test_summary_has_the_documented_shape() -> None:
    run = bench_module("run")
    docs = {
        "read": {"read": {"10000": {"ours_ms": 0.5, "faiss_ms": 1.0, "ratio": 0.5, "x": 1}}},
        "turn_overhead": {
            "rows": [{"memories": 1000, "median_ms": 40.04, "cache_load_ms": 30.0}],
        },
        "generation": {
            "generation": {"fp32": {"tok_s": 13.6, "ttft_ms": 200.0, "perplexity": 13.5}},
            "default": "fp32",
        },
        "cold_start": {"cold_start_s": {"first": 20.0, "cached": 2.5}, "peak_rss_mb": 500},
        "ingest": {
            "ingest": {"locomo": {"turns_per_s": 90.0}, "synthetic": {"turns_per_s": 120.0}},
        },
    }
    doc = run.summary(docs)
    assert doc["read"] == {"10000": {"ours_ms": 0.5, "faiss_ms": 1.0, "ratio": 0.5}}
    assert doc["turn_overhead_ms"] == {"1000": 40.0}
    assert doc["generation"]["fp32"]["tok_s"] == 13.6 and doc["default_generation"] == "fp32"
    assert doc["cold_start_s"] == {"first": 20.0, "cached": 2.5}
    assert doc["ingest_turns_per_s"] == 90.0
    assert doc["peak_rss_mb"]["cold_start"] == 500


def test_peak_of_finds_the_largest_nested_rss() -> None:
    run = bench_module("run")
    assert run.peak_of({"rows": [{"peak_rss_mb": 10}, {"peak_rss_mb": 30.4}]}) == 30
    assert run.peak_of({"rows": []}) is None


def test_no_bench_script_shadows_a_standard_library_module() -> None:
    # bench/ is first on sys.path when a script runs: bench/profile.py once hid the standard
    # library's `profile`, and every import of cProfile (torch imports it) failed
    names = {path.stem for path in BENCH.glob("*.py")}
    assert not names & sys.stdlib_module_names


def test_babi_bench_writes_the_documented_entry_and_keeps_the_others(tmp_path: Path) -> None:
    from tests.test_memnets import where_is_task

    folder = tmp_path / "babi" / "en"
    folder.mkdir(parents=True)
    (folder / "qa1_single-supporting-fact_train.txt").write_text(where_is_task(60, seed=1))
    (folder / "qa1_single-supporting-fact_test.txt").write_text(where_is_task(20, seed=2))
    out = tmp_path / "babi.json"
    out.write_text(json.dumps({"dnc": {"mean_error": 1.0}}))
    babi = bench_module("babi")
    common = ["--data", str(tmp_path / "babi"), "--tasks", "1", "--epochs", "2", "--out", str(out)]
    assert babi.main([*common, "--model", "kvmemnn", "--joint", "--dim", "8"]) == 0
    assert babi.main([*common, "--model", "memn2n"]) == 0
    results = json.loads(out.read_text())
    assert set(results) == {"dnc", "kvmemnn", "memn2n_per_task"}
    for key, joint in (("kvmemnn", True), ("memn2n_per_task", False)):
        entry = results[key]
        assert entry["setting"] == "en" and entry["joint"] is joint
        assert set(entry["per_task"]) == {"1"} and 0 <= entry["per_task"]["1"] <= 100
        assert entry["mean_error"] == entry["per_task"]["1"]
        assert entry["failed_tasks"] == int(entry["per_task"]["1"] > 5)
        assert entry["training_seconds"] > 0 and entry["machine"]["cpus"]
    assert results["memn2n_per_task"]["paper"]["per_task"]["1"] == 0.0
    assert babi.main(["--data", str(tmp_path / "missing"), "--out", str(out)]) == 2


def test_babi_bench_keeps_every_restart_and_reports_the_lowest_training_error(
    tmp_path: Path,
) -> None:
    from tests.test_memnets import where_is_task

    folder = tmp_path / "babi" / "en"
    folder.mkdir(parents=True)
    for task, seed in ((1, 1), (2, 3)):
        (folder / f"qa{task}_x_train.txt").write_text(where_is_task(60, seed=seed))
        (folder / f"qa{task}_x_test.txt").write_text(where_is_task(20, seed=seed + 1))
    out = tmp_path / "babi.json"
    babi = bench_module("babi")
    common = ["--data", str(tmp_path / "babi"), "--tasks", "1", "2", "--joint", "--dim", "8"]
    common += ["--epochs", "3", "--linear-start-epochs", "1", "--out", str(out)]
    assert babi.main([*common, "--model", "memn2n", "--runs", "3"]) == 0  # in lockstep
    assert (
        babi.main([*common, "--model", "kvmemnn", "--runs", "2", "--kv-values", "last_word"]) == 0
    )
    assert babi.main([*common, "--model", "memn2n", "--empty-slots", "masked"]) == 0
    results = json.loads(out.read_text())
    assert set(results) == {"memn2n", "kvmemnn_last_word", "memn2n_masked"}
    assert results["memn2n_masked"]["config"]["empty_slots"] == "masked"
    for key, count in (("memn2n", 3), ("kvmemnn_last_word", 2)):
        entry = results[key]
        runs = entry["runs"]
        assert len(runs) == count and all(len(run["curve"]) == 4 for run in runs)
        best = min(runs, key=lambda run: run["train_error"])
        assert entry["per_task"] == best["per_task"] and set(best["per_task"]) == {"1", "2"}
        means = [run["mean_error"] for run in runs]
        assert entry["all_runs"]["min"] == min(means) and entry["all_runs"]["max"] == max(means)
    picture = tmp_path / "babi.png"
    assert babi.main(["--plot", str(picture), "--out", str(out)]) == 0
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_babi_bench_paper_figures_match_the_papers_summary_rows() -> None:
    report = bench_module("babi_report")
    for column, mean, failed in (
        (report.PAPER_MEMN2N_JOINT, 12.4, 11),
        (report.PAPER_MEMN2N_PER_TASK, 13.9, 11),
    ):
        assert len(column) == 20 and round(sum(column) / 20, 1) == mean
        assert sum(e > report.FAILED_ABOVE for e in column) == failed


def test_babi_table_puts_the_papers_figures_beside_ours(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    babi = bench_module("babi")
    ours = {str(t): 1.0 for t in range(1, 21)} | {"19": 90.0}
    entry = {"setting": "en", "mean_error": 5.45, "failed_tasks": 1, "per_task": ours}
    joint = bench_module("babi_report").PAPER_MEMN2N_JOINT
    paper = dict(zip(map(str, range(1, 21)), joint, strict=True))
    out = tmp_path / "babi.json"
    out.write_text(json.dumps({"memn2n": {**entry, "paper": {"per_task": paper}}}))
    assert babi.main(["--table", "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "| task | memn2n (en) | paper: memn2n |"
    assert "| 19 | 90.0 | 88.0 |" in lines
    assert lines[-2] == "| mean | 5.5 | 12.4 |" and lines[-1] == "| failed (> 5%) | 1 | 11 |"
    # a second entry with the same paper figures (an ablation) does not repeat the column
    masked = {**entry, "mean_error": 7.0, "paper": {"per_task": paper}}
    out.write_text(
        json.dumps({"memn2n": {**entry, "paper": {"per_task": paper}}, "memn2n_masked": masked})
    )
    assert babi.main(["--table", "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "| task | memn2n (en) | paper: memn2n | memn2n_masked (en) |"
    assert lines[-2] == "| mean | 5.5 | 12.4 | 7.0 |"


def test_longmemeval_bench_scores_every_variant_on_a_fixture(tmp_path: Path) -> None:
    """bench/longmemeval_retrieval.py over the LongMemEval test fixture (fake vectors): every
    variant's figures are recalls, and BM25 reads a has_answer turn first for the puppy question."""
    from agent.eval.longmemeval_data import load_longmemeval
    from agent.text import clean_text
    from tests.fakes import FakeEncoder
    from tests.test_eval_longmemeval import questions

    bench = bench_module("longmemeval_retrieval")
    path = tmp_path / "q.json"
    path.write_text(json.dumps(questions()), encoding="utf-8")
    chosen = [q for q in load_longmemeval(path) if not q.abstention and bench.any_gold(q)]
    assert [q.question_id for q in chosen] == ["q1", "q2", "q3"]
    embed = bench.Embedder(None)
    texts = [t[2] for q in chosen for t in bench.turns_of(q)] + [
        clean_text(q.question) for q in chosen
    ]
    embed.table = dict(zip(texts, FakeEncoder().encode(texts), strict=True))
    feats = [bench.features(q, embed) for q in chosen]
    assert feats[1].discounted.tolist() == [False] * 6  # "did you suggest": the assistant's words
    assert feats[0].discounted.tolist() == [False, True] * 3
    params = bench.HybridParams()
    results = {
        name: bench.summarise(
            [(f.question_type, bench.question_recall(v(f, params), f)) for f in feats]
        )
        for name, (_, v) in bench.VARIANTS.items()
    }
    for by_type in results.values():
        assert by_type["all"]["n"] == 3
        assert all(0.0 <= by_type["all"][k] <= 1.0 for k in ("1", "5", "10", "session_any@5"))
    assert results["bm25"]["single-session-user"]["1"] == 0.5  # 1 of its 2 has_answer turns
    report = bench.markdown(results, {name: kind for name, (kind, _) in bench.VARIANTS.items()})
    assert "+ time prior (b_t=4) = default" in report and "Questions: multi-session 1" in report


def test_postgres_bench_copy_fill_stores_what_the_sqlite_fill_stores(tmp_path: Path) -> None:
    """bench/postgres.py's binary COPY (pgvector's binary form) and turn_overhead's executemany
    give one profile the same cache rows: ids, kinds, key vectors (bit for bit) and terms."""
    from storage import cache_rows
    from tests import postgres

    bench = bench_module("postgres")
    try:
        agents = {
            "sqlite": make_fake_agent(tmp_path / "sqlite"),
            "postgresql": make_fake_agent(tmp_path / "pg", db=postgres.new_database()),
        }
        bench.copy_fill(agents["postgresql"], 30, 64, seed=5)
        bench.turn_overhead.fill(agents["sqlite"], 30, 64, seed=5)
        found = {}
        for engine, agent in agents.items():
            with agent.sessions() as s:
                rows = cache_rows.cache_rows(s, agent.profile_id())
            found[engine] = [(i, kind, key, terms) for i, kind, key, _, terms, *_ in rows]
            bench.close(agent)
        assert len(found["sqlite"]) == 30 and found["postgresql"] == found["sqlite"]
    finally:
        postgres.drop_created()


def test_postgres_summary_has_both_engines_per_size() -> None:
    run = bench_module("run")
    figures = {"cache_load_ms": 80.0, "read_p50_ms": 4.5, "turn_p50_ms": 25.0, "x": 1}
    doc = {
        "sizes": [{"memories": 10000, "sqlite": figures, "postgresql": figures}],
        "ingest": {"sqlite": {"turns_per_s": 200.0}, "postgresql": {"turns_per_s": 100.0}},
        "writers": {e: [{"writers": 2, "turns_per_s": 30.0}] for e in ("sqlite", "postgresql")},
        "hnsw": [
            {
                "keys": "real",
                "memories": 47000,
                "build_s": 27.0,
                "ef_search": {"40": {"p50_ms": 1.8, "recall": 0.99}, "100": {}},
            }
        ],  # fmt: skip
    }
    summary = run.postgres_summary(doc)
    assert summary["sizes"]["10000"]["postgresql"] == {k: figures[k] for k in list(figures)[:3]}
    assert summary["writers_turns_per_s"] == {"sqlite": {"2": 30.0}, "postgresql": {"2": 30.0}}
    assert summary["hnsw"][0]["recall"] == 0.99 and run.postgres_summary(None) is None


def test_import_bench_export_imports_its_current_branches_once(tmp_path: Path) -> None:
    bench = bench_module("import_chats")
    path = tmp_path / "export.zip"
    bench.write_export(path, conversations=3, messages=6)
    agent = make_fake_agent(tmp_path)
    first = bench.timed_import(agent, path)
    assert (first["conversations"], first["turns"]) == (3, 18)  # no system, no regenerated reply
    assert 0 < first["encode_share"] <= 1
    again = bench.timed_import(agent, path)
    assert (again["turns"], again["skipped"]) == (0, 3)
    doc = bench_module("run").import_summary(
        {"export": {"messages": 18}, "first": first, "again": again}
    )
    assert doc["messages"] == 18 and doc["turns_per_s"] == first["turns_per_s"]
