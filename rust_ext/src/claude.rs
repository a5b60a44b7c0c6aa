//! Claude Code session files and `claude -p --output-format stream-json --verbose` stdout (twin of
//! `_pyclaude.py`, which is the spec: see docs/formats-mapping.md, "Claude Code").

pub use crate::codex::UnknownRecord;
use crate::common::parse_ts;
use crate::json::{JStr, Val, NULL};
use crate::mapper::{Git, MapperState, Pending, Row, Usage};
use crate::claude_tools::{flush_pending, hold_orphan, later_val, result_text, take_orphan, tool_row, Paired, ToolResult};
use crate::order::{Order, Plan};
use crate::usage::{claude_response, claude_usage, Counts};
use std::borrow::Cow;

type R = Result<(), UnknownRecord>;

pub const FORMATS: &[&str] = &["claude", "claude-stream"];
const TRANSCRIPT_TYPES: &[&str] = &["user", "assistant", "attachment", "system"];
/// Lines outside the conversation chain (no uuid): read for the thread row or ignored, never rows.
const METADATA_TYPES: &[&str] = &[
    "queue-operation",
    "last-prompt",
    "mode",
    "permission-mode",
    "ai-title",
    "custom-title",
    "agent-name",
    "summary",
    "file-history-snapshot",
    "tag",
    "pr-link",
    "worktree-state",
    "content-replacement",
    "agent-setting",
    "speculation-accept",
    "marble-origami-commit",
    "marble-origami-snapshot",
];
const STREAM_TYPES: &[&str] = &["system", "assistant", "user", "result", "stream_event"];
/// stream-json lines that never make a row.
const STREAM_SILENT: &[&str] = &["stream_event", "rate_limit_event", "tool_progress", "keep_alive", "auth_status"];
const SYNTHETIC_MODEL: &str = "<synthetic>";
/// User strings the CLI writes for slash commands, `!` shell input and injected reminders.
const CONTEXT_PREFIXES: &[&str] = &[
    "<command-name>",
    "<command-message>",
    "<command-args>",
    "<local-command-stdout>",
    "<local-command-stderr>",
    "<local-command-caveat>",
    "<bash-input>",
    "<bash-stdout>",
    "<bash-stderr>",
    "<user-memory-input>",
    "<system-reminder>",
    "<task-notification>",
];
const INTERRUPT_PREFIX: &str = "[Request interrupted by user";
const COMPACT_PREAMBLE: &str = "This session is being continued from a previous conversation";

fn in_set(v: &Val<'_>, set: &[&str]) -> bool {
    match v.as_jstr() {
        Some(s) => set.contains(&s.get().as_ref()),
        None => false,
    }
}

pub(crate) fn is_true(v: &Val<'_>) -> bool {
    matches!(v, Val::Bool(true))
}

/// `a or b` on optional strings (an empty string is falsy).
pub(crate) fn or_str<'x>(a: Option<Cow<'x, str>>, b: Option<Cow<'x, str>>) -> Option<Cow<'x, str>> {
    match a {
        Some(s) if !s.is_empty() => Some(s),
        _ => b,
    }
}

pub(crate) fn owned(v: &Val<'_>) -> Option<String> {
    v.as_str().map(Cow::into_owned)
}

fn set_str(field: &mut Option<String>, v: &Val<'_>) {
    if let Some(s) = v.as_str() {
        *field = Some(s.into_owned());
    }
}

/// `"\n".join(b["text"] for b in blocks if dict, type == "text" and text is a str)`.
pub(crate) fn text_blocks(blocks: &[Val<'_>]) -> String {
    let parts: Vec<Cow<'_, str>> =
        blocks.iter().filter(|b| b.is_obj() && b.g("type").str_eq("text")).filter_map(|b| b.g("text").as_str()).collect();
    parts.join("\n")
}

/// `_parse_i64`: optional `-`, then ASCII digits only, within i64.
pub(crate) fn parse_i64(text: &str) -> Option<i64> {
    let t = text.strip_prefix('-').unwrap_or(text);
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<i64>().ok()
}

// -- extra (snapshot-visible mapper state) -----------------------------------------------------
pub(crate) fn extra_get<'s>(st: &'s MapperState, key: &str) -> &'s Val<'static> {
    st.extra.g(key)
}

pub(crate) fn extra_set(st: &mut MapperState, key: &'static str, v: Val<'static>) {
    if let Val::Obj(m) = &mut st.extra {
        m.retain(|(k, _)| !k.eq_str(key));
        m.push((JStr::from_plain(key), v));
    } else {
        st.extra = Val::obj(vec![(key, v)]);
    }
}

/// `detect`: `claude` for a session-file line, `claude-stream` for a stream-json line.
pub fn detect(obj: &Val<'_>) -> Option<&'static str> {
    let t = obj.g("type");
    let ts = t.as_jstr()?;
    let tstr = ts.get();
    let t = tstr.as_ref();
    let sid_str = obj.g("sessionId").as_jstr().is_some();
    if TRANSCRIPT_TYPES.contains(&t) && sid_str && obj.has("uuid") {
        return Some("claude");
    }
    if METADATA_TYPES.contains(&t) && (sid_str || t == "file-history-snapshot" || t == "summary") {
        return Some("claude");
    }
    if STREAM_TYPES.contains(&t) && obj.g("session_id").as_jstr().is_some() {
        return Some("claude-stream");
    }
    None
}

// -- helpers -------------------------------------------------------------------------------------
/// Add one API usage object to the thread's cumulative usage; returns the response's own counts.
fn add_usage(st: &mut MapperState, u: &Val<'_>) -> Option<Counts> {
    let counts = claude_response(u)?;
    let [total_in, cache_read, _, out, _, _] = counts;
    let cur = st.thread.usage.clone().unwrap_or_default();
    let new_in = cur.input.unwrap_or(0).saturating_add(total_in);
    let new_cached = cur.cached_input.unwrap_or(0).saturating_add(cache_read);
    let new_out = cur.output.unwrap_or(0).saturating_add(out);
    st.thread.usage = Some(Usage {
        input: Some(new_in),
        cached_input: Some(new_cached),
        output: Some(new_out),
        reasoning_output: None,
        total: Some(new_in.saturating_add(new_out)),
    });
    Some(counts)
}

/// A response seen for the first time: its counts and message id (emitted after its record's rows).
type Response = (Option<Counts>, String);

fn assistant(
    st: &mut MapperState,
    obj: &Val<'_>,
    ts: Option<i64>,
    stream: bool,
    out: &mut Vec<Row>,
    plan: Option<&Plan>,
    mut paired: Option<&mut Vec<Paired>>,
) -> Option<Response> {
    let msg = obj.g("message");
    let uid = owned(obj.g("uuid")).unwrap_or_default();
    let model = msg.g("model");
    let blocks = msg.g("content").as_list();
    if model.str_eq(SYNTHETIC_MODEL) {
        // Made by the CLI, not the model: API errors are shown, the rest is not.
        if is_true(obj.g("isApiErrorMessage")) || (stream && obj.g("error").as_jstr().is_some()) {
            let text = text_blocks(blocks);
            let data = Val::obj(vec![("message", Val::str(text.clone()))]);
            st.emit(out, "system", "error", Some(text), Some(data), &uid, ts);
        }
        return None;
    }
    set_str(&mut st.thread.model, model);
    let mut response = None;
    if !stream {
        if let Some(mid) = msg.g("id").as_str() {
            if !extra_get(st, "lastMessageId").str_eq(&mid) {
                // one response = several records sharing message.id
                extra_set(st, "lastMessageId", Val::str(mid.clone().into_owned()));
                response = Some((add_usage(st, msg.g("usage")), mid.into_owned()));
            }
        }
    }
    for (i, b) in blocks.iter().enumerate() {
        if !b.is_obj() {
            continue;
        }
        let bt = b.g("type");
        if bt.str_eq("text") || bt.str_eq("thinking") {
            let (field, kind) = if bt.str_eq("text") { ("text", "message") } else { ("thinking", "reason") };
            if let Some(body) = b.g(field).as_str().filter(|s| !s.is_empty()) {
                let identity = format!("{uid}:{i}");
                st.emit(out, "assistant", kind, Some(body.into_owned()), None, &identity, ts);
            }
        } else if bt.str_eq("tool_use") {
            let Some(call_id) = b.g("id").as_str() else { continue };
            let mut call =
                Pending { name: owned(b.g("name")), namespace: None, arguments: b.g("input").to_owned_val(), input: None, ts, pos: None };
            let orphan = if plan.is_some() { take_orphan(st, &call_id) } else { None };
            match (orphan, paired.as_deref_mut()) {
                (Some(item), Some(paired)) => paired.push((call_id.into_owned(), call, item)), // its result was written first
                _ => {
                    call.pos = plan.map(|p| p.lo);
                    st.pending.insert(call_id.into_owned(), call);
                }
            }
        }
    }
    response
}

fn set_turn(st: &mut MapperState, prompt_id: &Option<String>) {
    if let Some(p) = prompt_id {
        st.turn_id = Some(p.clone());
    }
}

fn user(st: &mut MapperState, obj: &Val<'_>, ts: Option<i64>, out: &mut Vec<Row>, plan: Option<&Plan>) {
    let msg = obj.g("message");
    let uid = owned(obj.g("uuid")).unwrap_or_default();
    let content = msg.g("content");
    let prompt_id = owned(obj.g("promptId"));
    let wrapped;
    let blocks: &[Val<'_>] = if let Val::Str(s) = content {
        wrapped = [Val::obj(vec![("type", Val::str("text")), ("text", Val::Str(s.clone()))])];
        &wrapped
    } else {
        content.as_list()
    };
    let results: Vec<&Val<'_>> = blocks.iter().filter(|b| b.is_obj() && b.g("type").str_eq("tool_result")).collect();
    if !results.is_empty() {
        set_turn(st, &prompt_id);
        let structured = match obj.get("toolUseResult") {
            Some(v) => v,
            None => obj.g("tool_use_result"),
        };
        let single = results.len() == 1;
        for b in &results {
            let Some(call_id) = b.g("tool_use_id").as_str() else { continue };
            let result = ToolResult {
                text: result_text(b.g("content")),
                is_error: is_true(b.g("is_error")),
                structured: if single { structured } else { &NULL },
            };
            if let Some(call) = st.pending.remove(call_id.as_ref()) {
                tool_row(st, &call_id, &call, Some(&result), out);
            } else if plan.is_some() {
                // Its tool_use may still come (written after it); a cut file's stays unpaired.
                let item = Val::Arr(vec![
                    Val::str(call_id.into_owned()),
                    Val::obj(vec![
                        ("text", Val::opt_str(result.text)),
                        ("isError", Val::Bool(result.is_error)),
                        ("structured", result.structured.to_owned_val()),
                    ]),
                    Val::opt_int(ts),
                    Val::opt_str(owned(obj.g("uuid"))),
                ]);
                hold_orphan(st, item);
            }
        }
        return;
    }
    let text = text_blocks(blocks);
    let images: Vec<Val<'static>> =
        blocks.iter().filter(|b| b.is_obj() && b.g("type").str_eq("image")).map(|_| Val::str("inline")).collect();
    if text.is_empty() && images.is_empty() {
        set_turn(st, &prompt_id);
        return;
    }
    let kind = if is_true(obj.g("isCompactSummary")) || (is_true(obj.g("isSynthetic")) && text.starts_with(COMPACT_PREAMBLE)) {
        "compaction"
    } else if is_true(obj.g("isMeta")) || CONTEXT_PREFIXES.iter().any(|p| text.starts_with(p)) {
        "context"
    } else if text.starts_with(INTERRUPT_PREFIX) {
        "aborted"
    } else {
        "prompt"
    };
    if kind == "aborted" || kind == "prompt" {
        flush_pending(st, out, plan, ts); // calls still waiting get their rows in the turn they belong to
        if plan.is_some_and(Plan::appended) {
            if let Val::Arr(held) = extra_get(st, "orphans") {
                if !held.is_empty() {
                    // A new turn: earlier results whose call never came stay unpaired.
                    let kept = held.iter().filter(|o| later_val(o.as_list().get(2).unwrap_or(&NULL), ts)).cloned().collect();
                    extra_set(st, "orphans", Val::Arr(kept));
                }
            }
        }
    }
    set_turn(st, &prompt_id);
    match kind {
        "compaction" => {
            let mut summary = text;
            if summary.starts_with(COMPACT_PREAMBLE) {
                if let Some(i) = summary.find("\n\n") {
                    summary.drain(..i + 2);
                }
            }
            st.emit(out, "system", "compaction", Some(summary), None, &uid, ts);
        }
        "context" => st.emit(out, "system", "context", Some(text), None, &uid, ts),
        "aborted" => {
            let data = Val::obj(vec![("reason", Val::str("interrupted"))]);
            st.emit(out, "system", "aborted", Some(text), Some(data), &uid, ts);
        }
        _ => {
            st.new_turn();
            let data = if images.is_empty() { None } else { Some(Val::obj(vec![("images", Val::Arr(images))])) };
            st.emit_self_id(out, "user", "message", text, data, ts);
        }
    }
}

// -- session files -------------------------------------------------------------------------------
/// Fix the thread from the first record with a sessionId; false if this record is skipped.
fn identify(st: &mut MapperState, obj: &Val<'_>) -> bool {
    let sid = obj.g("sessionId").as_str().filter(|s| !s.is_empty());
    let sidechain = is_true(obj.g("isSidechain"));
    if !st.thread_from_meta {
        if let Some(sid) = sid {
            if sidechain {
                let tid = match obj.g("agentId").as_str().filter(|a| !a.is_empty()) {
                    Some(agent) => format!("{sid}/agent-{agent}"),
                    None => format!("{sid}/sidechain"),
                };
                st.set_thread_id(&Val::str(tid), true);
                st.thread.parent_thread_id = Some(sid.into_owned());
                extra_set(st, "sidechain", Val::Bool(true));
            } else {
                st.set_thread_id(&Val::Str(JStr::from_plain(sid)), true);
            }
        }
    }
    // Sidechain records inside a main session file belong to the subagent's own transcript.
    !sidechain || is_true(extra_get(st, "sidechain"))
}

/// Map one session-file line; `Err(UnknownRecord)` for unknown types.
pub fn map_claude(st: &mut MapperState, obj: &Val<'_>, out: &mut Vec<Row>) -> R {
    let t = obj.g("type");
    let ts = parse_ts(obj.g("timestamp"));
    if in_set(t, METADATA_TYPES) {
        st.touch(ts);
        if !st.thread_from_meta {
            st.set_thread_id(obj.g("sessionId"), true);
        }
        if t.str_eq("custom-title") {
            if let Some(title) = obj.g("customTitle").as_str().filter(|s| !s.is_empty()) {
                st.thread.title = Some(title.into_owned());
                extra_set(st, "customTitle", Val::Bool(true));
            }
        } else if t.str_eq("ai-title") || t.str_eq("summary") {
            let title = obj.g(if t.str_eq("ai-title") { "aiTitle" } else { "summary" }).as_str();
            if let Some(title) = title.filter(|s| !s.is_empty()) {
                if !is_true(extra_get(st, "customTitle")) {
                    st.thread.title = Some(title.into_owned());
                }
            }
        }
        return Ok(());
    }
    if !in_set(t, TRANSCRIPT_TYPES) {
        return Err(UnknownRecord);
    }
    if !identify(st, obj) {
        return Ok(());
    }
    st.touch(ts);
    set_str(&mut st.thread.cwd, obj.g("cwd"));
    set_str(&mut st.thread.cli_version, obj.g("version"));
    if let Some(branch) = obj.g("gitBranch").as_str() {
        st.thread.git = if branch.is_empty() || branch == "HEAD" {
            None
        } else {
            Some(Git { commit: None, branch: Some(branch.into_owned()), repo: None })
        };
    }
    // Every transcript record is placed in the conversation (attachment and system records too:
    // they make no row but are links of the parentUuid chain).
    let uid = owned(obj.g("uuid"));
    let mut order = st.order.take().unwrap_or_default();
    let mut plan = order.plan(uid.as_deref(), obj.g("parentUuid").as_str().as_deref(), ts, st.seq);
    st.order = Some(order);
    let start = out.len();
    let mut paired: Vec<Paired> = Vec::new();
    let mut response = None;
    if t.str_eq("assistant") {
        response = assistant(st, obj, ts, false, out, Some(&plan), Some(&mut paired));
    } else if t.str_eq("user") {
        user(st, obj, ts, out, Some(&plan));
    }
    // attachment and system records: context, hooks, compaction markers: no row
    commit(st, &mut plan, out, start);
    if let Some((counts, mid)) = response {
        claude_usage(st, out, counts, Some(&mid), &mid, ts);
    }
    for (call_id, call, item) in paired {
        // A result read before its call: its row is the result record's, placed again now that
        // its parent (this record) is known.
        let held = item.as_list();
        let at = |i: usize| held.get(i).unwrap_or(&NULL);
        let rts = at(2).as_int();
        let ruid = owned(at(3));
        let order = st.order.get_or_insert_with(Order::default);
        let mut rplan = order.plan(ruid.as_deref(), uid.as_deref(), rts, st.seq);
        let start = out.len();
        let r = at(1);
        let result = ToolResult { text: owned(r.g("text")), is_error: is_true(r.g("isError")), structured: r.g("structured") };
        tool_row(st, &call_id, &call, Some(&result), out);
        commit(st, &mut rplan, out, start);
    }
    Ok(())
}

/// Give the rows `out[start..]` of a placed record their seqs.
fn commit(st: &mut MapperState, plan: &mut Plan, out: &mut [Row], start: usize) {
    let order = st.order.get_or_insert_with(Order::default);
    st.seq = order.commit(plan, &mut out[start..]);
}

// -- stream-json stdout --------------------------------------------------------------------------
/// Map one `claude -p --output-format stream-json --verbose` line.
pub fn map_claude_stream(st: &mut MapperState, obj: &Val<'_>, out: &mut Vec<Row>) -> R {
    let t = obj.g("type");
    let ts = parse_ts(obj.g("timestamp"));
    st.touch(ts);
    if t.str_eq("system") {
        if obj.g("subtype").str_eq("init") {
            st.set_thread_id(obj.g("session_id"), true);
            st.invocation += 1;
            set_str(&mut st.thread.cwd, obj.g("cwd"));
            set_str(&mut st.thread.cli_version, obj.g("claude_code_version"));
            if st.thread.model.is_none() {
                set_str(&mut st.thread.model, obj.g("model"));
            }
        }
        return Ok(());
    }
    if in_set(t, STREAM_SILENT) {
        return Ok(());
    }
    if !(t.str_eq("assistant") || t.str_eq("user") || t.str_eq("result")) {
        return Err(UnknownRecord);
    }
    st.set_thread_id(obj.g("session_id"), false);
    if t.str_eq("result") {
        flush_pending(st, out, None, None);
        let counts = add_usage(st, obj.g("usage"));
        let identity = format!("{}:result", st.invocation);
        claude_usage(st, out, counts, None, &identity, ts);
        let subtype = owned(obj.g("subtype"));
        if is_true(obj.g("is_error")) && subtype.as_deref() != Some("success") {
            let errors: Vec<Cow<'_, str>> = obj.g("errors").as_list().iter().filter_map(|e| e.as_str()).collect();
            let msg = if errors.is_empty() { subtype } else { Some(errors.join("\n")) };
            let identity = format!("{}:result", st.invocation);
            let data = Val::obj(vec![("message", Val::opt_str(msg.clone()))]);
            st.emit(out, "system", "error", msg, Some(data), &identity, ts);
        }
        return Ok(());
    }
    if !obj.g("parent_tool_use_id").is_null() {
        return Ok(());
    }
    if t.str_eq("assistant") {
        assistant(st, obj, ts, true, out, None, None);
    } else {
        user(st, obj, ts, out, None);
    }
    Ok(())
}
