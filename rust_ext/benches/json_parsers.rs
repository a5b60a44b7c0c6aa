//! The JSON parser comparison: the hand-written parser (rust_ext/src/json) against sonic-rs,
//! simd-json and serde_json on the same lines, in MB/s, after a strictness check of each against
//! the contract (serde_json's rules, see strictness.rs).
//!
//! `cargo bench --bench json_parsers` (or `make bench-parsers`, which first generates the corpora).
//! Line sets, each a sample of up to `OA_PARSER_BENCH_MB` MB (default 16):
//! - `heldout`: held-out-style rollouts (benches/heldout.py: long multilingual texts, many escapes),
//!   read from the largest target/bench-heldout/*/;
//! - `mix`: the corpus mix (benches/codex_corpus.py), from the largest target/bench-corpus/*/;
//! - `corpus`: the real Codex lines of tests/data/corpus (always there).
//!
//! Every variant parses every line of a set; "read" means the mapper's fields are also looked up and
//! their strings unescaped (type, timestamp and payload.{type, role, content[].text, summary[].text,
//! call_id, name, arguments, output, input, id, turn_id, message, item}). simd-json parses in place,
//! so its variants include copying each line into a reused buffer (the tail gets borrowed slices).
//! `native_tail_feed_no_python` runs the whole native hot path (Tail::feed) without Python.
//! Build with `RUSTFLAGS="-C target-cpu=native"` to let sonic-rs use AVX2 and PCLMULQDQ (compile time
//! only; simd-json detects the CPU at run time; the hand-written parser uses SSE2).

#[path = "../src/json/fuzz.rs"]
mod fuzz;
mod strictness;

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{Criterion, Throughput};
use oa_native::json::{self, Val};
use serde::de::IgnoredAny;
use simd_json::prelude::*;
use sonic_rs::{JsonValueTrait, LazyValue, PointerTree};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Duration;

const SKIP_TYPES: &[&str] = &["world_state", "token_usage_record"]; // tail.rs NO_ROW_RECORDS
const PAYLOAD_FIELDS: &[&str] = &[
    "type",
    "role",
    "content",
    "summary",
    "call_id",
    "name",
    "arguments",
    "output",
    "input",
    "id",
    "turn_id",
    "message",
    "item",
];

static TREE: LazyLock<PointerTree> = LazyLock::new(|| {
    let mut t = PointerTree::new();
    t.add_path(["type"]);
    t.add_path(["timestamp"]);
    for f in PAYLOAD_FIELDS {
        t.add_path(["payload", f]);
    }
    t
});

// -- reading the mapper's fields ------------------------------------------------------------------
fn read_val(v: &Val<'_>) -> usize {
    match v {
        Val::Str(s) => s.get().len(),
        Val::Arr(items) => {
            items.iter().map(|i| i.g("type").as_str().map_or(0, |s| s.len()) + read_val(i.g("text"))).sum()
        }
        Val::Obj(_) => read_val(v.g("type")) + read_val(v.g("content")),
        _ => 0,
    }
}

fn read_handwritten(v: &Val<'_>) -> usize {
    let p = v.g("payload");
    read_val(v.g("type"))
        + read_val(v.g("timestamp"))
        + PAYLOAD_FIELDS.iter().map(|f| read_val(p.g(f))).sum::<usize>()
}

fn read_lazy(v: &LazyValue<'_>) -> usize {
    if let Some(s) = v.as_str() {
        return s.len();
    }
    if v.is_array() {
        return sonic_rs::to_array_iter(v.as_raw_str())
            .flatten()
            .map(|i| {
                i.get("type").and_then(|t| t.as_str().map(str::len)).unwrap_or(0)
                    + i.get("text").map_or(0, |t| read_lazy(&t))
            })
            .sum();
    }
    if v.is_object() {
        return v.get("type").map_or(0, |t| read_lazy(&t)) + v.get("content").map_or(0, |c| read_lazy(&c));
    }
    0
}

pub fn sonic_get_many(line: &[u8]) -> sonic_rs::Result<usize> {
    Ok(sonic_rs::get_many(line, &TREE)?.iter().flatten().map(read_lazy).sum())
}

pub fn sonic_object_iter(line: &[u8]) -> sonic_rs::Result<usize> {
    let mut n = 0;
    for kv in sonic_rs::to_object_iter(line) {
        let (k, v) = kv?;
        n += k.len() + v.as_raw_str().len();
    }
    Ok(n)
}

/// Validate the whole line, then look the fields up without checking again.
fn sonic_validate_then_get_unchecked(line: &[u8]) -> sonic_rs::Result<usize> {
    sonic_rs::from_slice::<IgnoredAny>(line)?;
    // SAFETY: the line was just validated in full.
    let vals = unsafe { sonic_rs::get_many_unchecked(line, &TREE)? };
    Ok(vals.iter().flatten().map(read_lazy).sum())
}

// -- the variants ---------------------------------------------------------------------------------
type Variant = (&'static str, fn(&[&[u8]]) -> usize);

fn count<E>(lines: &[&[u8]], f: impl Fn(&[u8]) -> Result<usize, E>) -> usize {
    lines.iter().map(|l| f(l).unwrap_or(0)).sum()
}

fn simd_buffers(lines: &[&[u8]], f: impl Fn(&mut [u8], &mut simd_json::Buffers) -> usize) -> usize {
    let mut buf = Vec::new();
    let mut buffers = simd_json::Buffers::with_max_depth(1 << 16, 127);
    lines
        .iter()
        .map(|l| {
            buf.clear();
            buf.extend_from_slice(l);
            f(&mut buf, &mut buffers)
        })
        .sum()
}

const VARIANTS: &[Variant] = &[
    ("std_from_utf8_only", |ls| count(ls, |l| std::str::from_utf8(l).map(str::len))),
    ("simdutf8_only", |ls| count(ls, |l| simdutf8::basic::from_utf8(l).map(str::len))),
    ("handwritten_validate", |ls| count(ls, |l| std::str::from_utf8(l).map(|s| usize::from(json::validate(s))))),
    ("handwritten_parse_record_mapper", |ls| {
        count(ls, |l| {
            json::parse_record_bytes(l, SKIP_TYPES, Some(oa_native::codex::payload_key_read))
                .map(|v| usize::from(v.is_obj()))
        })
    }),
    ("handwritten_parse_record_mapper_read", |ls| {
        count(ls, |l| {
            json::parse_record_bytes(l, SKIP_TYPES, Some(oa_native::codex::payload_key_read))
                .map(|v| read_handwritten(&v))
        })
    }),
    ("handwritten_parse_full_tree", |ls| {
        count(ls, |l| json::parse_record_bytes(l, &[], None).map(|v| usize::from(v.is_obj())))
    }),
    ("serde_json_value", |ls| {
        count(ls, |l| serde_json::from_slice::<serde_json::Value>(l).map(|v| usize::from(v.is_object())))
    }),
    ("serde_json_ignored_any", |ls| count(ls, |l| serde_json::from_slice::<IgnoredAny>(l).map(|_| 1))),
    ("sonic_rs_value", |ls| {
        count(ls, |l| sonic_rs::from_slice::<sonic_rs::Value>(l).map(|v| usize::from(v.is_object())))
    }),
    ("sonic_rs_ignored_any", |ls| count(ls, |l| sonic_rs::from_slice::<IgnoredAny>(l).map(|_| 1))),
    ("sonic_rs_get_many_checked_read", |ls| count(ls, sonic_get_many)),
    ("sonic_rs_validate_then_get_many_unchecked_read", |ls| count(ls, sonic_validate_then_get_unchecked)),
    // SAFETY: (not strict) the lines are valid JSON in this benchmark; an upper bound for lazy look-ups.
    ("sonic_rs_get_many_unchecked_read", |ls| {
        count(ls, |l| {
            unsafe { sonic_rs::get_many_unchecked(l, &TREE) }
                .map(|v| v.iter().flatten().map(read_lazy).sum::<usize>())
        })
    }),
    ("simd_json_borrowed_value", |ls| {
        simd_buffers(ls, |b, bufs| {
            simd_json::to_borrowed_value_with_buffers(b, bufs).map_or(0, |v| usize::from(v.is_object()))
        })
    }),
    ("simd_json_tape", |ls| {
        simd_buffers(ls, |b, bufs| simd_json::to_tape_with_buffers(b, bufs).map_or(0, |t| t.0.len()))
    }),
];

// -- the clock ----------------------------------------------------------------------------------
/// CPU time of the benchmarking thread: other jobs on this shared 2-core machine slow the wall
/// clock, much less the CPU time a pass needs. `OA_BENCH_CLOCK=wall` measures wall time instead.
struct ThreadCpuTime;

fn thread_cpu_now() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid clock id and a pointer to a live timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &raw mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

impl Measurement for ThreadCpuTime {
    type Intermediate = Duration;
    type Value = Duration;
    fn start(&self) -> Duration {
        thread_cpu_now()
    }
    fn end(&self, start: Duration) -> Duration {
        thread_cpu_now().saturating_sub(start)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, v: &Duration) -> f64 {
        v.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        static WALL: WallTime = WallTime;
        WALL.formatter() // nanoseconds either way
    }
}

// -- line sets ------------------------------------------------------------------------------------
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The generated corpus with the most MB under `target/<name>/` (folders end in `-<N>mb`).
fn largest_generated(name: &str) -> Option<PathBuf> {
    let dirs = std::fs::read_dir(root().join("target").join(name)).ok()?;
    dirs.flatten().map(|e| e.path()).filter(|p| p.join("DONE").exists()).max_by_key(|p| {
        p.to_string_lossy().rsplit('-').next().and_then(|s| s.trim_end_matches("mb").parse::<u64>().ok())
    })
}

/// Whole files (path, bytes), in order, until `cap` bytes.
fn sample(files: &[PathBuf], cap: usize) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut total = 0;
    for f in files {
        if total >= cap {
            break;
        }
        let data = std::fs::read(f).unwrap_or_default();
        total += data.len();
        out.push((f.to_string_lossy().into_owned(), data));
    }
    out
}

type Set = (String, Vec<(String, Vec<u8>)>);

fn line_sets() -> Vec<Set> {
    let mb: usize = std::env::var("OA_PARSER_BENCH_MB").ok().and_then(|s| s.parse().ok()).unwrap_or(16);
    let mut sets = Vec::new();
    for (name, dir) in [("heldout", "bench-heldout"), ("mix", "bench-corpus")] {
        match largest_generated(dir) {
            Some(d) => sets.push((name.to_owned(), sample(&fuzz::jsonl_files(&d), mb * 1_000_000))),
            None => {
                eprintln!("no target/{dir}/: run `make bench-parsers` (or the Python benches) to generate it");
            }
        }
    }
    if let Some(dir) = fuzz::corpus_dir() {
        let codex: Vec<PathBuf> =
            ["codex-0.169.0", "codex-0.50.0"].iter().flat_map(|g| fuzz::jsonl_files(&dir.join(g))).collect();
        sets.push(("corpus".to_owned(), sample(&codex, usize::MAX)));
    }
    sets
}

/// The whole native hot path without Python: `Tail::feed` over 1 MiB chunks of each file (parse,
/// map, key, dedupe), rows kept as Rust values. Against `JsonlTail.feed`'s MB/s, the difference is
/// the cost of building the Python rows.
const TAIL_VARIANT: &str = "native_tail_feed_no_python";

fn tail_feed(files: &[(String, Vec<u8>)]) -> usize {
    let mut rows = 0;
    for (path, data) in files {
        let mut t = oa_native::Tail::new(path, oa_native::DEFAULT_MAX_LINE as i64, "codex").expect("a tail");
        for chunk in data.chunks(1 << 20) {
            rows += t.feed(chunk, false).messages.len();
        }
        rows += t.feed(&[], true).messages.len();
    }
    rows
}

/// MB/s of every variant on every set, from criterion's saved estimates (median time per pass).
fn summary(out: &Path, sets: &[(String, u64)]) {
    println!(
        "\nMB/s (decimal) from criterion's median estimates; line sets: {}",
        sets.iter().map(|(n, b)| format!("{n} {:.1} MB", *b as f64 / 1e6)).collect::<Vec<_>>().join(", ")
    );
    print!("{:<50}", "variant");
    for (n, _) in sets {
        print!("{n:>10}");
    }
    println!();
    for name in VARIANTS.iter().map(|(n, _)| *n).chain([TAIL_VARIANT]) {
        print!("{name:<50}");
        for (set, bytes) in sets {
            let est = out.join(set).join(name).join("new").join("estimates.json");
            let ns = std::fs::read(&est)
                .ok()
                .and_then(|d| serde_json::from_slice::<serde_json::Value>(&d).ok())
                .and_then(|v| v["median"]["point_estimate"].as_f64());
            match ns {
                Some(ns) => print!("{:>10.0}", *bytes as f64 / (ns / 1e9) / 1e6),
                None => print!("{:>10}", "-"),
            }
        }
        println!();
    }
}

fn run<M: Measurement + 'static>(c: &mut Criterion<M>, sets: &[Set]) {
    for (name, files) in sets {
        let lines: Vec<&[u8]> =
            files.iter().flat_map(|(_, d)| d.split(|&b| b == b'\n').filter(|l| !l.is_empty())).collect();
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::BytesDecimal(files.iter().map(|(_, d)| d.len() as u64).sum()));
        for (variant, f) in VARIANTS {
            g.bench_function(*variant, |b| b.iter(|| f(black_box(&lines))));
        }
        g.bench_function(TAIL_VARIANT, |b| b.iter(|| tail_feed(black_box(files))));
        g.finish();
    }
    c.final_summary();
}

fn main() {
    strictness::report();
    strictness::python_semantics();
    // next to the build (a CARGO_TARGET_DIR for a target-cpu=native build keeps its own figures)
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from);
    let out = target.join("criterion");
    let sets = line_sets();
    let sizes: Vec<(String, u64)> =
        sets.iter().map(|(n, fs)| (n.clone(), fs.iter().map(|(_, d)| d.len() as u64).sum())).collect();
    let wall = std::env::var("OA_BENCH_CLOCK").is_ok_and(|v| v == "wall");
    println!(
        "\nclock: {}",
        if wall { "wall time" } else { "thread CPU time (OA_BENCH_CLOCK=wall for wall time)" }
    );
    let base = Criterion::default()
        .output_directory(&out)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    if wall {
        run(&mut base.configure_from_args(), &sets);
    } else {
        run(&mut base.with_measurement(ThreadCpuTime).configure_from_args(), &sets);
    }
    summary(&out, &sizes);
}
