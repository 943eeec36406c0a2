"""Evaluations of the memory (DESIGN section 7): LoCoMo and LongMemEval retrieval and QA.

- `locomo_data`: load and validate a LoCoMo file (dates, evidence ids parsed robustly).
- `scorer`: the official LoCoMo QA scorer (normalised, stemmed token F1 by category).
- `ingest`: write a conversation into a profile through the agent's own write path.
- `locomo`: the run: retrieval methods side by side, recall@k, QA, latency.
- `report`: report.json, report.md and a PNG plot.
- `longmemeval_data`, `longmemeval`, `longmemeval_report`: the same for LongMemEval (.json,
  .json.gz, .json.xz): a fresh profile per question, turn and session recall, NDCG@10.
"""
