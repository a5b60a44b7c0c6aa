//! Native JSONL hot path for oa-supervisor (placeholder; filled in by the foundation work).
