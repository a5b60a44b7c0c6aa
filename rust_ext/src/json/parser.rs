//! The strict parser behind `json::parse*` and `json::validate`.

use std::borrow::Cow;

use super::scan::*;
use super::{JStr, JsonError, Val, MAX_DEPTH};

pub(super) struct Parser<'a> {
    /// Valid UTF-8: a `&str`, or bytes checked up front (`parse_record_bytes`). Strings are then
    /// sliced at ASCII quotes, so every slice is valid UTF-8 too.
    pub(super) s: &'a [u8],
    pub(super) i: usize,
    pub(super) depth: usize,
    pub(super) skip_payload_of: &'static [&'static str],
    /// For `parse_record`: members of objects inside the top-level `payload` (but not inside an
    /// `arguments` member, which is copied whole) whose key fails this test are validated but
    /// stand as `Skipped` (the caller never reads them).
    pub(super) payload_key: Option<fn(&str) -> bool>,
}

impl<'a> Parser<'a> {
    #[inline]
    pub(super) fn ws(&mut self) {
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
    pub(super) fn value<const BUILD: bool, const FILTER: bool>(&mut self) -> Result<Val<'a>, JsonError> {
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
                        objs = (objs << 1) | u128::from(is_obj);
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
        let mut j = start + usize::from(s[start] == b'-');
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
        let mut esc = false;
        loop {
            self.i = if esc { scan_string_escaped(self.s, self.i) } else { scan_string(self.s, self.i) };
            match self.s.get(self.i) {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    esc = true;
                    self.string_escapes()?;
                }
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
            // after the first escape, one-letter escapes are passed over in blocks
            self.i = if esc { scan_string_escaped(self.s, self.i) } else { scan_string(self.s, self.i) };
            match self.s.get(self.i) {
                Some(b'"') => {
                    // SAFETY: the input is valid UTF-8 (see `s`) and both ends are ASCII quotes.
                    let raw = unsafe { std::str::from_utf8_unchecked(&self.s[start..self.i]) };
                    self.i += 1;
                    return Ok(JStr { raw: Cow::Borrowed(raw), esc });
                }
                Some(b'\\') => {
                    esc = true;
                    self.string_escapes()?;
                }
                _ => return Err(JsonError), // control char or end of input
            }
        }
    }
    /// At a backslash inside a string: move past it and the escapes that follow back to back
    /// (JSON held in a string escapes runs like `\\\"`). One-letter escapes are told by a table
    /// (a `match` compiled to a jump whose target the branch predictor missed often).
    #[inline(always)]
    fn string_escapes(&mut self) -> Result<(), JsonError> {
        loop {
            let c = self.s.get(self.i + 1).copied().unwrap_or(0);
            if ONE_LETTER[usize::from(c)] {
                self.i += 2;
            } else {
                self.i += 1;
                self.escape()?;
            }
            if self.s.get(self.i) != Some(&b'\\') {
                return Ok(());
            }
        }
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
