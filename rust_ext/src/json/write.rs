//! Writing values back out: Python's `json.dumps` bytes (snapshots), `str()` and `repr()`.

use std::fmt::Write as _;

use std::borrow::Cow;

use super::Val;

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
            let _ = write!(out, "\\u{c:04x}");
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

