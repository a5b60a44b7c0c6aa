//! Seeded inputs for differential JSON checks (against serde_json): the corpus lines, hand-picked
//! edge cases, byte-level mutations of corpus lines and generated documents that are mostly valid
//! (long multilingual strings, every kind of escape, number edge cases, deep nesting) with an
//! occasional invalid piece. Used by the parser's value tests (`json::tests`) and the parser
//! comparison (rust_ext/benches/json_parsers.rs, which includes this file by path), so it is plain
//! std Rust with no crate imports.

#![allow(dead_code)] // each user calls a different subset

use std::path::{Path, PathBuf};

/// xorshift64: tiny, deterministic, no dependency.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

/// The corpus: tests/data/corpus (or ../shared/corpus) under the crate root.
pub fn corpus_dir() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    [root.join("tests/data/corpus"), root.join("../shared/corpus")]
        .into_iter()
        .find(|p| p.join("codex-0.169.0").is_dir())
}

/// Every `*.jsonl` file under `dir`, sorted.
pub fn jsonl_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
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

/// The non-empty lines of every corpus file (Codex and Claude Code).
pub fn corpus_lines() -> Vec<Vec<u8>> {
    let Some(dir) = corpus_dir() else { return Vec::new() };
    let mut out = Vec::new();
    for f in jsonl_files(&dir) {
        let data = std::fs::read(f).unwrap_or_default();
        out.extend(data.split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec));
    }
    out
}

fn nest(open: &str, inner: &str, close: &str, depth: usize) -> Vec<u8> {
    format!("{}{inner}{}", open.repeat(depth), close.repeat(depth)).into_bytes()
}

/// Hand-picked documents on both sides of serde_json's rules.
#[rustfmt::skip] // the table stays compact
pub fn edge_cases() -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = [
        "{}", "[]", "1", "-0", "-0.0", "0.0", "1e5", "1E+5", "1.5e-3", "01", "1.", ".5", "-", "+1", "NaN",
        "Infinity", "-Infinity", "nan", "inf", "true", "tru", "null", "nul", "\"a\"", "\"\\u00e9\"",
        "\"\\u00E9\"", "\"\\ud83d\\ude00\"", "\"\\uD83D\\uDE00\"", "\"\\ud83d\"", "\"\\ude00\"",
        "\"\\ude00\\ud83d\"", "\"\\ud83d\\ud83d\"", "\"\\ud83d\\u0041\"", "\"\\ud83dx\"", "\"\\ud83d\\\"",
        "\"\\x\"", "\"\\u12\"", "\"\\uZZZZ\"", "\"\\u00g0\"", "\"\\u 123\"", "\"\\U00e9\"", "\"\\'\"",
        "\"a\tb\"", "\"a\nb\"", "\"a\u{7f}b\"", "\"\u{2028}\u{2029}\"", "\"\\u0000\"", "\"\\/\"",
        "{\"a\":1,\"a\":2}", "{\"a\":{\"b\":1},\"a\":[2]}", "{\"a\" : [1 , 2 ] }", " {} ", "{} x", "{,}",
        "[,]", "[1,]", "{\"a\":1,}", "[1 2]", "{\"a\"}", "{\"a\" 1}", "{1:2}", "{'a':1}", "[\"a\",,\"b\"]",
        "1e400", "-1e400", "1e-400", "1.7976931348623157e308", "1.7976931348623159e308", "4.9e-324",
        "2.2250738585072011e-308", "0.1", "123456789.123456789e-5", "18446744073709551615",
        "18446744073709551616", "-9223372036854775808", "-9223372036854775809",
        "123456789012345678901234567890", "-123456789012345678901234567890", "1.0e+", "1e", "[1e+]",
        "[-01]", "[0.1e1]", "[-0e-0]", "\u{feff}{}", "{}\n", "\t[]\r", " \n\r\t1", "\u{0b}1", "\u{0c}1",
        "\"abc", "[", "{\"a\":", "[[]", "[]]", "{}}", "\"\\", "\"\\u", "\"\\ud83d\\u", "", " ",
        "[true,false,null]", "[tRue]", "{\"\":\"\"}", "{\"\\u0061\":1,\"a\":2}",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    for d in [126, 127, 128, 129] {
        out.push(nest("[", "", "]", d));
        out.push(nest("{\"a\":", "1", "}", d));
        out.push(nest("[{\"k\":", "[]", "}]", d / 2));
    }
    // invalid UTF-8 inside and outside strings: lone continuation, overlong, surrogate, > U+10FFFF,
    // truncated sequences
    for bad in
        [&b"\x80"[..], b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe4\xb8", b"\xff", b"\xf0\x9f"]
    {
        let mut s = b"{\"a\":\"x".to_vec();
        s.extend_from_slice(bad);
        s.extend_from_slice(b"y\"}");
        out.push(s);
        let mut s = b"[1,".to_vec();
        s.extend_from_slice(bad);
        s.push(b']');
        out.push(s);
    }
    out.push("{\"ok\":\"中文 é 😀\"}".as_bytes().to_vec());
    out
}

/// `n` byte-level mutations of corpus lines: replace, insert or delete one byte from an alphabet of
/// JSON syntax, escapes, digits and bytes that are never valid UTF-8 or only as part of a sequence.
pub fn mutations(lines: &[Vec<u8>], rng: &mut Rng, n: usize) -> Vec<Vec<u8>> {
    const ALPHABET: &[u8] = b"{}[]\",:\\u0123456789abcdefABCDEFeE.-+ \t\r\nntfaNI\
        \x00\x01\x1f\x7f\x80\xbf\xc0\xc3\xed\xf0\xf4\xff";
    let mut out = Vec::with_capacity(n);
    if lines.is_empty() {
        return out;
    }
    // shorter lines first: mutations of megabyte lines would dominate the run time
    let mut short: Vec<&Vec<u8>> = lines.iter().filter(|l| l.len() <= 20_000).collect();
    if short.is_empty() {
        short = lines.iter().collect();
    }
    for _ in 0..n {
        let mut l = (*rng.pick(&short)).clone();
        for _ in 0..=rng.below(3) {
            let i = rng.below(l.len());
            let c = *rng.pick(ALPHABET);
            match rng.below(3) {
                0 if !l.is_empty() => l[i] = c,
                1 if !l.is_empty() => {
                    l.remove(i);
                }
                _ => l.insert(i, c),
            }
        }
        out.push(l);
    }
    out
}

#[rustfmt::skip]
const CHARS: &[char] = &[
    'a', 'z', 'A', ' ', '"', '\\', '/', '\n', '\r', '\t', '\u{8}', '\u{c}', '\u{0}', '\u{1}', '\u{1f}',
    '\u{7f}', 'é', 'ß', 'ñ', 'Ω', 'ж', 'ع', 'א', 'क', 'ไ', '中', '文', 'の', '한', '\u{2028}', '\u{feff}',
    '\u{fffd}', '😀', '🚀', '𝔘', '\u{10ffff}', '\u{e000}', '\u{d7ff}',
];

/// A JSON string of random characters, each written raw or escaped in one of the allowed ways.
fn gen_string(rng: &mut Rng, out: &mut String) {
    out.push('"');
    let n = match rng.below(10) {
        0 => 0,
        1..=6 => rng.below(20),
        _ => rng.below(400),
    };
    for _ in 0..n {
        let c = *rng.pick(CHARS);
        let style = rng.below(10);
        match c {
            '"' => out.push_str(if style < 8 { "\\\"" } else { "\\u0022" }),
            '\\' => out.push_str(if style < 8 { "\\\\" } else { "\\u005C" }),
            '\n' => out.push_str(if style < 8 { "\\n" } else { "\\u000a" }),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '/' if style < 3 => out.push_str("\\/"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if style < 3 && (c as u32) > 0x7f => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&if style == 0 {
                        format!("\\u{unit:04X}")
                    } else {
                        format!("\\u{unit:04x}")
                    });
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn gen_number(rng: &mut Rng, out: &mut String) {
    #[rustfmt::skip]
    const NUMBERS: &[&str] = &[
        "0", "-0", "7", "-12", "9007199254740993", "9223372036854775807", "-9223372036854775808",
        "18446744073709551615", "18446744073709551616", "123456789012345678901234567890", "0.5", "-0.0",
        "1e10", "1E-7", "2.5e+3", "1.7976931348623157e308", "5e-324", "2.2250738585072014e-308",
        "0.30000000000000004", "123.456e-7", "1e22", "1e23", "8.41e21", "-3.0e-05",
    ];
    if rng.chance(50) {
        out.push_str(rng.pick::<&str>(NUMBERS));
    } else {
        let v = rng.next() >> rng.below(64);
        if rng.chance(30) {
            out.push('-');
        }
        out.push_str(&v.to_string());
        if rng.chance(30) {
            out.push_str(&format!(".{}", rng.below(100000)));
        }
        if rng.chance(20) {
            out.push_str(&format!("e{}{}", if rng.chance(50) { "-" } else { "+" }, rng.below(300)));
        }
    }
}

fn ws(rng: &mut Rng, out: &mut String) {
    if rng.chance(15) {
        for _ in 0..=rng.below(3) {
            out.push(*rng.pick::<char>(&[' ', '\t', '\n', '\r']));
        }
    }
}

fn gen_value(rng: &mut Rng, depth: usize, out: &mut String) {
    let kind = if depth >= 6 { rng.below(5) } else { rng.below(8) };
    match kind {
        0 => out.push_str(rng.pick::<&str>(&["null", "true", "false"])),
        1 | 2 => gen_number(rng, out),
        3 | 4 => gen_string(rng, out),
        5 => {
            out.push('[');
            for i in 0..rng.below(6) {
                if i > 0 {
                    out.push(',');
                }
                ws(rng, out);
                gen_value(rng, depth + 1, out);
                ws(rng, out);
            }
            out.push(']');
        }
        _ => {
            out.push('{');
            for i in 0..rng.below(6) {
                if i > 0 {
                    out.push(',');
                }
                ws(rng, out);
                if rng.chance(20) {
                    out.push_str(rng.pick::<&str>(&[
                        "\"type\"", "\"payload\"", "\"text\"", "\"arguments\"", "\"zz\"",
                    ]));
                } else {
                    gen_string(rng, out);
                }
                ws(rng, out);
                out.push(':');
                ws(rng, out);
                gen_value(rng, depth + 1, out);
            }
            out.push('}');
        }
    }
}

/// One invalid piece spliced into a valid document (so each rule is exercised mid-document).
#[rustfmt::skip]
const INVALID: &[&str] = &[
    "\"\\ud800\"", "\"\\udc00x\"", "\"\\uDBFF\\u0041\"", "\"\\u12g4\"", "\"\\q\"", "NaN", "-Infinity",
    "[1,]", "{\"a\":1,}", "01", "1.", "+1", "1e", "\"\u{1}\"", "'x'", "tru", "[1 2]", "\"a\nb\"", "1e400",
    "{\"a\" 1}",
];

/// `n` generated documents: records shaped like the agents' (`type` + `payload` objects) around
/// random values; about one in ten has one invalid piece spliced in.
pub fn generated(rng: &mut Rng, n: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let mut s = String::new();
        if rng.chance(60) {
            s.push_str("{\"type\":");
            s.push_str(rng.pick::<&str>(&[
                "\"response_item\"", "\"world_state\"", "\"event_msg\"", "\"assistant\"",
            ]));
            s.push_str(",\"payload\":");
            gen_value(rng, 1, &mut s);
            s.push_str(",\"payload\":{\"type\":\"message\",\"content\":[{\"type\":\"output_text\",\"text\":");
            gen_string(rng, &mut s);
            s.push_str("}],\"arguments\":");
            gen_value(rng, 2, &mut s);
            s.push_str("}}");
        } else {
            gen_value(rng, 0, &mut s);
        }
        if rng.chance(10) {
            // one more member or element, right after an opening bracket (brackets only ever occur
            // as structure here: generated strings hold none)
            let bad = rng.pick(INVALID);
            let opens: Vec<usize> = s.match_indices(['{', '[']).map(|(i, _)| i).collect();
            if opens.is_empty() {
                (*bad).clone_into(&mut s);
            } else {
                let at = opens[rng.below(opens.len())];
                let empty = matches!(s.as_bytes().get(at + 1), Some(b'}' | b']'));
                let piece =
                    if s.as_bytes()[at] == b'{' { format!("\"bad\":{bad}") } else { (*bad).to_owned() };
                s.insert_str(at + 1, &if empty { piece } else { piece + "," });
            }
        }
        out.push(s.into_bytes());
    }
    out
}
