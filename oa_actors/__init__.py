"""oa-supervisor: a multiprocess actor system that mirrors coding-agent sessions live.

Subpackages: `jsonl` (the hot path: tail, parse, deduplicate session logs; native or pure Python),
`runtime` (supervisor, message bus, codec), `actors` (the actor processes), `store` (local SQLite).
"""

__version__ = "0.1.0"
