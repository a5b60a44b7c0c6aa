//! Strict, lazy JSON: validates a whole document with serde_json's rules (RFC 8259 grammar, no
//! NaN/Infinity, no lone surrogates, recursion limit) while keeping strings as borrowed raw
//! slices that are unescaped only when a mapper reads them.

use std::borrow::Cow;
use std::fmt::Write as _;

/// serde_json starts with 128 and fails when the counter reaches 0, so 127 levels of nesting
/// are the deepest valid document (verified by `tests::serde_json_depth_limit`).
pub const MAX_DEPTH: usize = 127;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonError;

/// A JSON string as it appears in the source (without quotes), unescaped on demand.
#[derive(Debug, Clone, PartialEq)]
pub struct JStr<'a> {
    raw: Cow<'a, str>,
    esc: bool,
}

impl<'a> JStr<'a> {
    /// A literal (unescaped) text.
    pub fn from_plain(s: impl Into<Cow<'a, str>>) -> Self {
        JStr { raw: s.into(), esc: false }
    }
    #[inline]
    pub fn get(&self) -> Cow<'_, str> {
        if self.esc {
            Cow::Owned(unescape(&self.raw))
        } else {
            Cow::Borrowed(&self.raw)
        }
    }
    #[inline]
    pub fn eq_str(&self, s: &str) -> bool {
        if self.esc {
            unescape(&self.raw) == s
        } else {
            self.raw == s
        }
    }
    #[inline]
    pub fn starts_with(&self, s: &str) -> bool {
        if self.esc {
            unescape(&self.raw).starts_with(s)
        } else {
            self.raw.starts_with(s)
        }
    }
    pub fn into_owned(self) -> JStr<'static> {
        JStr { raw: Cow::Owned(self.raw.into_owned()), esc: self.esc }
    }
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Val<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    /// An integer beyond u64 (decimal digits, optional `-`); Python keeps it as an int.
    BigInt(Cow<'a, str>),
    Float(f64),
    Str(JStr<'a>),
    Arr(Vec<Val<'a>>),
    /// Members in source order; duplicate keys are kept, lookups take the last (as Python does).
    Obj(Vec<(JStr<'a>, Val<'a>)>),
    /// A validated object that the mapper never reads (see `parse_record`); behaves as `{}`.
    Skipped,
}

pub static NULL: Val<'static> = Val::Null;

impl<'a> Val<'a> {
    pub fn get(&self, key: &str) -> Option<&Val<'a>> {
        match self {
            Val::Obj(m) => m.iter().rev().find(|(k, _)| k.eq_str(key)).map(|(_, v)| v),
            _ => None,
        }
    }
    /// `dict.get(key)` with None for missing keys or non-objects.
    #[inline]
    pub fn g(&self, key: &str) -> &Val<'a> {
        self.get(key).unwrap_or(&NULL)
    }
    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
    pub fn is_obj(&self) -> bool {
        matches!(self, Val::Obj(_) | Val::Skipped)
    }
    pub fn is_null(&self) -> bool {
        matches!(self, Val::Null)
    }
    /// Non-empty object (Python truthiness of a dict from `as_dict`).
    pub fn is_nonempty_obj(&self) -> bool {
        matches!(self, Val::Obj(m) if !m.is_empty())
    }
    #[inline]
    pub fn as_jstr(&self) -> Option<&JStr<'a>> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }
    /// `as_str`: the text of a string value.
    #[inline]
    pub fn as_str(&self) -> Option<Cow<'_, str>> {
        self.as_jstr().map(|s| s.get())
    }
    pub fn str_eq(&self, s: &str) -> bool {
        matches!(self, Val::Str(j) if j.eq_str(s))
    }
    /// `as_int`: an integer that fits in i64 (bools and floats are not integers).
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Val::Int(i) => Some(*i),
            _ => None,
        }
    }
    pub fn as_list(&self) -> &[Val<'a>] {
        match self {
            Val::Arr(a) => a,
            _ => &[],
        }
    }
    pub fn into_owned(self) -> Val<'static> {
        match self {
            Val::Null => Val::Null,
            Val::Bool(b) => Val::Bool(b),
            Val::Int(i) => Val::Int(i),
            Val::UInt(u) => Val::UInt(u),
            Val::BigInt(s) => Val::BigInt(Cow::Owned(s.into_owned())),
            Val::Float(f) => Val::Float(f),
            Val::Str(s) => Val::Str(s.into_owned()),
            Val::Arr(a) => Val::Arr(a.into_iter().map(Val::into_owned).collect()),
            Val::Obj(m) => Val::Obj(m.into_iter().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()),
            Val::Skipped => Val::Obj(Vec::new()),
        }
    }
    pub fn to_owned_val(&self) -> Val<'static> {
        self.clone().into_owned()
    }
    pub fn str(s: impl Into<Cow<'a, str>>) -> Self {
        Val::Str(JStr::from_plain(s))
    }
    pub fn opt_str(s: Option<impl Into<Cow<'a, str>>>) -> Self {
        match s {
            Some(s) => Val::str(s),
            None => Val::Null,
        }
    }
    pub fn opt_int(i: Option<i64>) -> Self {
        i.map_or(Val::Null, Val::Int)
    }
    pub fn obj(members: Vec<(&'static str, Val<'a>)>) -> Self {
        Val::Obj(members.into_iter().map(|(k, v)| (JStr { raw: Cow::Borrowed(k), esc: false }, v)).collect())
    }
}

// ---------------------------------------------------------------------------------------------
// Parser

/// Parse one complete JSON document (strict).
pub fn parse(text: &str) -> Result<Val<'_>, JsonError> {
    let mut p = Parser { s: text.as_bytes(), i: 0, depth: 0, skip_payload_of: &[], payload_key: None };
    p.ws();
    let v = p.value::<true, false>()?;
    p.ws();
    if p.i != p.s.len() {
        return Err(JsonError);
    }
    Ok(v)
}

/// Only check validity (same rules as `parse`, no allocation).
pub fn validate(text: &str) -> bool {
    let mut p = Parser { s: text.as_bytes(), i: 0, depth: 0, skip_payload_of: &[], payload_key: None };
    p.ws();
    if p.value::<false, false>().is_err() {
        return false;
    }
    p.ws();
    p.i == p.s.len()
}

/// Like `parse`, but when the top-level object's `"type"` (seen before `"payload"`) is one of
/// `skip_types`, the `payload` object is only validated and stands as an empty object. Callers
/// must only use this for record types whose payload content they never read. Duplicate `type`
/// keys that change the type after the decision fall back to a full parse.
///
/// `payload_key`, when given, tells which object members inside the top-level `payload` object
/// the caller may read (at any depth, except inside `arguments`, which is built whole); the
/// others are only validated and stand as `Skipped`.
pub fn parse_record<'a>(
    text: &'a str,
    skip_types: &'static [&'static str],
    payload_key: Option<fn(&str) -> bool>,
) -> Result<Val<'a>, JsonError> {
    parse_record_bytes(text.as_bytes(), skip_types, payload_key)
}

/// `parse_record` on raw bytes, checking UTF-8 on the way (string contents are validated as
/// they are scanned; everything outside strings must be ASCII anyway). On success the whole
/// input is valid UTF-8; on failure the caller tells invalid UTF-8 from invalid JSON.
pub fn parse_record_bytes<'a>(
    text: &'a [u8],
    skip_types: &'static [&'static str],
    payload_key: Option<fn(&str) -> bool>,
) -> Result<Val<'a>, JsonError> {
    let mut p = Parser { s: text, i: 0, depth: 0, skip_payload_of: skip_types, payload_key };
    p.ws();
    let v = p.value::<true, false>()?;
    p.ws();
    if p.i != p.s.len() {
        return Err(JsonError);
    }
    if let Val::Obj(m) = &v {
        if m.iter().any(|(_, v)| matches!(v, Val::Skipped)) {
            let last_type = v.g("type");
            if !skip_types.iter().any(|t| last_type.str_eq(t)) {
                return parse(std::str::from_utf8(text).map_err(|_| JsonError)?);
            }
        }
    }
    Ok(v)
}

struct Parser<'a> {
    /// Valid UTF-8 where it comes from a `&str`; otherwise checked while scanning strings.
    s: &'a [u8],
    i: usize,
    depth: usize,
    skip_payload_of: &'static [&'static str],
    /// For `parse_record`: members of objects inside the top-level `payload` (but not inside an
    /// `arguments` member, which is copied whole) whose key fails this test are validated but
    /// stand as `Skipped` (the caller never reads them).
    payload_key: Option<fn(&str) -> bool>,
}

impl<'a> Parser<'a> {
    #[inline]
    fn ws(&mut self) {
        while self.i < self.s.len() {
            match self.s[self.i] {
                b' ' | b'\t' | b'\n' | b'\r' => self.i += 1,
                _ => break,
            }
        }
    }
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    #[inline]
    fn value<const BUILD: bool, const FILTER: bool>(&mut self) -> Result<Val<'a>, JsonError> {
        if !BUILD {
            self.skip()?;
            return Ok(Val::Null);
        }
        match self.peek().ok_or(JsonError)? {
            b'"' => {
                self.i += 1;
                let s = self.string()?;
                Ok(if BUILD { Val::Str(s) } else { Val::Null })
            }
            b'{' => self.object::<BUILD, FILTER>(),
            b'[' => self.array::<BUILD, FILTER>(),
            b't' => self.lit(b"true", Val::Bool(true)),
            b'f' => self.lit(b"false", Val::Bool(false)),
            b'n' => self.lit(b"null", Val::Null),
            b'-' | b'0'..=b'9' => self.number::<BUILD>(),
            _ => Err(JsonError),
        }
    }
    /// Validate one value without building anything (same rules as `value::<true>`).
    /// Iterative: the container kinds of the open levels are kept as bits of a u128
    /// (`MAX_DEPTH` < 128).
    fn skip(&mut self) -> Result<(), JsonError> {
        let s = self.s;
        let base = self.depth;
        let mut d = 0usize;
        let mut objs: u128 = 0;
        'value: loop {
            let c = *s.get(self.i).ok_or(JsonError)?;
            match c {
                b'"' => {
                    self.i += 1;
                    self.skip_string()?;
                }
                b'{' | b'[' => {
                    if base + d + 1 > MAX_DEPTH {
                        return Err(JsonError);
                    }
                    self.i += 1;
                    self.ws();
                    let is_obj = c == b'{';
                    let close = if is_obj { b'}' } else { b']' };
                    if self.peek() == Some(close) {
                        self.i += 1;
                    } else {
                        d += 1;
                        objs = (objs << 1) | is_obj as u128;
                        if is_obj {
                            self.skip_key()?;
                        }
                        continue 'value;
                    }
                }
                b't' => self.skip_lit(b"true")?,
                b'f' => self.skip_lit(b"false")?,
                b'n' => self.skip_lit(b"null")?,
                b'-' | b'0'..=b'9' => self.skip_number()?,
                _ => return Err(JsonError),
            }
            // after a value: close levels until the next member/element
            loop {
                if d == 0 {
                    return Ok(());
                }
                self.ws();
                let in_obj = objs & 1 == 1;
                match self.peek() {
                    Some(b',') => {
                        self.i += 1;
                        self.ws();
                        if in_obj {
                            self.skip_key()?;
                        }
                        continue 'value;
                    }
                    Some(b'}') if in_obj => {}
                    Some(b']') if !in_obj => {}
                    _ => return Err(JsonError),
                }
                self.i += 1;
                d -= 1;
                objs >>= 1;
            }
        }
    }
    /// `"key"` `:` and the whitespace before the value.
    #[inline(always)]
    fn skip_key(&mut self) -> Result<(), JsonError> {
        if self.peek() != Some(b'"') {
            return Err(JsonError);
        }
        self.i += 1;
        self.skip_string()?;
        self.ws();
        if self.peek() != Some(b':') {
            return Err(JsonError);
        }
        self.i += 1;
        self.ws();
        Ok(())
    }
    #[inline(always)]
    fn skip_lit(&mut self, word: &[u8]) -> Result<(), JsonError> {
        if self.s[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(())
        } else {
            Err(JsonError)
        }
    }
    #[inline(always)]
    fn skip_number(&mut self) -> Result<(), JsonError> {
        // fast path: a short plain integer (cannot overflow, no float rules)
        let start = self.i;
        let s = self.s;
        let mut j = start + (s[start] == b'-') as usize;
        let first = j;
        while j < s.len() && s[j].is_ascii_digit() {
            j += 1;
        }
        let n = j - first;
        let next = s.get(j).copied().unwrap_or(b' ');
        if n > 0
            && n < 16
            && (n == 1 || s[first] != b'0')
            && !matches!(next, b'.' | b'e' | b'E' | b'0'..=b'9')
        {
            self.i = j;
            return Ok(());
        }
        self.number::<false>().map(|_| ())
    }
    /// After the opening quote: move past the closing quote, validating escapes.
    #[inline(always)]
    fn skip_string(&mut self) -> Result<(), JsonError> {
        loop {
            self.i = scan_string(self.s, self.i);
            match self.s.get(self.i) {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(());
                }
                Some(&c) if c >= 0x80 => self.utf8_run()?,
                Some(b'\\') => match self.s.get(self.i + 1) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 2,
                    _ => {
                        self.i += 1;
                        self.escape()?;
                    }
                },
                _ => return Err(JsonError),
            }
        }
    }
    fn lit(&mut self, word: &[u8], v: Val<'a>) -> Result<Val<'a>, JsonError> {
        if self.s[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(v)
        } else {
            Err(JsonError)
        }
    }
    fn enter(&mut self) -> Result<(), JsonError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(JsonError);
        }
        Ok(())
    }
    fn object<const BUILD: bool, const FILTER: bool>(&mut self) -> Result<Val<'a>, JsonError> {
        self.enter()?;
        self.i += 1;
        let mut members = Vec::new();
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            self.depth -= 1;
            return Ok(if BUILD { Val::Obj(members) } else { Val::Null });
        }
        if BUILD {
            members.reserve(8);
        }
        let top = BUILD && self.depth == 1 && (!self.skip_payload_of.is_empty() || self.payload_key.is_some());
        let filter = if BUILD && FILTER { self.payload_key } else { None };
        let mut skip_payload = false;
        loop {
            if self.peek() != Some(b'"') {
                return Err(JsonError);
            }
            self.i += 1;
            let k = self.string()?;
            self.ws();
            if self.peek() != Some(b':') {
                return Err(JsonError);
            }
            self.i += 1;
            self.ws();
            if BUILD {
                if top && skip_payload && k.eq_str("payload") && self.peek() == Some(b'{') {
                    self.skip()?;
                    members.push((k, Val::Skipped));
                } else if let Some(f) = filter {
                    let key = k.get();
                    if !f(&key) {
                        self.skip()?;
                        members.push((k, Val::Skipped));
                    } else if key == "arguments" {
                        // copied whole into rows: built in full
                        let v = self.value::<true, false>()?;
                        members.push((k, v));
                    } else {
                        let v = self.value::<true, true>()?;
                        members.push((k, v));
                    }
                } else if top && self.payload_key.is_some() && self.peek() == Some(b'{') && k.eq_str("payload") {
                    let v = self.object::<true, true>()?;
                    members.push((k, v));
                } else {
                    let v = self.value::<true, false>()?;
                    if top && k.eq_str("type") {
                        skip_payload = self.skip_payload_of.iter().any(|t| v.str_eq(t));
                    }
                    members.push((k, v));
                }
            } else {
                self.skip()?;
            }
            self.ws();
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    self.ws();
                }
                Some(b'}') => {
                    self.i += 1;
                    break;
                }
                _ => return Err(JsonError),
            }
        }
        self.depth -= 1;
        Ok(if BUILD { Val::Obj(members) } else { Val::Null })
    }
    fn array<const BUILD: bool, const FILTER: bool>(&mut self) -> Result<Val<'a>, JsonError> {
        self.enter()?;
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            self.depth -= 1;
            return Ok(if BUILD { Val::Arr(items) } else { Val::Null });
        }
        loop {
            let v = self.value::<BUILD, FILTER>()?;
            if BUILD {
                items.push(v);
            }
            self.ws();
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    self.ws();
                }
                Some(b']') => {
                    self.i += 1;
                    break;
                }
                _ => return Err(JsonError),
            }
        }
        self.depth -= 1;
        Ok(if BUILD { Val::Arr(items) } else { Val::Null })
    }
    /// After the opening quote: scan to the closing quote, validating escapes.
    #[inline(always)]
    fn string(&mut self) -> Result<JStr<'a>, JsonError> {
        let start = self.i;
        let mut esc = false;
        loop {
            self.i = scan_string(self.s, self.i);
            match self.s.get(self.i) {
                Some(b'"') => {
                    // SAFETY: every byte between the quotes was either ASCII or part of a run
                    // of non-ASCII bytes checked by `from_utf8` (`utf8_run`).
                    let raw = unsafe { std::str::from_utf8_unchecked(&self.s[start..self.i]) };
                    self.i += 1;
                    return Ok(JStr { raw: Cow::Borrowed(raw), esc });
                }
                Some(&c) if c >= 0x80 => self.utf8_run()?,
                Some(b'\\') => {
                    esc = true;
                    match self.s.get(self.i + 1) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 2,
                        _ => {
                            self.i += 1;
                            self.escape()?;
                        }
                    }
                }
                _ => return Err(JsonError), // control char or end of input
            }
        }
    }
    /// At a non-ASCII byte inside a string: check the run of non-ASCII bytes is valid UTF-8
    /// (ASCII bytes cannot continue a sequence, so each run must be whole characters).
    #[inline(never)]
    fn utf8_run(&mut self) -> Result<(), JsonError> {
        let mut j = self.i;
        while j < self.s.len() && self.s[j] >= 0x80 {
            j += 1;
        }
        std::str::from_utf8(&self.s[self.i..j]).map_err(|_| JsonError)?;
        self.i = j;
        Ok(())
    }
    fn hex4(&mut self) -> Result<u32, JsonError> {
        let h = self.s.get(self.i..self.i + 4).ok_or(JsonError)?;
        let mut n = 0u32;
        for &c in h {
            n = n * 16 + (c as char).to_digit(16).ok_or(JsonError)?;
        }
        self.i += 4;
        Ok(n)
    }
    #[inline(never)]
    fn escape(&mut self) -> Result<(), JsonError> {
        let c = self.peek().ok_or(JsonError)?;
        self.i += 1;
        match c {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Ok(()),
            b'u' => {
                let n = self.hex4()?;
                if (0xDC00..=0xDFFF).contains(&n) {
                    return Err(JsonError);
                }
                if (0xD800..=0xDBFF).contains(&n) {
                    if self.s.get(self.i..self.i + 2) != Some(b"\\u") {
                        return Err(JsonError);
                    }
                    self.i += 2;
                    let n2 = self.hex4()?;
                    if !(0xDC00..=0xDFFF).contains(&n2) {
                        return Err(JsonError);
                    }
                }
                Ok(())
            }
            _ => Err(JsonError),
        }
    }
    fn digits(&mut self) -> usize {
        let st = self.i;
        while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
            self.i += 1;
        }
        self.i - st
    }
    fn number<const BUILD: bool>(&mut self) -> Result<Val<'a>, JsonError> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(JsonError),
        }
        let mut is_float = false;
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return Err(JsonError);
            }
            is_float = true;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(JsonError);
            }
            is_float = true;
        }
        // SAFETY: a number is ASCII (sign, digits, `.`, `e`).
        let text = unsafe { std::str::from_utf8_unchecked(&self.s[start..self.i]) };
        if !BUILD && !is_float && self.i - start < 16 {
            return Ok(Val::Null); // cannot overflow: at most 15 digits
        }
        if is_float {
            let f: f64 = text.parse().map_err(|_| JsonError)?;
            if !f.is_finite() {
                return Err(JsonError); // serde_json: number out of range
            }
            return Ok(Val::Float(f));
        }
        if let Ok(i) = text.parse::<i64>() {
            return Ok(Val::Int(i));
        }
        if let Ok(u) = text.parse::<u64>() {
            return Ok(Val::UInt(u));
        }
        let f: f64 = text.parse().map_err(|_| JsonError)?;
        if !f.is_finite() {
            return Err(JsonError);
        }
        Ok(Val::BigInt(Cow::Borrowed(text)))
    }
}

/// Index of the first `"`, `\\`, control or non-ASCII byte at or after `i` (or `s.len()`).
#[inline]
fn scan_string(s: &[u8], mut i: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        // SAFETY: SSE2 is part of the x86_64 baseline; loads are unaligned and in bounds.
        unsafe {
            let quote = _mm_set1_epi8(b'"' as i8);
            let bslash = _mm_set1_epi8(b'\\' as i8);
            let ctl = _mm_set1_epi8(0x1f);
            while i + 16 <= s.len() {
                let x = _mm_loadu_si128(s.as_ptr().add(i) as *const __m128i);
                let m = _mm_or_si128(
                    _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash)),
                    _mm_cmpeq_epi8(_mm_max_epu8(x, ctl), ctl),
                );
                // the sign bit of x marks non-ASCII bytes
                let m = _mm_or_si128(m, x);
                let mask = _mm_movemask_epi8(m);
                if mask != 0 {
                    return i + mask.trailing_zeros() as usize;
                }
                i += 16;
            }
        }
    }
    while i < s.len() {
        let c = s[i];
        if c == b'"' || c == b'\\' || !(0x20..0x80).contains(&c) {
            return i;
        }
        i += 1;
    }
    i
}

/// Index of the first `\\` at or after `i` (or `s.len()`); inline, for dense escapes.
#[inline(always)]
fn find_backslash(s: &[u8], mut i: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        // SAFETY: SSE2 is part of the x86_64 baseline; loads are unaligned and in bounds.
        unsafe {
            let bslash = _mm_set1_epi8(b'\\' as i8);
            while i + 16 <= s.len() {
                let x = _mm_loadu_si128(s.as_ptr().add(i) as *const __m128i);
                let mask = _mm_movemask_epi8(_mm_cmpeq_epi8(x, bslash));
                if mask != 0 {
                    return i + mask.trailing_zeros() as usize;
                }
                i += 16;
            }
        }
    }
    while i < s.len() && s[i] != b'\\' {
        i += 1;
    }
    i
}

/// Append `s[i..j]` to `out`, where `j` is the index of the first `\\` at or after `i` (or
/// `s.len()`), scanning and copying in one pass; returns `j`. `out` must have room for
/// `s.len() - i` more bytes (unescaping never makes a text longer).
#[inline(always)]
fn copy_to_backslash(s: &[u8], mut i: usize, out: &mut Vec<u8>) -> usize {
    debug_assert!(out.capacity() - out.len() >= s.len() - i);
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        // SAFETY: SSE2 is part of the x86_64 baseline. Loads are in bounds (i + 16 <= s.len());
        // each store writes 16 bytes at out.len(), within capacity since out has room for
        // s.len() - i >= 16 more bytes; the length only grows over bytes just written.
        unsafe {
            let bslash = _mm_set1_epi8(b'\\' as i8);
            while i + 16 <= s.len() {
                let x = _mm_loadu_si128(s.as_ptr().add(i) as *const __m128i);
                let len = out.len();
                _mm_storeu_si128(out.as_mut_ptr().add(len) as *mut __m128i, x);
                let mask = _mm_movemask_epi8(_mm_cmpeq_epi8(x, bslash));
                if mask != 0 {
                    let t = mask.trailing_zeros() as usize;
                    out.set_len(len + t);
                    return i + t;
                }
                out.set_len(len + 16);
                i += 16;
            }
        }
    }
    let j = find_backslash(s, i);
    out.extend_from_slice(&s[i..j]);
    j
}

/// Decode the escapes of a validated raw string.
pub fn unescape(raw: &str) -> String {
    let b = raw.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < b.len() {
        let j = copy_to_backslash(b, i, &mut out);
        if j >= b.len() {
            break;
        }
        let c = b[j + 1];
        i = j + 2;
        let simple = match c {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            _ => 0xff,
        };
        if simple != 0xff {
            out.push(simple);
            continue;
        }
        let n = u32::from_str_radix(&raw[i..i + 4], 16).unwrap_or(0xFFFD);
        i += 4;
        let ch = if (0xD800..=0xDBFF).contains(&n) {
            let n2 = u32::from_str_radix(&raw[i + 2..i + 6], 16).unwrap_or(0xDC00);
            i += 6;
            char::from_u32(0x10000 + ((n - 0xD800) << 10) + (n2 - 0xDC00)).unwrap_or('\u{FFFD}')
        } else {
            char::from_u32(n).unwrap_or('\u{FFFD}')
        };
        let mut buf = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
    }
    // SAFETY: built from valid UTF-8 runs and encoded chars only.
    unsafe { String::from_utf8_unchecked(out) }
}

// ---------------------------------------------------------------------------------------------
// Writer: the exact bytes of Python's `json.dumps(obj, ensure_ascii=False, separators=(",", ":"),
// sort_keys=True)`, used for snapshots.

pub fn escape_into(s: &str, out: &mut String) {
    let b = s.as_bytes();
    let mut last = 0;
    for (i, &c) in b.iter().enumerate() {
        let rep: &str = match c {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[last..i]);
        if rep.is_empty() {
            let _ = write!(out, "\\u{:04x}", c);
        } else {
            out.push_str(rep);
        }
        last = i + 1;
    }
    out.push_str(&s[last..]);
}

pub fn write_str(s: &str, out: &mut String) {
    out.push('"');
    escape_into(s, out);
    out.push('"');
}

/// Python's `repr(float)` (also what `json.dumps` writes for finite floats).
pub fn py_float_repr(f: f64) -> String {
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0".into() } else { "0.0".into() };
    }
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    // Shortest round-trip digits via `{:e}` (d.ddddde±x).
    let sci = format!("{:e}", f.abs());
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let sign = if f < 0.0 { "-" } else { "" };
    let n = digits.len() as i32;
    if (-4..16).contains(&exp) {
        if exp >= 0 {
            if n <= exp + 1 {
                format!("{sign}{}{}.0", digits, "0".repeat((exp + 1 - n) as usize))
            } else {
                let (a, b) = digits.split_at((exp + 1) as usize);
                format!("{sign}{a}.{b}")
            }
        } else {
            format!("{sign}0.{}{}", "0".repeat((-exp - 1) as usize), digits)
        }
    } else {
        let m = if n == 1 { digits.clone() } else { format!("{}.{}", &digits[..1], &digits[1..]) };
        format!("{sign}{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    }
}

pub fn write_val(v: &Val<'_>, out: &mut String) {
    match v {
        Val::Null => out.push_str("null"),
        Val::Bool(true) => out.push_str("true"),
        Val::Bool(false) => out.push_str("false"),
        Val::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Val::UInt(u) => {
            let _ = write!(out, "{u}");
        }
        Val::BigInt(s) => out.push_str(s),
        Val::Float(f) => out.push_str(&py_float_repr(*f)),
        Val::Str(s) => write_str(&s.get(), out),
        Val::Arr(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_val(x, out);
            }
            out.push(']');
        }
        Val::Skipped => out.push_str("{}"),
        Val::Obj(m) => {
            let mut sorted: std::collections::BTreeMap<Cow<'_, str>, &Val<'_>> = std::collections::BTreeMap::new();
            for (k, x) in m {
                sorted.insert(k.get(), x);
            }
            out.push('{');
            for (i, (k, x)) in sorted.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(k, out);
                out.push(':');
                write_val(x, out);
            }
            out.push('}');
        }
    }
}

/// Python's `str()` of a JSON value (used where the twin formats a value into an f-string).
pub fn py_str(v: &Val<'_>) -> String {
    match v {
        Val::Str(s) => s.get().into_owned(),
        other => py_repr(other),
    }
}

fn py_repr_str(s: &str, out: &mut String) {
    let q = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    out.push(q);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(q);
}

/// Python's `repr()` of the value as Python objects (best effort for exotic non-printables).
pub fn py_repr(v: &Val<'_>) -> String {
    let mut out = String::new();
    repr_into(v, &mut out);
    out
}

fn repr_into(v: &Val<'_>, out: &mut String) {
    match v {
        Val::Null => out.push_str("None"),
        Val::Bool(true) => out.push_str("True"),
        Val::Bool(false) => out.push_str("False"),
        Val::Str(s) => py_repr_str(&s.get(), out),
        Val::Arr(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                repr_into(x, out);
            }
            out.push(']');
        }
        Val::Obj(m) => {
            // dict semantics: first position, last value
            let mut keys: Vec<Cow<'_, str>> = Vec::new();
            for (k, _) in m {
                let k = k.get();
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                py_repr_str(k, out);
                out.push_str(": ");
                repr_into(v.g(k), out);
            }
            out.push('}');
        }
        other => write_val(other, out),
    }
}
