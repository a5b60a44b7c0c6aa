//! Strict, lazy JSON: validates a whole document with serde_json's rules (RFC 8259 grammar, no
//! NaN/Infinity, no lone surrogates, recursion limit) while keeping strings as borrowed raw
//! slices that are unescaped only when a mapper reads them.

use std::borrow::Cow;

mod parser;
mod scan;
mod write;

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;

use parser::Parser;
pub use scan::{unescape, unescape_prefix};
pub use write::*;

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
    /// The text as it appears in the source: escapes not decoded when `is_escaped`.
    #[inline]
    pub fn raw(&self) -> &str {
        &self.raw
    }
    /// Whether the source text holds escapes (`raw` is then not the text itself).
    #[inline]
    pub fn is_escaped(&self) -> bool {
        self.esc
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
    let mut p = Parser { s: text.as_bytes(), i: 0, depth: 0, skip_payload_of: skip_types, payload_key };
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
                return parse(text);
            }
        }
    }
    Ok(v)
}

/// `parse_record` on raw bytes. UTF-8 is checked first, over the whole line at once (SIMD, several
/// GB/s; checking each run of non-ASCII bytes inside strings as they were scanned cost about a
/// seventh of the tail's time on multilingual text). On failure the caller tells invalid UTF-8
/// from invalid JSON.
pub fn parse_record_bytes<'a>(
    text: &'a [u8],
    skip_types: &'static [&'static str],
    payload_key: Option<fn(&str) -> bool>,
) -> Result<Val<'a>, JsonError> {
    parse_record(simdutf8::basic::from_utf8(text).map_err(|_| JsonError)?, skip_types, payload_key)
}
