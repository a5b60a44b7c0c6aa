//! Differential tests of the parser against serde_json: the same documents must be accepted and
//! rejected, and where both accept, the VALUES must be the same (strings unescaped, numbers of the
//! same kind and bits, duplicate keys last-wins, nothing dropped or added). Inputs: the corpus
//! lines, edge cases, seeded mutations of corpus lines and seeded generated documents (`fuzz`).

use super::fuzz::{corpus_lines, edge_cases, generated, mutations, Rng};
use super::{parse, parse_record_bytes, validate, JStr, Val};
use serde_json::Value;
use std::collections::BTreeMap;

/// What the mapper passes (tail.rs): record types whose payload is only validated, and the payload
/// keys it reads.
const SKIP_TYPES: &[&str] = &["world_state", "token_usage_record"];

fn key(k: &JStr<'_>) -> String {
    k.get().into_owned()
}

/// Why `ours` is not `theirs` (None when they are the same value). `Skipped` (a validated member the
/// mapper never reads) matches any value.
fn diff(ours: &Val<'_>, theirs: &Value, path: &str) -> Option<String> {
    let same = match (ours, theirs) {
        (Val::Skipped, _) => true,
        (Val::Null, Value::Null) => true,
        (Val::Bool(a), Value::Bool(b)) => a == b,
        // the integer literal `-0`: Python's json (the twin's semantics) reads the int 0, serde_json
        // the float -0.0
        (Val::Int(0), Value::Number(n)) if n.is_f64() => {
            n.as_f64().map(f64::to_bits) == Some((-0.0f64).to_bits())
        }
        (Val::Int(a), Value::Number(n)) => !n.is_f64() && n.as_i64() == Some(*a),
        (Val::UInt(a), Value::Number(n)) => !n.is_f64() && n.as_u64() == Some(*a),
        // serde_json (without arbitrary_precision) reads integers beyond u64 as the nearest f64
        (Val::BigInt(t), Value::Number(n)) => {
            n.as_f64().map(f64::to_bits) == t.parse::<f64>().ok().map(f64::to_bits)
        }
        (Val::Float(a), Value::Number(n)) => n.is_f64() && n.as_f64().map(f64::to_bits) == Some(a.to_bits()),
        (Val::Str(a), Value::String(b)) => a.get() == b.as_str(),
        (Val::Arr(a), Value::Array(b)) => {
            if a.len() != b.len() {
                return Some(format!("{path}: {} items vs {}", a.len(), b.len()));
            }
            return a.iter().zip(b).enumerate().find_map(|(i, (x, y))| diff(x, y, &format!("{path}[{i}]")));
        }
        (Val::Obj(members), Value::Object(b)) => {
            let last: BTreeMap<String, &Val<'_>> = members.iter().map(|(k, v)| (key(k), v)).collect();
            if last.len() != b.len() || !last.keys().eq(b.keys()) {
                return Some(format!("{path}: keys {:?} vs {:?}", last.keys().collect::<Vec<_>>(), b.keys()));
            }
            return last.iter().find_map(|(k, v)| diff(v, &b[k.as_str()], &format!("{path}.{k}")));
        }
        _ => false,
    };
    (!same).then(|| format!("{path}: {ours:?} vs {theirs}"))
}

fn show(doc: &[u8]) -> String {
    let s = String::from_utf8_lossy(doc);
    if s.len() > 300 {
        format!("{}… ({} bytes)", &s[..s.floor_char_boundary(300)], doc.len())
    } else {
        s.into_owned()
    }
}

/// Every entry point agrees with serde_json on `doc`: validity, and the value where it is valid.
fn check(doc: &[u8], stats: &mut [usize; 2]) {
    let theirs = serde_json::from_slice::<Value>(doc);
    stats[usize::from(theirs.is_ok())] += 1;
    let ours = parse_record_bytes(doc, &[], None);
    assert_eq!(ours.is_ok(), theirs.is_ok(), "parse_record_bytes validity differs for {}", show(doc));
    if let (Ok(o), Ok(t)) = (&ours, &theirs) {
        if let Some(d) = diff(o, t, "$") {
            panic!("parse_record_bytes value differs: {d}\n  in {}", show(doc));
        }
    }
    if let Ok(text) = std::str::from_utf8(doc) {
        let full = parse(text);
        assert_eq!(full.is_ok(), theirs.is_ok(), "parse validity differs for {}", show(doc));
        assert_eq!(validate(text), theirs.is_ok(), "validate differs for {}", show(doc));
        if let (Ok(o), Ok(t)) = (&full, &theirs) {
            if let Some(d) = diff(o, t, "$") {
                panic!("parse value differs: {d}\n  in {}", show(doc));
            }
        }
    }
    // as the mapper calls it: unread payloads and members are validated only
    let mapped = parse_record_bytes(doc, SKIP_TYPES, Some(crate::codex::payload_key_read));
    assert_eq!(
        mapped.is_ok(),
        theirs.is_ok(),
        "mapper's parse_record_bytes validity differs for {}",
        show(doc)
    );
    if let (Ok(o), Ok(t)) = (&mapped, &theirs) {
        if let Some(d) = diff(o, t, "$") {
            panic!("mapper's parse_record_bytes value differs: {d}\n  in {}", show(doc));
        }
    }
}

#[test]
fn values_match_serde_json_on_edge_cases() {
    let mut stats = [0; 2];
    for doc in edge_cases() {
        check(&doc, &mut stats);
    }
    assert!(stats[0] > 50 && stats[1] > 40, "both sides exercised: {stats:?} (invalid, valid)");
}

#[test]
fn values_match_serde_json_on_the_corpus() {
    let lines = corpus_lines();
    if lines.is_empty() {
        eprintln!("SKIP: corpus not found (tests/data/corpus or ../shared/corpus)");
        return;
    }
    let mut stats = [0; 2];
    for l in &lines {
        check(l, &mut stats);
    }
    assert_eq!(stats[0], 0, "every corpus line is valid JSON");
    assert!(stats[1] > 1000);
}

#[test]
fn values_match_serde_json_on_mutated_corpus_lines() {
    let lines = corpus_lines();
    if lines.is_empty() {
        eprintln!("SKIP: corpus not found (tests/data/corpus or ../shared/corpus)");
        return;
    }
    let mut stats = [0; 2];
    for doc in mutations(&lines, &mut Rng(0x9e37_79b9_7f4a_7c15), 6000) {
        check(&doc, &mut stats);
    }
    assert!(stats[0] > 2000 && stats[1] > 300, "both sides exercised: {stats:?} (invalid, valid)");
}

#[test]
fn values_match_serde_json_on_generated_documents() {
    let mut stats = [0; 2];
    for doc in generated(&mut Rng(0x2545_f491_4f6c_dd1d), 5000) {
        check(&doc, &mut stats);
    }
    assert!(stats[0] > 250 && stats[1] > 2500, "both sides exercised: {stats:?} (invalid, valid)");
}
