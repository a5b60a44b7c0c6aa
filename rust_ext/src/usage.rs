//! Token usage rows (`system/usage`), twin of `oa_actors/jsonl/_pyusage.py` (the spec: the rules
//! and why are in its docstring and in docs/rows.md, "Token usage").

use crate::claude::{extra_get, extra_set};
use crate::json::Val;
use crate::mapper::{MapperState, Row};

/// Codex counters, in the order of the snapshot's `usagePrev` list (then the total).
const CODEX_FIELDS: [&str; 5] =
    ["input_tokens", "cached_input_tokens", "cache_write_input_tokens", "output_tokens", "reasoning_output_tokens"];

/// `[input, cached, cacheWrite, output, reasoning, total]`.
pub type Counts = [i64; 6];

/// The counters of a Codex usage object (missing ones 0; a missing total is input + output).
pub fn codex_counts(u: &Val<'_>) -> Option<Counts> {
    if !u.is_nonempty_obj() {
        return None;
    }
    let mut c = [0i64; 6];
    for (i, f) in CODEX_FIELDS.iter().enumerate() {
        c[i] = u.g(f).as_int().unwrap_or(0);
    }
    c[5] = u.g("total_tokens").as_int().unwrap_or_else(|| c[0].saturating_add(c[3]));
    Some(c)
}

fn usage_data(model: Option<&str>, c: &Counts, reasoning_known: bool, message_id: Option<&str>) -> Val<'static> {
    Val::obj(vec![
        ("model", Val::opt_str(model.map(str::to_owned))),
        ("inputTokens", Val::Int(c[0])),
        ("cachedInputTokens", Val::Int(c[1])),
        ("cacheWriteInputTokens", Val::Int(c[2])),
        ("outputTokens", Val::Int(c[3])),
        ("reasoningOutputTokens", if reasoning_known { Val::Int(c[4]) } else { Val::Null }),
        ("totalTokens", Val::Int(c[5])),
        ("messageId", Val::opt_str(message_id.map(str::to_owned))),
    ])
}

/// A new process writes to this file (its next total may start from zero).
pub fn codex_restart(st: &mut MapperState) {
    extra_set(st, "usageFresh", Val::Bool(true));
}

fn prev_counts(v: &Val<'_>) -> Option<Counts> {
    let list = v.as_list();
    if !matches!(v, Val::Arr(_)) || list.len() != 6 {
        return None;
    }
    let mut c = [0i64; 6];
    for (i, x) in list.iter().enumerate() {
        c[i] = x.as_int()?;
    }
    Some(c)
}

/// A running total from Codex: emit a usage row with what it adds.
pub fn codex_total(st: &mut MapperState, out: &mut Vec<Row>, total: &Val<'_>, last: Option<&Val<'_>>, identity: &str, ts: Option<i64>) {
    let Some(t) = codex_counts(total) else { return };
    let prev = prev_counts(extra_get(st, "usagePrev"));
    let fresh = matches!(extra_get(st, "usageFresh"), Val::Bool(true));
    extra_set(st, "usagePrev", Val::Arr(t.iter().map(|x| Val::Int(*x)).collect()));
    extra_set(st, "usageFresh", Val::Bool(false));
    if prev == Some(t) {
        return;
    }
    let diff = prev.filter(|p| t.iter().zip(p).all(|(a, b)| a >= b)).map(|p| {
        let mut d = [0i64; 6];
        for i in 0..6 {
            d[i] = t[i].saturating_sub(p[i]);
        }
        d
    });
    let own = match diff {
        Some(d) if !fresh => d,
        _ => last.and_then(codex_counts).or(diff).unwrap_or(t),
    };
    if own.iter().all(|x| *x == 0) {
        return;
    }
    let data = usage_data(st.thread.model.as_deref(), &own, true, None);
    st.emit_usage(out, data, &format!("{identity}{}", t[5]), ts);
}

/// The counters of one Claude API usage object (input counts cache reads and writes too).
pub fn claude_response(u: &Val<'_>) -> Option<Counts> {
    if !u.is_nonempty_obj() {
        return None;
    }
    let inp = u.g("input_tokens").as_int().unwrap_or(0);
    let cache_new = u.g("cache_creation_input_tokens").as_int().unwrap_or(0);
    let cache_read = u.g("cache_read_input_tokens").as_int().unwrap_or(0);
    let out = u.g("output_tokens").as_int().unwrap_or(0);
    let total_in = inp.saturating_add(cache_new).saturating_add(cache_read);
    Some([total_in, cache_read, cache_new, out, 0, total_in.saturating_add(out)])
}

/// Emit the usage row of one Claude response (nothing for an all-zero usage).
pub fn claude_usage(st: &mut MapperState, out: &mut Vec<Row>, counts: Option<Counts>, message_id: Option<&str>, identity: &str, ts: Option<i64>) {
    let Some(c) = counts.filter(|c| c.iter().any(|x| *x != 0)) else { return };
    let data = usage_data(st.thread.model.as_deref(), &c, false, message_id);
    st.emit_usage(out, data, identity, ts);
}
