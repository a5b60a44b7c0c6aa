//! Unit tests of the core (no Python): `cargo test`.

use crate::common::{self, hex, make_title, parse_tool_output_str, parse_ts_chars, row_key};
use crate::json::{self, Val};
use crate::tail::{Tail, DEFAULT_MAX_LINE};
use std::borrow::Cow;
use std::path::PathBuf;

// -- tiny deterministic RNG (no dependency) ---------------------------------------------------
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn corpus_dir() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    [root.join("tests/data/corpus"), root.join("../shared/corpus")].into_iter().find(|p| p.join("codex-0.169.0").is_dir())
}

fn corpus_files() -> Vec<PathBuf> {
    let Some(dir) = corpus_dir() else { return Vec::new() };
    let mut out = Vec::new();
    let mut stack = vec![dir.join("codex-0.169.0"), dir.join("codex-0.50.0")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "jsonl") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Feed `data` in the given split points, returning (all rows, final offset, errors).
fn feed_split(path: &str, data: &[u8], splits: &[usize], max: i64) -> (Vec<crate::mapper::Row>, u64, crate::Errors, Tail) {
    let mut t = Tail::new(path, max, "codex").unwrap();
    let mut rows = Vec::new();
    let mut errs = crate::Errors::default();
    let mut pos = 0;
    let mut points: Vec<usize> = splits.to_vec();
    points.push(data.len());
    for (i, &s) in points.iter().enumerate() {
        let b = t.feed(&data[pos..s], i + 1 == points.len());
        assert!(t.buffered() as i64 <= max, "buffer exceeds max_line_bytes");
        rows.extend(b.messages);
        for k in 0..4 {
            errs.0[k] += b.errors.0[k];
        }
        pos = s;
    }
    (rows, t.offset(), errs, t)
}

/// The rows without the `system/usage` rows (token counts, tested in `usage_rows_*`): the
/// conversation the scenario tests describe.
fn conversation(rows: Vec<crate::mapper::Row>) -> Vec<crate::mapper::Row> {
    rows.into_iter().filter(|r| r.kind != "usage").collect()
}

// -- JSON ---------------------------------------------------------------------------------------
fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

#[test]
fn serde_json_depth_limit() {
    // serde_json: 127 nested containers parse, 128 fail ("recursion limit exceeded").
    assert!(serde_json::from_str::<serde_json::Value>(&nested(127)).is_ok());
    assert!(serde_json::from_str::<serde_json::Value>(&nested(128)).is_err());
    let obj = |d: usize| format!("{}1{}", "{\"a\":".repeat(d), "}".repeat(d));
    assert!(serde_json::from_str::<serde_json::Value>(&obj(127)).is_ok());
    assert!(serde_json::from_str::<serde_json::Value>(&obj(128)).is_err());
    // ours agrees
    assert!(json::validate(&nested(127)));
    assert!(!json::validate(&nested(128)));
    assert!(json::validate(&obj(127)));
    assert!(!json::validate(&obj(128)));
    assert_eq!(json::MAX_DEPTH, 127);
}

fn agrees(doc: &str) {
    let serde_ok = serde_json::from_str::<serde_json::Value>(doc).is_ok();
    assert_eq!(json::validate(doc), serde_ok, "validity differs from serde_json for {doc:?}");
    assert_eq!(json::parse(doc).is_ok(), serde_ok, "parse validity differs from serde_json for {doc:?}");
    let filter = Some(crate::codex::payload_key_read as fn(&str) -> bool);
    assert_eq!(json::parse_record(doc, &["world_state"], filter).is_ok(), serde_ok, "parse_record differs for {doc:?}");
    // the same document where it is skipped (an unread payload member, a skipped payload) or built
    for ty in ["world_state", "event_msg"] {
        for key in ["zz", "type", "info"] {
            let wrapped = format!("{{\"type\":\"{ty}\",\"payload\":{{\"{key}\":{doc}}}}}");
            let serde_ok = serde_json::from_str::<serde_json::Value>(&wrapped).is_ok();
            assert_eq!(json::parse_record(&wrapped, &["world_state"], filter).is_ok(), serde_ok, "differs for {wrapped:?}");
        }
    }
}


#[test]
fn strict_json_matches_serde_json() {
    for doc in [
        "{}", "[]", "1", "-0", "-0.0", "1e5", "1E+5", "1.5e-3", "01", "1.", ".5", "-", "+1", "NaN", "Infinity", "-Infinity",
        "nan", "true", "tru", "null", "\"a\"", "\"\\u00e9\"", "\"\\ud83d\\ude00\"", "\"\\ud83d\"", "\"\\ude00\"",
        "\"\\ud83d\\u0041\"", "\"\\ud83dx\"", "\"\\x\"", "\"\\u12\"", "\"a\tb\"", "\"a\u{7f}b\"", "\"\u{2028}\"",
        "{\"a\":1,\"a\":2}", "{\"a\" : [1 , 2 ] }", " {} ", "{} x", "{,}", "[1,]", "{\"a\":1,}", "[1 2]", "{\"a\"}",
        "{1:2}", "\"\\/\"", "1e400", "-1e400", "1e-400", "18446744073709551615", "18446744073709551616",
        "-9223372036854775808", "-9223372036854775809", "123456789012345678901234567890", "\u{feff}{}", "{}\n", "\t[]\r",
        "\"abc", "[", "{\"a\":", "[1e]", "[1e+]", "[-01]", "[0.1e1]",
    ] {
        agrees(doc);
    }
    // random mutations of real corpus lines
    let mut rng = Rng(0x9e3779b97f4a7c15);
    let files = corpus_files();
    let mut checked = 0;
    for f in files.iter().take(12) {
        let data = std::fs::read(f).unwrap();
        for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()).take(8) {
            for _ in 0..40 {
                let mut l = line.to_vec();
                let i = rng.below(l.len());
                let choices = b"{}[]\",:\\u0123456789eE.-+ \tntfa\x01";
                match rng.below(3) {
                    0 => l[i] = choices[rng.below(choices.len())],
                    1 => {
                        l.remove(i);
                    }
                    _ => l.insert(i, choices[rng.below(choices.len())]),
                }
                if let Ok(s) = std::str::from_utf8(&l) {
                    agrees(s);
                    checked += 1;
                }
            }
        }
    }
    if files.is_empty() {
        eprintln!("SKIP mutation part: corpus not found (tests/data/corpus or ../shared/corpus)");
    } else {
        assert!(checked > 1000);
    }
}

#[test]
fn duplicate_keys_last_wins_and_values() {
    let v = json::parse(r#"{"id":"item_0","type":"web_search","id":"ws_1","n":-5,"u":18446744073709551615,"f":1.5,"s":"a\nb\u00e9\ud83d\ude00"}"#).unwrap();
    assert_eq!(v.g("id").as_str().as_deref(), Some("ws_1"));
    assert_eq!(v.g("n").as_int(), Some(-5));
    assert_eq!(v.g("u"), &Val::UInt(u64::MAX));
    assert_eq!(v.g("u").as_int(), None);
    assert_eq!(v.g("f"), &Val::Float(1.5));
    assert_eq!(v.g("s").as_str().as_deref(), Some("a\nbé😀"));
    assert!(v.g("missing").is_null());
}

#[test]
fn python_float_repr_and_dumps() {
    for (f, s) in [
        (1.5, "1.5"), (1e16, "1e+16"), (1e15, "1000000000000000.0"), (0.0001, "0.0001"), (0.00001, "1e-05"),
        (-2.5e-7, "-2.5e-07"), (123.0, "123.0"), (0.1, "0.1"), (1.2345678901234567e300, "1.2345678901234567e+300"),
    ] {
        assert_eq!(json::py_float_repr(f), s);
    }
    let v = json::parse(r#"{"b":[1,{"z":null,"a":"x\u0001\"é"}],"a":true,"b2":2.0}"#).unwrap();
    assert_eq!(crate::mapper::dumps(&v), r#"{"a":true,"b":[1,{"a":"x\u0001\"é","z":null}],"b2":2.0}"#);
    assert_eq!(json::py_repr(&json::parse(r#"{"a":[1,null,true,"it's"]}"#).unwrap()), r#"{'a': [1, None, True, "it's"]}"#);
}

// -- helpers ------------------------------------------------------------------------------------
#[test]
fn key_stability() {
    // values from Python: hashlib.blake2b(b"a\x1fb\x1f0", digest_size=16).hexdigest()
    assert_eq!(hex(&row_key(b"a\x1fb", 0)), "0c3c4ca3ba8a8c414efbde8b45975192");
    assert_eq!(hex(&row_key(b"a\x1fb", 7)), "2d0dca402267bf2483f996fc75db021c");
    assert_eq!(common::unhex("0c3c4ca3ba8a8c414efbde8b45975192"), Some(row_key(b"a\x1fb", 0)));
    assert_eq!(common::unhex("0C3C4CA3BA8A8C414EFBDE8B45975192"), None);
}

#[test]
fn timestamps() {
    let ts = |s: &str| common::parse_ts(&Val::str(s.to_owned()));
    assert_eq!(ts("2026-11-22T01:55:52.944Z"), Some(1795312552944));
    assert_eq!(ts("2026-11-22T01:55:52+02:30"), Some(1795303552000));
    assert_eq!(ts("1969-12-31T23:59:59.9999Z"), Some(-1));
    assert_eq!(ts("2026-11-22 01:55:52.5z"), Some(1795312552500));
    assert_eq!(ts("2026-11-22T01:55:52.Z"), None);
    assert_eq!(ts("2026-13-22T01:55:52Z"), None);
    assert_eq!(ts("2026-11-22T01:55:52"), None);
    assert_eq!(ts("2026-11-22T01:55:52+0230"), None);
    assert_eq!(ts("2026-11-22T01:55:52.123456789Z"), Some(1795312552123));
    assert_eq!(ts("2026-11-22T01:55:52Zé"), None);
    assert_eq!(common::parse_ts(&Val::Int(5)), None);
    let chars: Vec<char> = "2026-11-22T01:55:52.1é".chars().collect();
    assert_eq!(parse_ts_chars(&chars), None);
}

#[test]
fn tool_output_prose() {
    let o = parse_tool_output_str(Cow::Borrowed(
        "Chunk ID: 1\nWall time: 0.0612 seconds\nProcess exited with code 3\nOriginal token count: 5\nOutput:\nhello\n",
    ));
    assert_eq!((o.body.as_ref().map(|b| b.text().into_owned()).as_deref(), o.exit_code, o.duration), (Some("hello\n"), Some(3), Some(61)));
    let o = parse_tool_output_str(Cow::Borrowed(r#"{"output":"hi","metadata":{"exit_code":0,"duration_seconds":1.2345}}"#));
    assert_eq!((o.body.as_ref().map(|b| b.text().into_owned()).as_deref(), o.exit_code, o.duration), (Some("hi"), Some(0), Some(1235)));
    let o = parse_tool_output_str(Cow::Borrowed("Output:\nbody"));
    assert_eq!((o.body.as_ref().map(|b| b.text().into_owned()).as_deref(), o.exit_code, o.duration), (Some("body"), None, None));
    let o = parse_tool_output_str(Cow::Borrowed("Exit code: -2\nWall time: 5. seconds\nOutput:\n"));
    assert_eq!((o.body.as_ref().map(|b| b.text().into_owned()).as_deref(), o.exit_code, o.duration), (Some(""), Some(-2), Some(5000)));
    let o = parse_tool_output_str(Cow::Borrowed("Exit code: x\nWall time: 1.2.3 seconds\nOutput:\nz"));
    assert_eq!((o.exit_code, o.duration), (None, None));
    let o = parse_tool_output_str(Cow::Borrowed("{not json"));
    assert_eq!((o.body.as_ref().map(|b| b.text().into_owned()).as_deref(), o.exit_code), (Some("{not json"), None));
    let o = parse_tool_output_str(Cow::Borrowed("plain"));
    assert_eq!(o.body.as_ref().map(|b| b.text().into_owned()).as_deref(), Some("plain"));
}

#[test]
fn titles_and_excerpts() {
    assert_eq!(make_title("  hello \t\n  world  "), Some("hello world".into()));
    assert_eq!(make_title(" \n\t "), None);
    let long = "  hello \t\n  world  ".repeat(20);
    assert_eq!(
        make_title(&long).as_deref(),
        Some("hello world hello world hello world hello world hello world hello world hello wo…")
    );
    assert_eq!(make_title(&"é".repeat(80)).unwrap().chars().count(), 80);
    assert_eq!(make_title(&"é".repeat(81)).unwrap().chars().count(), 81);
    assert_eq!(common::excerpt(&"ü".repeat(2000)).chars().count(), 2000);
    assert_eq!(common::excerpt(&"ü".repeat(2001)).chars().count(), 2001);
    assert!(common::excerpt(&"ü".repeat(2001)).ends_with("ü…"));
    assert_eq!(common::uuid_from_path("/x/rollout-2026-01a200f7-8595-7B83-84f9-db69163a8ecd.jsonl").as_deref(), Some("01a200f7-8595-7b83-84f9-db69163a8ecd"));
    assert_eq!(common::uuid_from_path("/x/exec.jsonl"), None);
}

// -- tail ---------------------------------------------------------------------------------------
const EXEC: &str = concat!(
    "{\"type\":\"thread.started\",\"thread_id\":\"t-1\"}\n",
    "{\"type\":\"turn.started\"}\n",
    "{\"type\":\"item.completed\",\"item\":{\"id\":\"item_0\",\"type\":\"agent_message\",\"text\":\"a\u{2028}b\u{2029}c\"}}\n",
    "{\"type\":\"item.completed\",\"item\":{\"id\":\"item_1\",\"type\":\"reasoning\",\"text\":\"r\"}}\n",
    "{\"type\":\"turn.completed\",\"usage\":{\"input_tokens\":5}}\n",
);

#[test]
fn u2028_inside_strings_is_not_a_line_break() {
    let (rows, off, errs, t) = feed_split("/tmp/x.jsonl", EXEC.as_bytes(), &[], DEFAULT_MAX_LINE as i64);
    assert_eq!(rows.iter().filter(|r| r.kind == "usage").count(), 1); // turn.completed's 5 tokens
    let rows = conversation(rows);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].text.as_deref(), Some("a\u{2028}b\u{2029}c"));
    assert_eq!(off as usize, EXEC.len());
    assert_eq!(errs.0, [0, 0, 0, 0]);
    assert_eq!(t.thread_id(), Some("t-1"));
    assert_eq!(t.format(), Some("exec"));
}

#[test]
fn partial_lines_wait_for_more() {
    let mut t = Tail::new("/tmp/x.jsonl", DEFAULT_MAX_LINE as i64, "codex").unwrap();
    let data = EXEC.as_bytes();
    let cut = EXEC.find("\"text\":\"r\"").unwrap();
    let b = t.feed(&data[..cut], false);
    assert_eq!(b.messages.len(), 1);
    assert_eq!(b.offset as usize, EXEC[..cut].rfind('\n').unwrap() + 1);
    assert_eq!(b.position as usize, cut);
    let b = t.feed(&data[cut..data.len() - 1], false); // last line without its newline
    assert_eq!(b.messages.len(), 1);
    let b = t.feed(b"", true);
    assert_eq!(b.offset as usize, data.len() - 1);
    assert_eq!(b.threads.len(), 1);
    assert_eq!(b.threads[0].usage.as_ref().unwrap().input, Some(5));
}

#[test]
fn invalid_lines_are_counted() {
    let mut data = Vec::new();
    data.extend_from_slice(b"{\"type\":\"thread.started\",\"thread_id\":\"t\"}\r\n");
    data.extend_from_slice(b"\xff\xfe{}\n"); // invalid UTF-8
    data.extend_from_slice(b"{\"a\":NaN}\n"); // invalid JSON
    data.extend_from_slice(b"[1,2]\n"); // not an object
    data.extend_from_slice(b"\"\\ud800\"\n"); // lone surrogate
    data.extend_from_slice(b"{\"type\":\"mystery\"}\n"); // unknown
    data.extend_from_slice(b"   \r\n\n"); // blank: ignored
    let (rows, off, errs, _) = feed_split("/tmp/x.jsonl", &data, &[], DEFAULT_MAX_LINE as i64);
    assert!(rows.is_empty());
    assert_eq!(off as usize, data.len());
    assert_eq!(errs.0, [3, 1, 0, 1]);
}

#[test]
fn oversized_lines_bounded_memory() {
    let big = format!("{{\"type\":\"item.completed\",\"item\":{{\"id\":\"x\",\"type\":\"agent_message\",\"text\":\"{}\"}}}}\n", "z".repeat(5000));
    let mut data = EXEC.as_bytes().to_vec();
    data.extend_from_slice(big.as_bytes());
    data.extend_from_slice(b"{\"type\":\"turn.started\"}\n");
    data.extend_from_slice(big.trim_end().as_bytes()); // oversized, unterminated, at EOF
    let mut rng = Rng(7);
    for _ in 0..50 {
        let mut splits: Vec<usize> = (0..rng.below(20)).map(|_| rng.below(data.len())).collect();
        splits.sort_unstable();
        let (rows, off, errs, _) = feed_split("/tmp/x.jsonl", &data, &splits, 1000);
        assert_eq!(conversation(rows).len(), 2);
        assert_eq!(off as usize, data.len());
        assert_eq!(errs.0, [0, 0, 2, 0]);
    }
}

#[test]
fn random_chunking_matches_one_shot() {
    let files = corpus_files();
    if files.is_empty() {
        eprintln!("SKIP random_chunking_matches_one_shot: corpus not found (tests/data/corpus or ../shared/corpus)");
        return;
    }
    let mut rng = Rng(42);
    for f in &files {
        let data = std::fs::read(f).unwrap();
        let p = f.to_string_lossy().to_string();
        let (whole, off, errs, t0) = feed_split(&p, &data, &[], DEFAULT_MAX_LINE as i64);
        for _ in 0..4 {
            let mut splits: Vec<usize> = (0..rng.below(30)).map(|_| rng.below(data.len() + 1)).collect();
            splits.sort_unstable();
            let (rows, off2, errs2, t) = feed_split(&p, &data, &splits, DEFAULT_MAX_LINE as i64);
            assert_eq!(rows, whole, "{p}");
            assert_eq!((off2, errs2), (off, errs));
            assert_eq!(t.snapshot(), t0.snapshot());
        }
        // snapshot/restore mid-way gives the same rows
        let mid = data.len() / 2;
        let mut t = Tail::new(&p, DEFAULT_MAX_LINE as i64, "codex").unwrap();
        let mut rows = t.feed(&data[..mid], false).messages;
        let mut r = Tail::restore(&t.snapshot()).unwrap();
        assert_eq!(r.snapshot(), t.snapshot());
        rows.extend(r.feed(&data[r.offset() as usize..], true).messages);
        assert_eq!(rows, whole, "{p}");
    }
}

#[test]
fn truncation_and_identity_reset() {
    let data = EXEC.as_bytes();
    let mut t = Tail::new("/tmp/x.jsonl", DEFAULT_MAX_LINE as i64, "codex").unwrap();
    assert!(!t.check_identity(1, 2, data.len() as u64, &data[..100]));
    assert_eq!(conversation(t.feed(data, false).messages).len(), 2);
    assert!(!t.check_identity(1, 2, data.len() as u64, data));
    // same file grown: no reset
    assert!(!t.check_identity(1, 2, data.len() as u64 + 10, data));
    // truncated
    assert!(t.check_identity(1, 2, 10, &data[..10]));
    assert_eq!(t.offset(), 0);
    // re-read from 0: keys already seen, nothing new
    let b = t.feed(data, false);
    assert!(b.messages.is_empty());
    assert_eq!(b.offset as usize, data.len());
    // replaced (other inode)
    assert!(t.check_identity(1, 3, data.len() as u64, data));
    // rewritten head
    let mut other = data.to_vec();
    other[3] = b'X';
    let _ = t.feed(data, false);
    assert!(t.check_identity(1, 3, data.len() as u64, &other));
    assert!(Tail::restore(b"{\"v\":2}").is_err());
    assert!(Tail::restore(b"nope").is_err());
    assert!(Tail::new("x", 0, "codex").is_err());
}

#[test]
fn a_file_first_seen_empty_grows_without_a_reset() {
    let data = EXEC.as_bytes();
    let mut t = Tail::new("/tmp/x.jsonl", DEFAULT_MAX_LINE as i64, "codex").unwrap();
    assert!(!t.check_identity(1, 2, 0, b""));
    assert!(t.feed(b"", false).messages.is_empty());
    // no head recorded while empty: growth is not a rewrite, and the head is recorded now
    assert!(!t.check_identity(1, 2, data.len() as u64, data));
    assert_eq!(conversation(t.feed(data, false).messages).len(), 2);
    // ... so a real rewrite of that head is still caught, also after a snapshot round trip
    let mut r = Tail::restore(&t.snapshot()).unwrap();
    let mut other = data.to_vec();
    other[3] = b'X';
    assert!(r.check_identity(1, 2, data.len() as u64, &other));
    // a snapshot taken while the file was empty restores to the same behaviour
    let mut e = Tail::new("/tmp/y.jsonl", DEFAULT_MAX_LINE as i64, "codex").unwrap();
    assert!(!e.check_identity(1, 2, 0, b""));
    let mut e = Tail::restore(&e.snapshot()).unwrap();
    assert!(!e.check_identity(1, 2, data.len() as u64, data));
}

#[test]
fn golden_corpus() {
    let Some(dir) = corpus_dir() else {
        eprintln!("SKIP golden_corpus: corpus not found (tests/data/corpus or ../shared/corpus)");
        return;
    };
    // (file, messages, first key, last key, offset, thread id) from the Python twin.
    let golden = [
        ("codex-0.169.0/sessions/2026/11/22/rollout-2026-11-22T01-55-51-01a200f7-8595-7b83-84f9-db69163a8ecd.jsonl", 4, "c00f67487dae46ccc87302975562c4c7", "28eadbf4bfd69a609dfc6ae1831bd6da", 41588, "01a200f7-8595-7b83-84f9-db69163a8ecd"),
        ("codex-0.169.0/sessions/2026/11/22/rollout-2026-11-22T01-55-56-01a200f7-9a8b-7760-8582-76bd9d01ca14.jsonl", 5, "1991925a1d5061ca103beb299f74a3d3", "35343279616019f46d8f28212f1f1919", 112784, "01a200f7-9a8b-7760-8582-76bd9d01ca14"),
        ("codex-0.50.0/sessions/2026/11/22/rollout-2026-11-22T01-58-04-01a200f9-8f26-7100-8159-3edb18b8462c.jsonl", 4, "5928fe37bd78480722f43eeb16a60f19", "28cb41df5aa3d8cb296efcc300cced6b", 2971, "01a200f9-8f26-7100-8159-3edb18b8462c"),
        ("codex-0.50.0/sessions/2026/11/22/rollout-2026-11-22T01-56-57-01a200f8-8765-7bf3-a7fa-04c084a0ec05.jsonl", 3, "f46bbfd1d1af39294ea7aea37f0887f0", "b6990de6015d757a82780c9ce8a8fe1f", 2332, "01a200f8-8765-7bf3-a7fa-04c084a0ec05"),
        ("codex-0.169.0/exec-apply_patch.jsonl", 3, "c1894dbd1239e1fa43f22ef05bc4d388", "18354ed62b7c55d96aa1dd0180d2901c", 1150, "01a200f7-918c-7ba2-8a2f-fd60d2990b36"),
        ("codex-0.169.0/exec-compact-1.jsonl", 1, "afb01d807f7818f8772a060e86c7fe2f", "afb01d807f7818f8772a060e86c7fe2f", 372, "01a200f7-a7ae-72d2-85a8-f9d0df14cb6f"),
        ("codex-0.169.0/exec-unicode_long.jsonl", 2, "2055cbd159e7ff8cf99741f04e6daacd", "3ffe5b7db05fb6c8ae27f20cc32eae14", 23938, "01a200f7-9a8b-7760-8582-76bd9d01ca14"),
        ("codex-0.50.0/exec-mcp_tool.jsonl", 2, "53019b291a1657d12f3d8faa0f22353b", "6a07e9a8090636afa9fce6b466576ec4", 558, "01a200f8-83f5-7c80-aae3-0151d9abbdb6"),
    ];
    for (rel, n, first, last, offset, tid) in golden {
        let path = dir.join(rel);
        let data = std::fs::read(&path).unwrap();
        // the twin was run with another path to the corpus; keys depend only on the thread id here
        let (rows, off, errs, t) = feed_split(&path.to_string_lossy(), &data, &[], DEFAULT_MAX_LINE as i64);
        let rows = conversation(rows);
        assert_eq!(rows.len(), n, "{rel}");
        assert_eq!(hex(&rows[0].key), first, "{rel}");
        assert_eq!(hex(&rows[n - 1].key), last, "{rel}");
        assert_eq!(off, offset, "{rel}");
        assert_eq!(t.thread_id(), Some(tid), "{rel}");
        assert_eq!(errs.0, [0, 0, 0, 0], "{rel}");
        assert!(rows.windows(2).all(|w| w[0].seq < w[1].seq));
    }
}

/// `cargo test --release -- --ignored --nocapture core_throughput`: core speed on the bench corpus.
#[test]
#[ignore = "a benchmark: run on demand with --release (see above)"]
fn core_throughput() {
    let dir = std::env::var("OA_BENCH_DIR").unwrap_or_else(|_| "target/bench-corpus/v1-seed20261122-50mb".into());
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "jsonl") {
            files.push((p.to_string_lossy().into(), std::fs::read(&p).unwrap()));
        }
    }
    let total: usize = files.iter().map(|f| f.1.len()).sum();
    let mode = std::env::var("OA_MODE").unwrap_or_default();
    for _ in 0..3 {
        let t0 = std::time::Instant::now();
        let mut rows = 0;
        for (p, d) in &files {
            if mode == "validate" {
                for l in d.split(|&b| b == b'\n') {
                    rows += usize::from(json::validate(std::str::from_utf8(l).unwrap_or("")));
                }
                continue;
            }
            let mut t = Tail::new(p, DEFAULT_MAX_LINE as i64, "codex").unwrap();
            for c in d.chunks(1 << 20) {
                rows += t.feed(c, false).messages.len();
            }
        }
        let dt = t0.elapsed().as_secs_f64();
        eprintln!("{mode}: {:.0} MB/s rows={rows}", total as f64 / dt / 1e6);
    }
}

#[test]
fn excerpt_matches_naive_on_mixed_text() {
    let alphabet = ['a', 'é', '€', '😀', '\n', ' '];
    let mut rng = Rng(99);
    for _ in 0..300 {
        let len = 1990 + rng.below(40);
        let s: String = (0..len).map(|_| alphabet[rng.below(alphabet.len())]).collect();
        let naive: String = if s.chars().count() <= 2000 { s.clone() } else { s.chars().take(2000).collect::<String>() + "…" };
        assert_eq!(common::excerpt(&s), naive);
    }
}

#[test]
fn skipped_payload_records() {
    let v = json::parse_record(r#"{"type":"world_state","payload":{"a":[1,2,{"b":"c"}]}}"#, &["world_state"], None).unwrap();
    assert!(v.g("payload").is_obj());
    assert!(matches!(v.g("payload"), Val::Skipped));
    // invalid content inside a skipped payload is still invalid
    assert!(json::parse_record(r#"{"type":"world_state","payload":{"a":NaN}}"#, &["world_state"], None).is_err());
    assert!(json::parse_record(r#"{"type":"world_state","payload":{"a":"\ud800"}}"#, &["world_state"], None).is_err());
    assert!(json::parse_record(r#"{"type":"world_state","payload":{"a":1e400}}"#, &["world_state"], None).is_err());
    // a later duplicate "type" changes the decision: full parse
    let v = json::parse_record(r#"{"type":"world_state","payload":{"x":1},"type":"compacted"}"#, &["world_state"], None).unwrap();
    assert_eq!(v.g("payload").g("x").as_int(), Some(1));
    // members inside a payload that no mapper reads are validated but not built; read ones are kept
    let filter = Some(crate::codex::payload_key_read as fn(&str) -> bool);
    let line = r#"{"type":"event_msg","payload":{"type":"token_count","rate_limits":{"a":[1]},"info":{"x":2},"info":{"total_tokens":3}}}"#;
    let v = json::parse_record(line, &["world_state"], filter).unwrap();
    assert!(matches!(v.g("payload").g("rate_limits"), Val::Skipped));
    assert_eq!(v.g("payload").g("info").g("total_tokens").as_int(), Some(3));
    assert!(v.g("payload").g("type").str_eq("token_count"));
    assert!(json::parse_record(r#"{"type":"event_msg","payload":{"zz":[1,]}}"#, &["world_state"], filter).is_err());
    let line = r#"{"type":"response_item","payload":{"info":{"last":{"a":1},"total_tokens":[{"zz":1,"text":"t"}]},"arguments":{"zz":{"q":1}}}}"#;
    let v = json::parse_record(line, &["world_state"], filter).unwrap();
    let p = v.g("payload");
    assert!(matches!(p.g("info").g("last"), Val::Skipped));
    assert!(matches!(p.g("info").g("total_tokens").as_list()[0].g("zz"), Val::Skipped));
    assert!(p.g("info").g("total_tokens").as_list()[0].g("text").str_eq("t"));
    assert_eq!(p.g("arguments").g("zz").g("q").as_int(), Some(1));
    let escaped = json::unescape(r#"a\nb\u00e9\ud83d\ude00\\\"/"#);
    assert_eq!(escaped, "a\nbé😀\\\"/");
}

#[test]
fn parse_record_bytes_checks_utf8() {
    let filter = Some(crate::codex::payload_key_read as fn(&str) -> bool);
    let check = |b: &[u8]| {
        let want = std::str::from_utf8(b).is_ok() && serde_json::from_slice::<serde_json::Value>(b).is_ok();
        assert_eq!(json::parse_record_bytes(b, &["world_state"], filter).is_ok(), want, "differs for {b:?}");
    };
    let base = r#"{"type":"event_msg","payload":{"type":"x","zz":"ab","message":"cd","info":{"q":["é",1]}},"id":"ef"}"#.as_bytes();
    let inserts: [&[u8]; 12] = [
        b"\xc3\xa9", b"\xc3", b"\xa9", b"\xe2\x82\xac", b"\xe2\x82", b"\xf0\x9f\x98\x80", b"\xf0\x9f\x98", b"\xed\xa0\x80",
        b"\xc0\xaf", b"\xff", b"\xf4\x90\x80\x80", b"\xe2\x80\xa8",
    ];
    for i in 0..=base.len() {
        for ins in inserts {
            let mut l = base[..i].to_vec();
            l.extend_from_slice(ins);
            l.extend_from_slice(&base[i..]);
            check(&l);
        }
    }
    // a long string: non-ASCII at every position relative to the 16-byte blocks
    for pad in 0..40 {
        for ins in inserts {
            let mut l = format!("{{\"type\":\"t\",\"payload\":{{\"zz\":\"{}", "a".repeat(pad)).into_bytes();
            l.extend_from_slice(ins);
            l.extend_from_slice(b"bcdefghijklmnopqrstuvwxyz\"}}");
            check(&l);
        }
    }
}

#[test]
fn unescape_matches_serde_json_at_every_offset() {
    let escapes = [
        r"\n", r#"\""#, r"\\", r"\/", r"\u00e9", r"\ud83d\ude00", r"\u2028", r"\t\r\b\f", "é", "€x",
        // back-to-back escapes (JSON held in a string), upper-case hex, every UTF-8 length via \u
        r#"\\\"\\n\"\\"#, r"\uD83D\uDE00\u0041\u00FF\u07FF\u0800\uFFFF", r"\udbff\udfff\u0000\u001f",
    ];
    for pad in 0..48 {
        for e in escapes {
            for tail in [0usize, 1, 15, 16, 17, 40] {
                let raw = format!("{}{}{}{}", "a".repeat(pad), e, "b".repeat(tail), e);
                let want: String = serde_json::from_str(&format!("\"{raw}\"")).unwrap();
                assert_eq!(json::unescape(&raw), want, "for {raw:?}");
            }
        }
    }
}

/// Every key the mappers look up must pass the payload key filter, or the filter would hide
/// data from them (a new lookup needs a new entry in `payload_key_read`).
#[test]
fn payload_key_filter_covers_every_lookup() {
    let mut seen = 0;
    for src in [include_str!("codex.rs"), include_str!("common.rs")] {
        for pat in [".g(\"", ".get(\"", ".has(\""] {
            for (at, _) in src.match_indices(pat) {
                let rest = &src[at + pat.len()..];
                let key = &rest[..rest.find('"').unwrap()];
                assert!(crate::codex::payload_key_read(key), "payload_key_read misses {key:?}");
                seen += 1;
            }
        }
    }
    assert!(seen > 100);
    for k in ["", "zz", "rate_limits", "plan_type", "sandbox_policy", "Type", "types"] {
        assert!(!crate::codex::payload_key_read(k), "{k:?}");
    }
}

// -- Claude Code --------------------------------------------------------------------------------
fn claude_files() -> Vec<PathBuf> {
    let Some(dir) = corpus_dir() else { return Vec::new() };
    let mut out = Vec::new();
    let mut stack = vec![dir.join("claude-2.1.197")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "jsonl") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn claude_golden_corpus() {
    let Some(dir) = corpus_dir().filter(|d| d.join("claude-2.1.197").is_dir()) else {
        eprintln!("SKIP claude_golden_corpus: corpus not found (tests/data/corpus or ../shared/corpus)");
        return;
    };
    // (file, messages, first key, last key, offset, thread id, tool rows) from the Python twin.
    let golden = [
        ("claude-2.1.197/projects/-home-dev-work-resume/c09da64e-8c77-4838-b53b-b65a7bb6c7c8.jsonl", 14, "ebd43a376a69b5c21f5ee4dd04258183", "35bf29f33b6a837061f40c2aaebae7ca", 30307, "c09da64e-8c77-4838-b53b-b65a7bb6c7c8", 1),
        ("claude-2.1.197/projects/-home-dev-work-resume/5cfb24a5-3421-4512-b7f9-0b5eeea45293.jsonl", 9, "edc3a69207c8b081c7a3b560f72ae688", "ed159f939f17e8008ad04e35d0847e93", 15433, "5cfb24a5-3421-4512-b7f9-0b5eeea45293", 1),
        ("claude-2.1.197/projects/-home-dev-work-tasks/b4bbed1c-2433-4d64-84aa-ae47f72e35b6.jsonl", 7, "f7bcb6f73f893fc58547d10f64dc248e", "1d034666952397052c28af75bcc82fde", 17071, "b4bbed1c-2433-4d64-84aa-ae47f72e35b6", 4),
        ("claude-2.1.197/projects/-home-dev-work-subagent/96ad6385-f9dc-4cbf-99cd-1e1c2e35d5de/subagents/agent-ac4f11bf2fc190939.jsonl", 3, "61a87e394b3d6bc8dbbdcc86a52654d2", "b5d3dad7d44a389c92d7a18a61d4ddb3", 8391, "96ad6385-f9dc-4cbf-99cd-1e1c2e35d5de/agent-ac4f11bf2fc190939", 1),
        ("claude-2.1.197/stream-bash.jsonl", 4, "eebee2e60f4edd8ea0c88f83a51ae2ed", "450cf492747aef14307c973508322faa", 5699, "6be3c9d5-deca-4d40-99d9-c0ec3180e754", 2),
        ("claude-2.1.197/stream-max_turns.jsonl", 3, "133bebcde7746fef5649bd0c03eb15b5", "5b2efb76a6352a99a9cca28c7b11d24e", 3951, "2ba340e4-bc5b-4e60-aa29-316ab4fd60a0", 1),
        ("claude-2.1.197/stream-subagent.jsonl", 2, "042ae96fcbc60b8fa65610c43897dc9f", "41abe29a5c4f32672c317d4d63e1f8fb", 7778, "96ad6385-f9dc-4cbf-99cd-1e1c2e35d5de", 1),
    ];
    for (rel, n, first, last, offset, tid, tools) in golden {
        let path = dir.join(rel);
        let data = std::fs::read(&path).unwrap();
        let (rows, off, errs, mut t) = feed_split(&path.to_string_lossy(), &data, &[], DEFAULT_MAX_LINE as i64);
        let rows = conversation(rows);
        assert_eq!(rows.len(), n, "{rel}");
        assert_eq!(hex(&rows[0].key), first, "{rel}");
        assert_eq!(hex(&rows[n - 1].key), last, "{rel}");
        assert_eq!(off, offset, "{rel}");
        assert_eq!(t.thread_id(), Some(tid), "{rel}");
        assert_eq!(errs.0, [0, 0, 0, 0], "{rel}");
        assert_eq!(rows.iter().filter(|r| r.role == "tool").count(), tools, "{rel}");
        assert!(t.format().is_some_and(|f| crate::claude::FORMATS.contains(&f)), "{rel}");
        let thread = t.feed(b"", true).threads;
        assert!(thread.is_empty(), "{rel}: thread row emitted twice");
        let mut t2 = Tail::new(&path.to_string_lossy(), DEFAULT_MAX_LINE as i64, "codex").unwrap();
        let th = t2.feed(&data, true).threads.pop().unwrap();
        assert_eq!(th.source.as_deref(), Some("claude"), "{rel}");
        if rel.contains("/subagents/") {
            assert_eq!(th.parent_thread_id.as_deref(), Some("96ad6385-f9dc-4cbf-99cd-1e1c2e35d5de"));
        }
    }
}

#[test]
fn claude_random_chunks_and_snapshots_match_one_shot() {
    let files = claude_files();
    if files.is_empty() {
        eprintln!("SKIP claude_random_chunks_and_snapshots_match_one_shot: corpus not found");
        return;
    }
    let mut rng = Rng(0x5eed_c1a0);
    for path in files {
        let p = path.to_string_lossy().into_owned();
        let data = std::fs::read(&path).unwrap();
        let (whole, off, errs, _) = feed_split(&p, &data, &[], DEFAULT_MAX_LINE as i64);
        let mut t = Tail::new(&p, DEFAULT_MAX_LINE as i64, "codex").unwrap();
        let mut got = Vec::new();
        let mut pos = 0usize;
        while pos < data.len() {
            let end = (pos + 1 + rng.below(700)).min(data.len());
            got.extend(t.feed(&data[pos..end], false).messages);
            pos = end;
            if rng.below(10) == 0 {
                let snap = t.snapshot();
                t = Tail::restore(&snap).unwrap();
                assert_eq!(t.snapshot(), snap, "{p}: snapshot round trip");
                pos = t.position() as usize; // a restore re-reads the partial line
            }
        }
        got.extend(t.feed(b"", true).messages);
        let keys = |r: &[crate::mapper::Row]| r.iter().map(|r| (r.key, r.seq, r.text.clone(), r.data.clone())).collect::<Vec<_>>();
        assert_eq!(keys(&got), keys(&whole), "{p}");
        assert_eq!(t.offset(), off, "{p}");
        assert_eq!(t.errors(), errs, "{p}");
    }
}

/// Synthetic lines for rules the corpus does not exercise (same checks as the Python tests).
#[test]
fn claude_rules() {
    let sid = "11111111-2222-4333-8444-555555555555";
    let lines = [
        format!(r#"{{"type":"user","uuid":"u1","sessionId":"{sid}","promptId":"p1","gitBranch":"HEAD","timestamp":"2026-11-22T02:00:00.000Z","message":{{"content":"first"}}}}"#),
        format!(r#"{{"type":"assistant","uuid":"a1","sessionId":"{sid}","message":{{"id":"m1","model":"claude-x","usage":{{"input_tokens":9223372036854775807,"output_tokens":1}},"content":[{{"type":"tool_use","id":"t2","name":"Bash","input":{{"command":"false"}}}},{{"type":"tool_use","id":"t1","name":"Read","input":{{}}}}]}}}}"#),
        format!(r#"{{"type":"assistant","uuid":"a2","sessionId":"{sid}","message":{{"id":"m1","usage":{{"input_tokens":5}},"content":[]}}}}"#),
        format!(r#"{{"type":"user","uuid":"r2","sessionId":"{sid}","promptId":"p1","toolUseResult":{{"x":1}},"message":{{"content":[{{"type":"tool_result","tool_use_id":"t2","is_error":true,"content":"Exit code 7\n8"}}]}}}}"#),
        format!(r#"{{"type":"assistant","uuid":"s1","sessionId":"{sid}","isSidechain":true,"message":{{"content":[{{"type":"text","text":"side"}}]}}}}"#),
        format!(r#"{{"type":"user","uuid":"u2","sessionId":"{sid}","promptId":"p2","message":{{"content":"second"}}}}"#),
        format!(r#"{{"type":"brand-new","sessionId":"{sid}"}}"#),
    ];
    let data = lines.join("\n");
    let (rows, _, errs, mut t) = feed_split("/x/s.jsonl", data.as_bytes(), &[], DEFAULT_MAX_LINE as i64);
    // message m1: one usage row (its first record's usage), as the thread's usage counts it
    let usage: Vec<_> = rows.iter().filter(|r| r.kind == "usage").collect();
    assert_eq!(usage.len(), 1);
    let u = usage[0].data.as_ref().unwrap();
    assert_eq!((u.g("inputTokens"), u.g("outputTokens"), u.g("messageId")), (&Val::Int(i64::MAX), &Val::Int(1), &Val::str("m1".to_owned())));
    let rows = conversation(rows);
    assert_eq!(errs.0, [0, 0, 0, 1]);
    let got: Vec<(&str, &str, Option<&str>, Option<&str>)> =
        rows.iter().map(|r| (r.role, r.kind, r.text.as_deref(), r.turn_id.as_deref())).collect();
    assert_eq!(
        got,
        [
            ("user", "message", Some("first"), Some("p1")),
            ("tool", "cmd", Some("false"), Some("p1")),
            ("tool", "tool", Some("Read"), Some("p1")), // flushed by the next prompt, before its turnId
            ("user", "message", Some("second"), Some("p2")),
        ]
    );
    let cmd = rows[1].data.as_ref().unwrap();
    assert_eq!(cmd.g("exitCode"), &Val::Int(7));
    assert_eq!(cmd.g("isError"), &Val::Bool(true));
    assert_eq!(rows[2].data.as_ref().unwrap().g("isError"), &Val::Null);
    let th = t.feed(b"", true).threads;
    assert!(th.is_empty());
    let mut t2 = Tail::new("/x/s.jsonl", DEFAULT_MAX_LINE as i64, "codex").unwrap();
    let th = t2.feed(data.as_bytes(), true).threads.pop().unwrap();
    assert_eq!(th.thread_id.as_deref(), Some(sid));
    assert_eq!(th.git, None); // "HEAD": no repository
    let u = th.usage.unwrap(); // message m1 counted once, sums capped at i64::MAX
    assert_eq!((u.input, u.output, u.total), (Some(i64::MAX), Some(1), Some(i64::MAX)));
    assert_eq!(th.title.as_deref(), Some("first"));
}

/// The lazy tool-output path (raw JSON string, excerpt decoded only so far) gives what decoding the
/// whole string first gives, at the excerpt's boundary and with every escape form. Each case is
/// the raw text between the quotes of a JSON string.
#[test]
fn tool_output_from_raw_matches_decoded() {
    let long_ascii = "x".repeat(2500);
    let long_escapes = r#"a\\\"\n\t"#.repeat(900);
    let long_astral = r"\ud83d\ude00é😀".repeat(1500);
    let raws = [
        r"Chunk ID: 1\nWall time: 0.0612 seconds\nProcess exited with code 3\nOutput:\nhello\n".to_owned(),
        r"Output:\nbody".to_owned(),
        r"Exit code: -2\nWall time: 5. seconds\nOutput:\n".to_owned(),
        format!(r"Exit code: 0\nOutput:\n{long_ascii}"),
        format!(r"Exit code: 1\nOutput:\n{long_escapes}"),
        format!(r"Output:\n{long_astral}"),
        format!(r"Output:\n{long_ascii}é{long_escapes}"),
        format!(r"no header {long_escapes}"),
        r"a\\nOutput:\nnot a header (escaped backslash)".to_owned(),
        r"a\\\nOutput:\na header after an escaped backslash".to_owned(),
        r"\u0041 Exit code: 2\nOutput:\nwith a u escape".to_owned(),
        format!(r"Exit code: 4\u000aOutput:\n{long_escapes}"),
        r#"{\"output\":\"in\\njson\",\"metadata\":{\"exit_code\":0}}"#.to_owned(),
        format!(r#"{{\"output\":\"{}\",\"metadata\":{{\"exit_code\":5}}}}"#, long_escapes.replace('\\', r"\\").replace('"', r#"\""#)),
        r"{not json".to_owned(),
        "plain".to_owned(),
    ];
    for raw in raws {
        let doc = format!("\"{raw}\"");
        let v = crate::json::parse(&doc).unwrap_or_else(|_| panic!("valid JSON: {raw}"));
        let decoded = v.as_str().expect("a string").into_owned();
        let want = parse_tool_output_str(Cow::Borrowed(&decoded));
        let got = common::parse_tool_output(&v);
        assert_eq!((got.exit_code, got.duration), (want.exit_code, want.duration), "{raw}");
        let (g, w) = (got.body.expect("body"), want.body.expect("body"));
        assert_eq!(g.text(), w.text(), "{raw}");
        assert_eq!(g.excerpt(), w.excerpt(), "{raw}");
    }
}
