//! Escapes: the raw-text paths (tool-output header search, excerpt decoding, the parser's block
//! scan over escape-dense strings) against decoding everything first, and against serde_json.

use crate::common::{self, parse_tool_output_str};
use crate::json;
use std::borrow::Cow;

/// xorshift64: reproducible cases without a dependency.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// `parse_tool_output` on a JSON string's raw text (header found in the raw text when it can be,
/// body decoded lazily) must equal `parse_tool_output_str` on the decoded text, with `\u`
/// escapes of ASCII (which make the raw text unsearchable) and of other characters (which do not).
#[test]
fn tool_output_raw_equals_decoded() {
    let pieces = [
        r"Exit code: 3\n", r"Wall time: 1.5 seconds\n", r"\nOutput:\n", r"Output:\n", r"\u00e9t\u00e9 ", r"\u4e2d\u6587",
        r"\ud83d\ude00", r"\u000aOutput:\u000a", r"\u004futput", r"\\nOutput:\\n", r"\\u0041", r#"\"q\""#, "é中", "plain ",
        r"\u0007", r"Process exited with code 7\n",
    ];
    let mut rng = Rng(7);
    for round in 0..3000 {
        let n = 1 + rng.below(8);
        let mut raw = String::new();
        for _ in 0..n {
            raw.push_str(pieces[rng.below(pieces.len())]);
        }
        if round % 50 == 0 {
            raw.push_str(&r"\u00e9x\n".repeat(400)); // longer than an excerpt
        }
        let decoded: String = serde_json::from_str(&format!("\"{raw}\"")).unwrap();
        let quoted = format!("\"{raw}\"");
        let v = json::parse(&quoted).unwrap();
        let got = common::parse_tool_output(&v);
        let want = parse_tool_output_str(Cow::Borrowed(&decoded));
        assert_eq!((got.exit_code, got.duration), (want.exit_code, want.duration), "{raw:?}");
        let text = |o: &common::ToolOutput<'_>| o.body.as_ref().map(|b| b.text().into_owned());
        assert_eq!(text(&got), text(&want), "{raw:?}");
        assert_eq!(got.body.map(common::Body::excerpt), want.body.map(common::Body::excerpt), "{raw:?}");
    }
}

/// `unescape_prefix` equals the first characters of `unescape` at every limit.
#[test]
fn unescape_prefix_matches_unescape() {
    let raw = r#"ab\u00e9\n\ud83d\ude00中\\\"x\u4e2dyz\t"#;
    let full = json::unescape(raw);
    let n = full.chars().count();
    for limit in 0..n + 3 {
        let want: String = full.chars().take(limit).collect();
        assert_eq!(json::unescape_prefix(raw, limit), (want, limit < n), "limit {limit}");
    }
}

/// Strings dense with escapes (the block scan that passes over one-letter escapes after the first
/// escape): valid and invalid pieces at every offset around the 16-byte blocks, runs of backslashes
/// of every length across block ends; validity and values must equal serde_json's.
#[test]
fn escape_dense_strings_match_serde_json() {
    let pieces: [&str; 22] = [
        "a", "é", "中", "😀", r"\\", r#"\""#, r"\n", r"\/", r"\t", r"\u00e9", r"\ud83d\ude00", r"\u0022", r"\\\\", r#"\\\""#,
        "\"", "\u{1}", r"\x", r"\u12", r"\ud800", r"\ude00", "\\", "abcdefghijklmnopq",
    ];
    let mut rng = Rng(15);
    let mut valid = 0;
    for round in 0..40_000 {
        let mut s = String::new();
        let pad = round % 19;
        s.push_str(&"x".repeat(pad));
        s.push_str(r"\n"); // an escape first: the rest goes through the escape-aware scan
        let n = 1 + rng.below(24);
        for _ in 0..n {
            // mostly valid pieces, so that most documents parse to the end
            let k = if rng.below(10) == 0 { rng.below(pieces.len()) } else { rng.below(14) };
            if k == 4 && rng.below(3) == 0 {
                s.push_str(&"\\\\".repeat(1 + rng.below(20))); // long even runs of backslashes
            } else {
                s.push_str(pieces[k]);
            }
        }
        let doc = format!("{{\"a\":\"{s}\",\"b\":\"{s}z\",\"c\":[\"{s}\"]}}");
        let want = serde_json::from_str::<serde_json::Value>(&doc).ok();
        let got = json::parse(&doc).ok();
        assert_eq!(got.is_some(), want.is_some(), "validity differs for {doc:?}");
        assert_eq!(json::validate(&doc), want.is_some(), "validate differs for {doc:?}");
        if let (Some(g), Some(w)) = (got, want) {
            valid += 1;
            for k in ["a", "b"] {
                assert_eq!(g.g(k).as_str().as_deref(), w[k].as_str(), "{k} of {doc:?}");
            }
            assert_eq!(g.g("c").as_list()[0].as_str().as_deref(), w["c"][0].as_str(), "{doc:?}");
        }
    }
    assert!(valid > 10_000, "only {valid} valid documents");
}
