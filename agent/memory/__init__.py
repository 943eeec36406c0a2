"""Memory math: attention read, multi-hop, usage; the per-profile key cache."""
