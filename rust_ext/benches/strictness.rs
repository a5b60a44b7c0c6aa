//! Strictness of each parser against the project's contract (serde_json's rules: what serde_json
//! rejects must be rejected; what it accepts must give the same values): a differential run over
//! the corpus lines, edge cases, seeded mutations of corpus lines and seeded generated documents.

use crate::fuzz::{corpus_lines, edge_cases, generated, mutations, Rng};
use oa_native::json::{self, Val};
use serde_json::{Number, Value};
use simd_json::prelude::*;

/// What a candidate made of a document: rejected it, or accepted it (with its value in serde_json
/// terms where the candidate builds one).
pub enum Outcome {
    Reject,
    Accept(Option<Value>),
}

pub struct Candidate {
    pub name: &'static str,
    pub run: fn(&[u8]) -> Outcome,
}

fn accept<T, E>(r: Result<T, E>, value: impl FnOnce(T) -> Option<Value>) -> Outcome {
    match r {
        Ok(v) => Outcome::Accept(value(v)),
        Err(_) => Outcome::Reject,
    }
}

/// The hand-written parser's value in serde_json terms (integers beyond u64 as f64, as serde_json
/// reads them; duplicate keys last-wins).
fn val_to_json(v: &Val<'_>) -> Value {
    match v {
        Val::Null | Val::Skipped => Value::Null,
        Val::Bool(b) => Value::Bool(*b),
        Val::Int(i) => Value::Number((*i).into()),
        Val::UInt(u) => Value::Number((*u).into()),
        Val::BigInt(t) => Number::from_f64(t.parse().unwrap_or(f64::NAN)).map_or(Value::Null, Value::Number),
        Val::Float(f) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
        Val::Str(s) => Value::String(s.get().into_owned()),
        Val::Arr(a) => Value::Array(a.iter().map(val_to_json).collect()),
        Val::Obj(m) => Value::Object(m.iter().map(|(k, v)| (k.get().into_owned(), val_to_json(v))).collect()),
    }
}

/// Re-read a library's own serialization of its value with serde_json.
#[allow(clippy::unnecessary_wraps)] // the shape every candidate's conversion returns
fn reread(text: &str) -> Option<Value> {
    Some(serde_json::from_str(text).unwrap_or(Value::String(format!("<unreadable: {text}>"))))
}

const SKIP_TYPES: &[&str] = &["world_state", "token_usage_record"]; // tail.rs NO_ROW_RECORDS

pub fn candidates() -> Vec<Candidate> {
    vec![
        Candidate {
            name: "serde_json from_slice::<Value> (the reference)",
            run: |d| accept(serde_json::from_slice::<Value>(d), Some),
        },
        Candidate {
            name: "hand-written parse_record_bytes (full tree)",
            run: |d| accept(json::parse_record_bytes(d, &[], None), |v| Some(val_to_json(&v))),
        },
        Candidate {
            name: "hand-written parse_record_bytes (as the mapper calls it)",
            run: |d| {
                accept(
                    json::parse_record_bytes(d, SKIP_TYPES, Some(oa_native::codex::payload_key_read)),
                    |_| None,
                )
            },
        },
        Candidate {
            name: "sonic-rs from_slice::<Value>",
            run: |d| {
                accept(sonic_rs::from_slice::<sonic_rs::Value>(d), |v| {
                    reread(&sonic_rs::to_string(&v).unwrap_or_default())
                })
            },
        },
        Candidate {
            name: "sonic-rs from_slice::<IgnoredAny> (validate)",
            run: |d| accept(sonic_rs::from_slice::<serde::de::IgnoredAny>(d), |_| None),
        },
        Candidate {
            name: "sonic-rs get_many (checked, the mapper's fields)",
            run: |d| accept(crate::sonic_get_many(d), |_| None),
        },
        Candidate {
            name: "sonic-rs to_object_iter (checked, every member)",
            run: |d| accept(crate::sonic_object_iter(d), |_| None),
        },
        Candidate {
            name: "simd-json to_borrowed_value (default max_depth 1024)",
            run: |d| accept(simd_json::to_borrowed_value(&mut d.to_vec()), |v| reread(&v.encode())),
        },
        Candidate {
            name: "simd-json to_borrowed_value_with_buffers (max_depth 127)",
            run: |d| {
                let mut b = simd_json::Buffers::with_max_depth(d.len(), 127);
                accept(simd_json::to_borrowed_value_with_buffers(&mut d.to_vec(), &mut b), |v| {
                    reread(&v.encode())
                })
            },
        },
        Candidate {
            name: "simd-json to_tape_with_buffers (max_depth 127)",
            run: |d| {
                let mut b = simd_json::Buffers::with_max_depth(d.len(), 127);
                accept(simd_json::to_tape_with_buffers(&mut d.to_vec(), &mut b), |_| None)
            },
        },
    ]
}

/// Same value, except the integer literal `-0`: Python (the twin's semantics) and the hand-written
/// parser read the int 0, serde_json the float -0.0.
fn same(a: &Value, b: &Value) -> bool {
    let int_zero = |n: &Number| !n.is_f64() && n.as_i64() == Some(0);
    let neg_zero = |n: &Number| n.as_f64().is_some_and(|f| n.is_f64() && f == 0.0 && f.is_sign_negative());
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y || (int_zero(x) && neg_zero(y)) || (neg_zero(x) && int_zero(y))
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

#[derive(Default)]
struct Tally {
    accepted_invalid: usize,
    rejected_valid: usize,
    wrong_value: usize,
    examples: Vec<String>,
}

fn show(doc: &[u8]) -> String {
    let s = String::from_utf8_lossy(doc);
    let cut: String = s.chars().take(90).collect();
    if cut.len() < s.len() {
        format!("{cut:?}…")
    } else {
        format!("{cut:?}")
    }
}

/// Run every candidate over the differential set and print who meets the contract.
pub fn report() {
    let lines = corpus_lines();
    let mut docs: Vec<(&str, Vec<u8>)> = lines.iter().map(|l| ("corpus", l.clone())).collect();
    docs.extend(edge_cases().into_iter().map(|d| ("edge", d)));
    docs.extend(
        mutations(&lines, &mut Rng(0x9e37_79b9_7f4a_7c15), 20_000).into_iter().map(|d| ("mutated", d)),
    );
    docs.extend(generated(&mut Rng(0x2545_f491_4f6c_dd1d), 20_000).into_iter().map(|d| ("generated", d)));
    let reference: Vec<Option<Value>> = docs.iter().map(|(_, d)| serde_json::from_slice(d).ok()).collect();
    let valid = reference.iter().filter(|r| r.is_some()).count();
    println!(
        "\nStrictness vs serde_json (the contract) on {} documents ({} valid, {} invalid): {} corpus lines, \
         edge cases, 20000 mutated corpus lines, 20000 generated",
        docs.len(),
        valid,
        docs.len() - valid,
        lines.len()
    );
    println!("{:<60} {:>9} {:>9} {:>9}  verdict", "candidate", "acc.inv.", "rej.valid", "bad value");
    for c in candidates() {
        let mut t = Tally::default();
        for ((kind, doc), want) in docs.iter().zip(&reference) {
            let bad = match ((c.run)(doc), want) {
                (Outcome::Reject, None) | (Outcome::Accept(None), Some(_)) => None,
                (Outcome::Accept(Some(got)), Some(want)) if same(&got, want) => None,
                (Outcome::Accept(Some(got)), Some(_)) => {
                    t.wrong_value += 1;
                    Some(format!("wrong value {}", show(got.to_string().as_bytes())))
                }
                (Outcome::Accept(_), None) => {
                    t.accepted_invalid += 1;
                    Some("accepted (serde_json rejects)".to_owned())
                }
                (Outcome::Reject, Some(_)) => {
                    t.rejected_valid += 1;
                    Some("rejected (serde_json accepts)".to_owned())
                }
            };
            if let Some(why) = bad {
                if t.examples.len() < 4 && !t.examples.iter().any(|e| e.starts_with(&why))
                    || t.examples.len() < 2
                {
                    t.examples.push(format!("{why}: [{kind}] {}", show(doc)));
                }
            }
        }
        let ok = t.accepted_invalid == 0 && t.rejected_valid == 0 && t.wrong_value == 0;
        println!(
            "{:<60} {:>9} {:>9} {:>9}  {}",
            c.name,
            t.accepted_invalid,
            t.rejected_valid,
            t.wrong_value,
            if ok { "meets the contract" } else { "FAILS the contract" }
        );
        for e in &t.examples {
            println!("      e.g. {e}");
        }
    }
}

/// What the value builders make of the literals where Python's json (the twin's semantics, which
/// the rows must match) differs from serde_json: `-0` is the int 0 and big integers stay exact.
pub fn python_semantics() {
    const DOCS: &[&str] = &["-0", "123456789012345678901234567890", "{\"a\":1,\"a\":2}"];
    println!(
        "\nValues where Python's json differs from serde_json \
         (Python: 0, 123456789012345678901234567890, {{\"a\": 2}}):"
    );
    let show_hand = |d: &str| json::parse(d).map_or("rejected".to_owned(), |v| format!("{v:?}"));
    println!(
        "  {:<58} {}",
        "hand-written json::parse",
        DOCS.iter().map(|d| show_hand(d)).collect::<Vec<_>>().join(" | ")
    );
    'candidates: for c in candidates() {
        let mut cells = Vec::new();
        for d in DOCS {
            cells.push(match (c.run)(d.as_bytes()) {
                Outcome::Reject => "rejected".to_owned(),
                Outcome::Accept(None) => continue 'candidates, // validates only
                Outcome::Accept(Some(v)) => v.to_string(),
            });
        }
        println!("  {:<58} {}", c.name, cells.join(" | "));
    }
}
