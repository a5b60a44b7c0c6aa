//! Native JSONL hot path for oa-supervisor: tail agent session logs, parse every line with strict
//! JSON rules, map records to normalized rows and drop rows already seen.
//!
//! The core (`json`, `common`, `mapper`, `order`, `codex`, `claude`, `usage`, `tail`) is plain Rust and builds without
//! Python; `python` holds the PyO3 bindings (`--features python`), exposed as
//! `oa_actors._oa_native`. `oa_actors/jsonl/_py*.py` is the executable specification.

pub mod claude;
mod claude_tools;
pub mod codex;
pub mod common;
pub mod json;
pub mod mapper;
pub mod order;
pub mod tail;
pub mod usage;
pub mod utf8;

#[cfg(feature = "python")]
mod python;

#[cfg(feature = "python")]
mod pystr;

#[cfg(feature = "python")]
mod alloc;

/// Rust-side allocations of the extension (Python objects keep Python's allocator).
#[cfg(feature = "python")]
#[global_allocator]
static GLOBAL: alloc::Split = alloc::Split;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_escapes;

pub use tail::{Batch, Errors, Tail, TailError, DEFAULT_MAX_LINE, ERROR_KINDS};
