//! Byte-for-byte twins of `oa_actors/jsonl/_pycommon.py`: timestamps, excerpts, titles,
//! tool-output prose, keys.

use crate::json::{self, Val};

pub const EXCERPT_CHARS: usize = 2000;
pub const TITLE_CHARS: usize = 80;

pub type Key = [u8; 16];

pub fn blake16(data: &[&[u8]]) -> Key {
    let mut st = blake2b_simd::Params::new().hash_length(16).to_state();
    for d in data {
        st.update(d);
    }
    let mut k = [0u8; 16];
    k.copy_from_slice(st.finalize().as_bytes());
    k
}

pub fn hex(k: &Key) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(32);
    for b in k {
        s.push(H[(b >> 4) as usize] as char);
        s.push(H[(b & 15) as usize] as char);
    }
    s
}

pub fn unhex(s: &str) -> Option<Key> {
    if s.len() != 32 {
        return None;
    }
    let mut k = [0u8; 16];
    for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
        let hi = (chunk[0] as char).to_digit(16)?;
        let lo = (chunk[1] as char).to_digit(16)?;
        k[i] = (hi * 16 + lo) as u8;
    }
    // only canonical lowercase hex round-trips
    if hex(&k) != s {
        return None;
    }
    Some(k)
}

/// `row_key(base, k)`: blake2b-128 of `f"{base}\x1f{k}"`.
pub fn row_key(base: &[u8], k: u64) -> Key {
    let mut buf = itoa_buf(k);
    blake16(&[base, b"\x1f", buf.as_bytes_mut()])
}

struct Itoa {
    b: [u8; 20],
    n: usize,
}
impl Itoa {
    fn as_bytes_mut(&mut self) -> &[u8] {
        &self.b[20 - self.n..]
    }
}
fn itoa_buf(mut k: u64) -> Itoa {
    let mut b = [0u8; 20];
    let mut n = 0;
    loop {
        b[19 - n] = b'0' + (k % 10) as u8;
        n += 1;
        k /= 10;
        if k == 0 {
            break;
        }
    }
    Itoa { b, n }
}

// -- timestamps ------------------------------------------------------------------------------
fn digits<C: Copy + Into<u32>>(s: &[C], start: usize, count: usize) -> Option<i64> {
    let part = s.get(start..start + count)?;
    let mut n = 0i64;
    for &c in part {
        let c: u32 = c.into();
        if !(0x30..=0x39).contains(&c) {
            return None;
        }
        n = n * 10 + i64::from(c - 0x30);
    }
    Some(n)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = y - i64::from(m <= 2);
    let era = (if y >= 0 { y } else { y - 399 }).div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2).div_euclid(5) + d - 1;
    let doe = yoe * 365 + yoe.div_euclid(4) - yoe.div_euclid(100) + doy;
    era * 146097 + doe - 719468
}

/// RFC 3339 to ms since epoch (fractions truncated to ms); None if malformed.
pub fn parse_ts(v: &Val<'_>) -> Option<i64> {
    let s = v.as_str()?;
    if s.is_ascii() {
        parse_ts_chars(s.as_bytes())
    } else {
        let chars: Vec<char> = s.chars().collect();
        parse_ts_chars(&chars)
    }
}

pub fn parse_ts_chars<C: Copy + Into<u32>>(s: &[C]) -> Option<i64> {
    if s.len() < 20 {
        return None;
    }
    let at = |i: usize| -> u32 { s[i].into() };
    let year = digits(s, 0, 4)?;
    let month = digits(s, 5, 2)?;
    let day = digits(s, 8, 2)?;
    let hour = digits(s, 11, 2)?;
    let minute = digits(s, 14, 2)?;
    let sec = digits(s, 17, 2)?;
    if at(4) != '-' as u32 || at(7) != '-' as u32 || at(13) != ':' as u32 || at(16) != ':' as u32 {
        return None;
    }
    if !matches!(char::from_u32(at(10)), Some('T' | 't' | ' ')) {
        return None;
    }
    if !((1..=12).contains(&month) && (1..=31).contains(&day) && hour <= 23 && minute <= 59 && sec <= 60) {
        return None;
    }
    let mut i = 19;
    let mut millis = 0i64;
    if i < s.len() && at(i) == '.' as u32 {
        let mut j = i + 1;
        while j < s.len() && (0x30..=0x39).contains(&at(j)) {
            j += 1;
        }
        if j == i + 1 {
            return None;
        }
        for k in 0..3 {
            let d = if i + 1 + k < j { i64::from(at(i + 1 + k) - 0x30) } else { 0 };
            millis = millis * 10 + d;
        }
        i = j;
    }
    let rest = &s[i..];
    let offset_min = if rest.len() == 1 && matches!(char::from_u32(rest[0].into()), Some('Z' | 'z')) {
        0
    } else if rest.len() == 6
        && matches!(char::from_u32(rest[0].into()), Some('+' | '-'))
        && rest[3].into() == ':' as u32
    {
        let oh = digits(rest, 1, 2)?;
        let om = digits(rest, 4, 2)?;
        (oh * 60 + om) * if rest[0].into() == '+' as u32 { 1 } else { -1 }
    } else {
        return None;
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86400 + hour * 3600 + minute * 60 + sec - offset_min * 60;
    Some(secs * 1000 + millis)
}

// -- text ------------------------------------------------------------------------------------
/// Index of the byte after the first `n` characters, or None if the text has at most `n`.
fn char_boundary(text: &str, n: usize) -> Option<usize> {
    if text.len() <= n {
        return None;
    }
    // all-ASCII prefix: bytes are chars
    let b = text.as_bytes();
    if b[..n].is_ascii() {
        return Some(n);
    }
    // count char starts (non-continuation bytes)
    let mut seen = 0usize;
    let mut i = 0usize;
    // fast path: while the remaining budget is at least 8 chars, count 8 bytes at a time
    while i + 8 <= b.len() && n - seen >= 8 {
        let w = u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or([0; 8]));
        // a byte is a continuation byte iff its top bits are 10
        let cont = (w & !(w << 1)) & 0x8080_8080_8080_8080;
        seen += 8 - cont.count_ones() as usize;
        i += 8;
    }
    // exact finish: move i to a char boundary and walk
    while i < b.len() && (b[i] & 0xC0) == 0x80 {
        i += 1;
    }
    if seen >= n {
        // overshoot is impossible: we stopped with at most n chars counted
        return if i < b.len() { Some(i) } else { None };
    }
    text[i..].char_indices().nth(n - seen).map(|(j, _)| i + j)
}

/// `excerpt` of an owned text, cut in place.
pub fn excerpt_owned(mut text: String) -> String {
    if let Some(i) = char_boundary(&text, EXCERPT_CHARS) {
        text.truncate(i);
        text.push('…');
        if text.capacity() > 4 * text.len() {
            text.shrink_to_fit(); // do not hold a huge body for a short excerpt
        }
    }
    text
}

pub fn excerpt(text: &str) -> String {
    match char_boundary(text, EXCERPT_CHARS) {
        None => text.to_owned(),
        Some(i) => {
            let mut s = String::with_capacity(i + 3);
            s.push_str(&text[..i]);
            s.push('…');
            s
        }
    }
}

/// Python's `str.isspace()` (Unicode White_Space plus U+001C..U+001F).
pub fn py_isspace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

pub fn make_title(text: &str) -> Option<String> {
    let mut flat = String::with_capacity(text.len().min(4 * TITLE_CHARS + 8));
    let mut in_ws = false;
    let mut nchars = 0usize;
    for c in text.chars() {
        if matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{b}' | '\u{c}') {
            in_ws = true;
            continue;
        }
        if in_ws && !flat.is_empty() {
            flat.push(' ');
            nchars += 1;
        }
        in_ws = false;
        flat.push(c);
        nchars += 1;
        if nchars > TITLE_CHARS + 1 {
            break; // enough to know it is cut
        }
    }
    if flat.is_empty() {
        return None;
    }
    match char_boundary(&flat, TITLE_CHARS) {
        None => Some(flat),
        Some(i) => {
            flat.truncate(i);
            flat.push('…');
            Some(flat)
        }
    }
}

pub fn uuid_from_path(path: &str) -> Option<String> {
    let p = path.strip_suffix('\n').unwrap_or(path);
    let stem = p.strip_suffix(".jsonl")?;
    let b = stem.as_bytes();
    if b.len() < 36 {
        return None;
    }
    let u = &b[b.len() - 36..];
    for (i, &c) in u.iter().enumerate() {
        let ok = if matches!(i, 8 | 13 | 18 | 23) { c == b'-' } else { c.is_ascii_hexdigit() };
        if !ok {
            return None;
        }
    }
    Some(std::str::from_utf8(u).ok()?.to_ascii_lowercase())
}

// -- tool output ------------------------------------------------------------------------------
/// A tool output's body, decoded on demand: rows keep only an excerpt of most bodies (the first
/// `EXCERPT_CHARS` characters), so a long output with many escapes is decoded only that far.
pub struct Body<'a> {
    src: std::borrow::Cow<'a, str>,
    start: usize,
    /// `src[start..]` is a JSON string's raw text (escapes not decoded yet).
    escaped: bool,
}

impl<'a> Body<'a> {
    fn plain(src: std::borrow::Cow<'a, str>, start: usize) -> Self {
        Body { src, start, escaped: false }
    }
    /// The whole decoded text.
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        let s = &self.src[self.start..];
        if self.escaped {
            std::borrow::Cow::Owned(json::unescape(s))
        } else {
            std::borrow::Cow::Borrowed(s)
        }
    }
    /// `excerpt` of the decoded text.
    pub fn excerpt(self) -> String {
        if self.escaped {
            let (mut text, more) = json::unescape_prefix(&self.src[self.start..], EXCERPT_CHARS);
            if more {
                text.push('…');
            }
            return text;
        }
        match self.src {
            // an owned text becomes its own excerpt (cut in place, no copy)
            std::borrow::Cow::Owned(o) if self.start == 0 => excerpt_owned(o),
            src => excerpt(&src[self.start..]),
        }
    }
}

pub struct ToolOutput<'a> {
    pub body: Option<Body<'a>>,
    pub exit_code: Option<i64>,
    pub duration: Option<i64>,
}

fn seconds_to_ms(seconds: f64) -> Option<i64> {
    let ms = seconds * 1000.0;
    if !(0.0..9.2e18).contains(&ms) {
        return None;
    }
    Some((ms + 0.5).floor() as i64)
}

fn parse_i64(text: &str) -> Option<i64> {
    let t = text.strip_prefix('-').unwrap_or(text);
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<i64>().ok()
}

fn parse_seconds(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit() || b == b'.') || text.matches('.').count() > 1 || text == "." {
        return None;
    }
    seconds_to_ms(text.parse::<f64>().ok()?)
}

fn num_f64(v: &Val<'_>) -> Option<f64> {
    match v {
        Val::Int(i) => Some(*i as f64),
        Val::UInt(u) => Some(*u as f64),
        Val::BigInt(s) => s.parse::<f64>().ok(),
        Val::Float(f) => Some(*f),
        _ => None,
    }
}

const OUTPUT_MARK: &str = "\\nOutput:\\n";

/// Whether the raw text can be searched for the header as it is: without `\u` escapes of ASCII
/// characters (`\u0000`..`\u007F`) a newline can only be written `\n` and the letters only as
/// themselves. Escapes of other characters (writers that escape all non-ASCII text) cannot form
/// any part of the header mark. A `\\u00` that is an escaped backslash before `u00` only makes
/// the test answer no (the full decode, same result).
fn raw_searchable(raw: &str) -> bool {
    let b = raw.as_bytes();
    memchr::memmem::find_iter(b, b"\\u00").all(|at| !matches!(b.get(at + 4), Some(b'0'..=b'7')))
}

/// Where the raw (escaped) text's decoded form has its first `\nOutput:\n`, as (header end,
/// body start) in the raw text (which must be `raw_searchable`). None: not found.
fn raw_output_mark(raw: &str) -> Option<(usize, usize)> {
    let b = raw.as_bytes();
    let mut from = 0;
    while let Some(k) = memchr::memmem::find(&b[from..], OUTPUT_MARK.as_bytes()) {
        let at = from + k;
        // the backslash starts an escape when an even number of backslashes precede it
        let run = b[..at].iter().rev().take_while(|&&c| c == b'\\').count();
        if run % 2 == 0 {
            return Some((at, at + OUTPUT_MARK.len()));
        }
        from = at + 1;
    }
    None
}

pub fn parse_tool_output<'a>(raw: &'a Val<'_>) -> ToolOutput<'a> {
    let none = ToolOutput { body: None, exit_code: None, duration: None };
    let Some(js) = raw.as_jstr() else { return none };
    let text = js.raw();
    if js.is_escaped() && !text.starts_with('{') && raw_searchable(text) {
        // prose: find the header in the raw text, decode only the header (the body lazily)
        {
            let (header, body_start) = if let Some(rest) = text.strip_prefix("Output:\\n") {
                (String::new(), text.len() - rest.len())
            } else {
                match raw_output_mark(text) {
                    None => return ToolOutput { body: Some(Body { src: text.into(), start: 0, escaped: true }), exit_code: None, duration: None },
                    Some((h, b)) => (json::unescape(&text[..h]), b),
                }
            };
            let (exit_code, duration) = header_fields(&header);
            return ToolOutput { body: Some(Body { src: text.into(), start: body_start, escaped: true }), exit_code, duration };
        }
    }
    parse_tool_output_str(js.get())
}

fn header_fields(header: &str) -> (Option<i64>, Option<i64>) {
    let mut exit_code = None;
    let mut duration = None;
    for line in header.split('\n') {
        if let Some(r) = line.strip_prefix("Process exited with code ") {
            exit_code = parse_i64(r);
        } else if let Some(r) = line.strip_prefix("Exit code: ") {
            exit_code = parse_i64(r);
        } else if line.starts_with("Wall time: ") && line.ends_with(" seconds") {
            // Python: line[11:-8] is "" when the two affixes overlap.
            duration = if line.len() >= "Wall time: ".len() + " seconds".len() {
                parse_seconds(&line["Wall time: ".len()..line.len() - " seconds".len()])
            } else {
                None
            };
        }
    }
    (exit_code, duration)
}

pub fn parse_tool_output_str(raw: std::borrow::Cow<'_, str>) -> ToolOutput<'_> {
    use std::borrow::Cow;
    if raw.starts_with('{') {
        let parsed = json::parse(&raw).ok();
        if let Some(obj) = parsed.as_ref().filter(|o| o.is_obj()) {
            if let Some(out) = obj.g("output").as_jstr() {
                let meta = obj.g("metadata");
                let ms = num_f64(meta.g("duration_seconds")).and_then(seconds_to_ms);
                let exit = meta.g("exit_code").as_int();
                // the inner string stays raw: only its excerpt is decoded, mostly
                let body = Body { src: Cow::Owned(out.raw().to_owned()), start: 0, escaped: out.is_escaped() };
                return ToolOutput { body: Some(body), exit_code: exit, duration: ms };
            }
        }
        return ToolOutput { body: Some(Body::plain(raw, 0)), exit_code: None, duration: None };
    }
    let (header, body_start) = if raw.starts_with("Output:\n") {
        (0usize, "Output:\n".len())
    } else {
        match raw.find("\nOutput:\n") {
            None => return ToolOutput { body: Some(Body::plain(raw, 0)), exit_code: None, duration: None },
            Some(idx) => (idx, idx + "\nOutput:\n".len()),
        }
    };
    let (exit_code, duration) = header_fields(&raw[..header]);
    ToolOutput { body: Some(Body::plain(raw, body_start)), exit_code, duration }
}

/// `parse_json_arg`: strings holding valid JSON become that value, anything else passes through.
pub fn parse_json_arg(raw: &Val<'_>) -> Val<'static> {
    match raw.as_str() {
        None => raw.to_owned_val(),
        Some(s) => parse_json_str(&s).unwrap_or_else(|| Val::str(s.into_owned())),
    }
}

pub fn parse_json_str(s: &str) -> Option<Val<'static>> {
    json::parse(s).ok().map(Val::into_owned)
}

/// `as_str` as an owned String.
pub fn as_owned(v: &Val<'_>) -> Option<String> {
    v.as_str().map(|s| s.into_owned())
}
