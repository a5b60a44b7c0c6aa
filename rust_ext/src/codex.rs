//! Codex rollouts and `codex exec --json` streams (twin of `_pycodex.py`).

use crate::common::{as_owned, excerpt, parse_json_arg, parse_tool_output, parse_ts, py_isspace, Body};
use crate::json::{py_str, JStr, Val};
use crate::mapper::{Git, MapperState, Pending, Row, Usage};
use std::borrow::Cow;

/// A well-formed record of a type this parser does not know (skipped, counted as `unknown`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownRecord;

type R = Result<(), UnknownRecord>;

const ROLLOUT_TYPES: &[&str] =
    &["session_meta", "turn_context", "response_item", "event_msg", "compacted", "world_state", "token_usage_record"];
const RESPONSE_ITEM_TYPES: &[&str] = &[
    "message",
    "reasoning",
    "function_call",
    "function_call_output",
    "custom_tool_call",
    "custom_tool_call_output",
    "web_search_call",
    "tool_search_call",
    "tool_search_output",
    "local_shell_call",
    "ghost_snapshot",
    "compaction",
    "image_generation_call",
];
const SILENT_ITEMS: &[&str] = &["tool_search_call", "tool_search_output", "ghost_snapshot", "compaction"];
const SILENT_EVENTS: &[&str] = &[
    "agent_message",
    "agent_reasoning",
    "agent_reasoning_raw_content",
    "context_compacted",
    "thread_settings_applied",
    "token_count",
    "task_started",
    "item_completed",
    "task_complete",
    "turn_aborted",
    "user_message",
    "error",
    "entered_review_mode",
    "exited_review_mode",
    "undo_completed",
    "thread_name_updated",
];
const INJECTED_PREFIXES: &[&str] = &[
    "<environment_context>",
    "<user_instructions>",
    "<turn_aborted>",
    "<skills_instructions>",
    "<permissions instructions>",
    "<user_shell_command>",
    "<INSTRUCTIONS>",
    "# AGENTS.md instructions",
    "Another language model started to solve this problem",
];
const SHELL_TOOLS: &[&str] = &["shell", "exec_command", "container.exec", "local_shell", "shell_command"];
const EXEC_TYPES: &[&str] =
    &["thread.started", "turn.started", "turn.completed", "turn.failed", "item.started", "item.updated", "item.completed", "error"];

/// Every key the mappers read from anything (a superset of what `map_rollout` reads inside a
/// payload): members of a payload with other keys are validated but not built.
pub fn payload_key_read(k: &str) -> bool {
    // by length and first byte: at most one or two comparisons per key
    let Some(&first) = k.as_bytes().first() else { return false };
    match (k.len(), first) {
        (2, b'i') => matches!(k, "id"),
        (3, b'c') => matches!(k, "cmd" | "cwd"),
        (3, b'g') => matches!(k, "git"),
        (4, b'i') => matches!(k, "info" | "item"),
        (4, b'k') => matches!(k, "kind"),
        (4, b'n') => matches!(k, "name"),
        (4, b'p') => matches!(k, "path" | "plan"),
        (4, b'r') => matches!(k, "role"),
        (4, b's') => matches!(k, "step"),
        (4, b't') => matches!(k, "text" | "tool" | "type"),
        (5, b'e') => matches!(k, "error"),
        (5, b'i') => matches!(k, "input" | "items"),
        (5, b'm') => matches!(k, "model"),
        (5, b'q') => matches!(k, "query"),
        (5, b'u') => matches!(k, "usage"),
        (6, b'a') => matches!(k, "action"),
        (6, b'b') => matches!(k, "branch"),
        (6, b'i') => matches!(k, "images"),
        (6, b'o') => matches!(k, "output"),
        (6, b'r') => matches!(k, "reason" | "result"),
        (6, b's') => matches!(k, "server" | "status"),
        (7, b'c') => matches!(k, "call_id" | "changes" | "command" | "content"),
        (7, b'm') => matches!(k, "message"),
        (7, b'p') => matches!(k, "payload"),
        (7, b's') => matches!(k, "summary"),
        (7, b't') => matches!(k, "turn_id"),
        (8, b'm') => matches!(k, "metadata"),
        (9, b'a') => matches!(k, "arguments"),
        (9, b'c') => matches!(k, "completed"),
        (9, b'e') => matches!(k, "exit_code"),
        (9, b'n') => matches!(k, "namespace"),
        (9, b't') => matches!(k, "thread_id" | "timestamp"),
        (10, b'p') => matches!(k, "provenance"),
        (11, b'c') => matches!(k, "cli_version" | "commit_hash"),
        (11, b'e') => matches!(k, "explanation"),
        (11, b't') => matches!(k, "thread_name"),
        (12, b'h') => matches!(k, "history_base"),
        (12, b'i') => matches!(k, "input_tokens"),
        (12, b't') => matches!(k, "total_tokens"),
        (13, b'o') => matches!(k, "output_tokens"),
        (14, b'f') => matches!(k, "forked_from_id"),
        (14, b'r') => matches!(k, "repository_url"),
        (15, b't') => matches!(k, "thread_settings"),
        (16, b'd') => matches!(k, "duration_seconds"),
        (16, b'l') => matches!(k, "last_token_usage"),
        (17, b'a') => matches!(k, "aggregated_output"),
        (17, b'b') => matches!(k, "base_instructions"),
        (17, b'c') => matches!(k, "compaction_output"),
        (17, b't') => matches!(k, "total_token_usage"),
        (18, b'c') => matches!(k, "content_item_kinds"),
        (19, b'c') => matches!(k, "cached_input_tokens"),
        (23, b'r') => matches!(k, "reasoning_output_tokens"),
        (24, b'c') => matches!(k, "cache_write_input_tokens"),
        (42, b'i') => matches!(k, "internal_chat_message_metadata_passthrough"),
        _ => false,
    }
}

fn in_set(v: &Val<'_>, set: &[&str]) -> bool {
    match v.as_jstr() {
        Some(s) => {
            let s = s.get();
            set.contains(&s.as_ref())
        }
        None => false,
    }
}

/// `a or b` on optional strings (an empty string is falsy).
fn or_str<'x>(a: Option<Cow<'x, str>>, b: Option<Cow<'x, str>>) -> Option<Cow<'x, str>> {
    match a {
        Some(s) if !s.is_empty() => Some(s),
        _ => b,
    }
}

fn nonempty(s: Option<Cow<'_, str>>) -> Option<Cow<'_, str>> {
    s.filter(|s| !s.is_empty())
}

pub fn detect(obj: &Val<'_>) -> Option<&'static str> {
    let t = obj.g("type");
    if obj.has("payload") && in_set(t, ROLLOUT_TYPES) {
        return Some("rollout");
    }
    if in_set(t, EXEC_TYPES) && !obj.has("payload") {
        return Some("exec");
    }
    if t.is_null() && obj.has("id") && obj.has("timestamp") {
        return Some("rollout");
    }
    None
}

// -- rollouts ----------------------------------------------------------------------------------
fn texts<'v>(content: &'v Val<'_>, types: &[&str]) -> Vec<Cow<'v, str>> {
    content
        .as_list()
        .iter()
        .filter(|c| c.is_obj() && in_set(c.g("type"), types))
        .filter_map(|c| c.g("text").as_str())
        .collect()
}

/// `join` taking the parts: a single owned part is moved, not copied.
fn join_owned(mut parts: Vec<Cow<'_, str>>, sep: &str) -> String {
    if parts.len() == 1 {
        return parts.pop().map(Cow::into_owned).unwrap_or_default();
    }
    join(&parts, sep)
}

fn join(parts: &[Cow<'_, str>], sep: &str) -> String {
    let mut n = 0;
    for p in parts {
        n += p.len() + sep.len();
    }
    let mut s = String::with_capacity(n);
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            s.push_str(sep);
        }
        s.push_str(p);
    }
    s
}

fn usage(u: &Val<'_>) -> Option<Usage> {
    match u {
        Val::Obj(m) if !m.is_empty() => Some(Usage {
            input: u.g("input_tokens").as_int(),
            cached_input: u.g("cached_input_tokens").as_int(),
            output: u.g("output_tokens").as_int(),
            reasoning_output: u.g("reasoning_output_tokens").as_int(),
            total: u.g("total_tokens").as_int(),
        }),
        _ => None,
    }
}

fn set_str(field: &mut Option<String>, v: Option<Cow<'_, str>>) {
    if let Some(v) = v {
        *field = Some(v.into_owned());
    }
}

fn session_meta(st: &mut MapperState, p: &Val<'_>) {
    st.set_thread_id(p.g("id"), true);
    if let Some(created) = parse_ts(p.g("timestamp")) {
        if st.thread.created_at.is_none() {
            st.thread.created_at = Some(created);
        }
    }
    set_str(&mut st.thread.cwd, p.g("cwd").as_str());
    set_str(&mut st.thread.cli_version, p.g("cli_version").as_str());
    let git = p.g("git");
    if git.is_obj() {
        st.thread.git = Some(Git {
            commit: as_owned(git.g("commit_hash")),
            branch: as_owned(git.g("branch")),
            repo: as_owned(git.g("repository_url")),
        });
    }
    let parent = or_str(p.g("forked_from_id").as_str(), p.g("history_base").g("thread_id").as_str());
    set_str(&mut st.thread.parent_thread_id, parent);
    if st.thread.model.is_none() {
        set_str(&mut st.thread.model, p.g("base_instructions").g("provenance").g("model").as_str());
    }
}

fn is_injected(p: &Val<'_>, text: &str) -> bool {
    let kinds = p.g("internal_chat_message_metadata_passthrough").g("content_item_kinds").as_list();
    if !kinds.is_empty() {
        return !kinds.iter().any(|k| matches!(k.as_jstr(), Some(s) if s.starts_with("user.")));
    }
    let t = text.trim_start_matches(py_isspace);
    INJECTED_PREFIXES.iter().any(|pre| t.starts_with(pre))
}

fn message_item(st: &mut MapperState, obj: &Val<'_>, p: &Val<'_>, ts: Option<i64>, out: &mut Vec<Row>) {
    let role = p.g("role");
    if matches!(obj.g("metadata").g("compaction_output"), Val::Bool(true)) {
        // the model's raw reply to a compaction request; the `compacted` record carries it
    } else if role.str_eq("assistant") {
        let text = join_owned(texts(p.g("content"), &["output_text", "input_text"]), "\n");
        if !text.is_empty() {
            st.emit_self_id(out, "assistant", "message", text, None, ts);
        }
    } else if role.str_eq("developer") || role.str_eq("system") {
        let text = join_owned(texts(p.g("content"), &["input_text", "output_text"]), "\n\n");
        if !text.is_empty() {
            st.emit_self_id(out, "system", "context", text, None, ts);
        }
    } else if role.str_eq("user") {
        let kinds = p.g("internal_chat_message_metadata_passthrough").g("content_item_kinds").as_list();
        if kinds.iter().any(|k| matches!(k.as_jstr(), Some(s) if s.starts_with("user."))) {
            return; // a real user message whatever its text (`is_injected` is false)
        }
        let text = join_owned(texts(p.g("content"), &["input_text"]), "\n\n");
        if !text.is_empty() && is_injected(p, &text) {
            st.emit_self_id(out, "system", "context", text, None, ts);
        }
    }
}

fn patch_changes(patch: &str, cwd: Option<&str>) -> Vec<(String, &'static str)> {
    let mut changes = Vec::new();
    for line in patch.split('\n') {
        for (prefix, kind) in [("*** Add File: ", "add"), ("*** Update File: ", "update"), ("*** Delete File: ", "delete")] {
            if let Some(rest) = line.strip_prefix(prefix) {
                let mut path = rest.trim_matches([' ', '\r']).to_owned();
                if let Some(cwd) = cwd.filter(|c| !c.is_empty()) {
                    if !path.starts_with('/') {
                        path = format!("{}/{}", cwd.trim_end_matches('/'), path);
                    }
                }
                changes.push((path, kind));
            }
        }
    }
    changes
}

fn opt_excerpt(body: Option<Body<'_>>) -> Val<'static> {
    match body {
        None => Val::Null,
        Some(b) => Val::str(b.excerpt()),
    }
}

fn tool_row(st: &mut MapperState, call: &Pending, call_id: &str, output: &Val<'_>, out: &mut Vec<Row>) {
    let name: &str = call.name.as_deref().unwrap_or("");
    let ns = call.namespace.as_deref();
    let ts = call.ts;
    let to = parse_tool_output(output);
    if name == "apply_patch" {
        let patch: Option<String> = match &call.input {
            Some(i) => Some(i.clone()),
            None => parse_json_arg(&call.arguments).g("input").as_str().map(|s| s.into_owned()),
        };
        let cwd = st.thread.cwd.clone();
        let changes = patch_changes(patch.as_deref().unwrap_or(""), cwd.as_deref());
        let text = changes.iter().map(|(p, k)| format!("{k} {p}")).collect::<Vec<_>>().join("\n");
        let data = Val::obj(vec![
            (
                "changes",
                Val::Arr(changes.into_iter().map(|(p, k)| Val::obj(vec![("path", Val::str(p)), ("kind", Val::str(k))])).collect()),
            ),
            ("exitCode", Val::opt_int(to.exit_code)),
            ("output", opt_excerpt(to.body)),
        ]);
        st.emit(out, "tool", "file", Some(text), Some(data), call_id, ts);
    } else if SHELL_TOOLS.contains(&name) {
        let args = parse_json_arg(&call.arguments);
        let command = command_text(&args);
        let data = Val::obj(vec![
            ("command", Val::opt_str(command.clone())),
            ("exitCode", Val::opt_int(to.exit_code)),
            ("output", opt_excerpt(to.body)),
            ("durationMs", Val::opt_int(to.duration)),
        ]);
        st.emit(out, "tool", "cmd", command, Some(data), call_id, ts);
    } else if name == "update_plan" {
        let args = parse_json_arg(&call.arguments);
        let items: Vec<Val<'static>> = args
            .g("plan")
            .as_list()
            .iter()
            .filter(|s| s.is_obj())
            .map(|s| Val::obj(vec![("text", Val::opt_str(s.g("step").as_str())), ("status", Val::opt_str(s.g("status").as_str()))]))
            .map(Val::into_owned)
            .collect();
        let expl = as_owned(args.g("explanation"));
        st.emit(out, "tool", "todo", expl, Some(Val::obj(vec![("items", Val::Arr(items))])), call_id, ts);
    } else if ns.is_some_and(|n| n.starts_with("mcp__")) || name.starts_with("mcp__") {
        let (server, tool): (String, String) = match ns.filter(|n| n.starts_with("mcp__")) {
            Some(n) => (n["mcp__".len()..].to_owned(), name.to_owned()),
            None => {
                let rest = &name["mcp__".len()..];
                match rest.split_once("__") {
                    Some((a, b)) => (a.to_owned(), b.to_owned()),
                    None => (rest.to_owned(), String::new()),
                }
            }
        };
        let result = match &to.body {
            None => Val::Null,
            Some(b) => parse_json_arg(&Val::Str(JStr::from_plain(b.text()))),
        };
        let text = format!("{server}.{tool}");
        let data = Val::obj(vec![
            ("server", Val::str(server)),
            ("tool", Val::str(tool)),
            ("arguments", parse_json_arg(&call.arguments)),
            ("result", result),
        ]);
        st.emit(out, "tool", "mcp", Some(text), Some(data), call_id, ts);
    } else {
        let args = match &call.input {
            None => parse_json_arg(&call.arguments),
            Some(i) => Val::str(i.clone()),
        };
        let data = Val::obj(vec![("name", Val::str(name.to_owned())), ("arguments", args), ("output", opt_excerpt(to.body))]);
        st.emit(out, "tool", "tool", Some(name.to_owned()), Some(data), call_id, ts);
    }
}

fn command_text(args: &Val<'_>) -> Option<String> {
    if args.is_obj() {
        let cmd = match args.get("cmd") {
            Some(c) => c,
            None => args.g("command"),
        };
        if let Some(s) = cmd.as_str() {
            return Some(s.into_owned());
        }
        if let Val::Arr(a) = cmd {
            let parts: Option<Vec<Cow<'_, str>>> = a.iter().map(|c| c.as_str()).collect();
            if let Some(parts) = parts {
                if parts.len() == 3
                    && (parts[1] == "-lc" || parts[1] == "-c")
                    && ["bash", "sh", "zsh"].iter().any(|s| parts[0].ends_with(s))
                {
                    return Some(parts[2].clone().into_owned());
                }
                return Some(join(&parts, " "));
            }
        }
    }
    args.as_str().map(|s| s.into_owned())
}

fn flush_pending(st: &mut MapperState, out: &mut Vec<Row>) {
    let pending = std::mem::take(&mut st.pending);
    for (call_id, call) in &pending {
        tool_row(st, call, call_id, &Val::Null, out);
    }
}

fn response_item(st: &mut MapperState, obj: &Val<'_>, p: &Val<'_>, ts: Option<i64>, out: &mut Vec<Row>) -> R {
    let t = p.g("type");
    let ty = t.as_str();
    let ty = ty.as_deref();
    match ty {
        Some("message") => message_item(st, obj, p, ts, out),
        Some("reasoning") => {
            let mut parts = texts(p.g("summary"), &["summary_text"]);
            if parts.is_empty() {
                parts = texts(p.g("content"), &["reasoning_text", "text"]);
            }
            let text = join_owned(parts, "\n");
            if !text.is_empty() {
                st.emit_self_id(out, "assistant", "reason", text, None, ts);
            }
        }
        Some(k @ ("function_call" | "custom_tool_call")) => {
            let call_id = or_str(p.g("call_id").as_str(), p.g("id").as_str());
            if let Some(call_id) = call_id {
                let pending = Pending {
                    name: as_owned(p.g("name")),
                    namespace: as_owned(p.g("namespace")),
                    arguments: if k == "function_call" { p.g("arguments").to_owned_val() } else { Val::Null },
                    input: if k == "custom_tool_call" { as_owned(p.g("input")) } else { None },
                    ts,
                    pos: None,
                };
                st.pending.insert(call_id.into_owned(), pending);
            }
        }
        Some("function_call_output" | "custom_tool_call_output") => {
            if let Some(call_id) = p.g("call_id").as_str() {
                if let Some(call) = st.pending.remove(call_id.as_ref()) {
                    tool_row(st, &call, &call_id, p.g("output"), out);
                }
            }
        }
        Some("web_search_call") => {
            let query = or_str(p.g("action").g("query").as_str(), p.g("query").as_str()).map(Cow::into_owned);
            let identity = match nonempty(p.g("id").as_str()) {
                Some(id) => id.into_owned(),
                None => query.clone().unwrap_or_default(),
            };
            let data = Val::obj(vec![("query", Val::opt_str(query.clone()))]);
            st.emit(out, "tool", "search", query, Some(data), &identity, ts);
        }
        Some(s) if SILENT_ITEMS.contains(&s) => {}
        _ => return Err(UnknownRecord),
    }
    Ok(())
}

fn event(st: &mut MapperState, p: &Val<'_>, ts: Option<i64>, out: &mut Vec<Row>) -> R {
    let t = p.g("type").as_str();
    match t.as_deref() {
        Some("user_message") => {
            let text = p.g("message").as_str().map(Cow::into_owned).unwrap_or_default();
            let images: Vec<Val<'static>> = p
                .g("images")
                .as_list()
                .iter()
                .map(|i| match i.as_str() {
                    Some(s) if !s.starts_with("data:") => Val::str(s.into_owned()),
                    _ => Val::str("inline"),
                })
                .collect();
            if !text.is_empty() || !images.is_empty() {
                st.new_turn();
                let data = if images.is_empty() { None } else { Some(Val::obj(vec![("images", Val::Arr(images))])) };
                st.emit_self_id(out, "user", "message", text, data, ts);
            }
        }
        Some("item_completed") => {
            let item = p.g("item");
            if item.is_obj() && item.g("type").str_eq("UserMessage") {
                let content = item.g("content").as_list();
                let parts: Vec<Cow<'_, str>> = content
                    .iter()
                    .filter(|c| c.is_obj() && c.g("type").str_eq("text"))
                    .filter_map(|c| c.g("text").as_str())
                    .collect();
                let text = join(&parts, "\n");
                let images: Vec<Val<'static>> = content
                    .iter()
                    .filter(|c| c.is_obj() && (c.g("type").str_eq("local_image") || c.g("type").str_eq("image")))
                    .map(|c| Val::str(nonempty(c.g("path").as_str()).map_or_else(|| "inline".to_owned(), Cow::into_owned)))
                    .collect();
                if !text.is_empty() || !images.is_empty() {
                    if let Some(tid) = nonempty(p.g("turn_id").as_str()) {
                        st.turn_id = Some(tid.into_owned());
                    }
                    st.new_turn();
                    let data = if images.is_empty() { None } else { Some(Val::obj(vec![("images", Val::Arr(images))])) };
                    st.emit_self_id(out, "user", "message", text, data, ts);
                }
            }
        }
        Some("task_started") => {
            if let Some(tid) = nonempty(p.g("turn_id").as_str()) {
                st.turn_id = Some(tid.into_owned());
            }
        }
        Some("task_complete") => {
            flush_pending(st, out);
            if let Some(msg) = nonempty(p.g("error").g("message").as_str()) {
                emit_error(st, out, msg.into_owned(), ts);
            }
        }
        Some("turn_aborted") => {
            flush_pending(st, out);
            let reason = nonempty(p.g("reason").as_str()).map_or_else(|| "interrupted".to_owned(), Cow::into_owned);
            let data = Val::obj(vec![("reason", Val::str(reason.clone()))]);
            st.emit(out, "system", "aborted", Some(format!("Turn {reason}")), Some(data), &reason, ts);
        }
        Some("error") => {
            if let Some(msg) = nonempty(p.g("message").as_str()) {
                emit_error(st, out, msg.into_owned(), ts);
            }
        }
        Some("token_count") => {
            let info = p.g("info");
            if let Some(u) = usage(info.g("total_token_usage")) {
                st.thread.usage = Some(u);
            }
            if info.is_nonempty_obj() {
                crate::usage::codex_total(st, out, info.g("total_token_usage"), Some(info.g("last_token_usage")), "", ts);
            } else {
                crate::usage::codex_restart(st); // a process starts, before its first response (0.50)
            }
        }
        Some("thread_settings_applied") => {
            let s = p.g("thread_settings");
            set_str(&mut st.thread.model, s.g("model").as_str());
            set_str(&mut st.thread.cwd, s.g("cwd").as_str());
        }
        Some("thread_name_updated") => {
            let title = or_str(p.g("thread_name").as_str(), p.g("name").as_str());
            set_str(&mut st.thread.title, title);
        }
        Some(s) if SILENT_EVENTS.contains(&s) => {}
        _ => return Err(UnknownRecord),
    }
    Ok(())
}

fn emit_error(st: &mut MapperState, out: &mut Vec<Row>, msg: String, ts: Option<i64>) {
    let data = Val::obj(vec![("message", Val::str(msg.clone()))]);
    let id = msg.clone();
    st.emit(out, "system", "error", Some(msg), Some(data), &id, ts);
}

const COMPACTION_WRAPPER: &str = "Another language model started to solve this problem";

/// The summary itself: 0.120+ wraps it in a fixed preamble that ends with `:\n`.
fn compaction_summary(message: Option<Cow<'_, str>>) -> Option<Cow<'_, str>> {
    match message {
        Some(m) if m.starts_with(COMPACTION_WRAPPER) => match m.find(":\n") {
            Some(i) => Some(Cow::Owned(m[i + 2..].to_owned())),
            None => Some(m),
        },
        other => other,
    }
}

/// Map one rollout record (any generation).
pub fn map_rollout(st: &mut MapperState, obj: &Val<'_>, out: &mut Vec<Row>) -> R {
    let t = obj.g("type");
    let ts = parse_ts(obj.g("timestamp"));
    let p = obj.g("payload");
    if !p.is_obj() {
        if t.is_null() && obj.has("id") {
            st.touch(ts);
            session_meta(st, obj);
            return Ok(());
        }
        if in_set(t, RESPONSE_ITEM_TYPES) {
            st.touch(ts);
            return response_item(st, obj, obj, ts, out);
        }
        return Err(UnknownRecord);
    }
    st.touch(ts);
    let ty = t.as_str();
    match ty.as_deref() {
        Some("response_item") => response_item(st, obj, p, ts, out)?,
        Some("event_msg") => event(st, p, ts, out)?,
        Some("session_meta") => session_meta(st, p),
        Some("turn_context") => {
            if let Some(tid) = nonempty(p.g("turn_id").as_str()) {
                st.turn_id = Some(tid.into_owned());
            }
            set_str(&mut st.thread.model, p.g("model").as_str());
            set_str(&mut st.thread.cwd, p.g("cwd").as_str());
        }
        Some("compacted") => {
            if let Some(msg) = nonempty(compaction_summary(p.g("message").as_str())) {
                st.emit_self_id(out, "system", "compaction", msg.into_owned(), None, ts);
            }
        }
        Some("world_state" | "token_usage_record") => {}
        _ => return Err(UnknownRecord),
    }
    Ok(())
}

// -- exec --json stdout ---------------------------------------------------------------------------
fn fmt_opt(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("None")
}

fn exec_item(st: &mut MapperState, item: &Val<'_>, out: &mut Vec<Row>) -> R {
    let identity = format!("{}:{}", st.invocation, py_str(item.g("id")));
    let it = item.g("type").as_str();
    match it.as_deref() {
        Some("agent_message") => st.emit(out, "assistant", "message", as_owned(item.g("text")), None, &identity, None),
        Some("reasoning") => st.emit(out, "assistant", "reason", as_owned(item.g("text")), None, &identity, None),
        Some("command_execution") => {
            let command = as_owned(item.g("command"));
            let output = item.g("aggregated_output").as_str();
            let data = Val::obj(vec![
                ("command", Val::opt_str(command.clone())),
                ("exitCode", Val::opt_int(item.g("exit_code").as_int())),
                ("output", output.map_or(Val::Null, |o| Val::str(excerpt(&o)))),
                ("durationMs", Val::Null),
            ]);
            st.emit(out, "tool", "cmd", command, Some(data), &identity, None);
        }
        Some("file_change") => {
            let changes: Vec<(Option<String>, Option<String>)> = item
                .g("changes")
                .as_list()
                .iter()
                .filter(|c| c.is_obj())
                .map(|c| (as_owned(c.g("path")), as_owned(c.g("kind"))))
                .collect();
            let text = changes.iter().map(|(p, k)| format!("{} {}", fmt_opt(k), fmt_opt(p))).collect::<Vec<_>>().join("\n");
            let data = Val::obj(vec![
                (
                    "changes",
                    Val::Arr(changes.into_iter().map(|(p, k)| Val::obj(vec![("path", Val::opt_str(p)), ("kind", Val::opt_str(k))])).collect()),
                ),
                ("exitCode", Val::Null),
                ("output", Val::Null),
            ]);
            st.emit(out, "tool", "file", Some(text), Some(data), &identity, None);
        }
        Some("mcp_tool_call") => {
            let server = as_owned(item.g("server"));
            let tool = as_owned(item.g("tool"));
            let err = item.g("error");
            let mut members = vec![
                ("server", Val::opt_str(server.clone())),
                ("tool", Val::opt_str(tool.clone())),
                ("arguments", item.g("arguments").to_owned_val()),
                ("result", item.g("result").to_owned_val()),
            ];
            if err.is_nonempty_obj() {
                members.push(("error", Val::opt_str(as_owned(err.g("message")))));
            }
            let text = format!("{}.{}", fmt_opt(&server), fmt_opt(&tool));
            st.emit(out, "tool", "mcp", Some(text), Some(Val::obj(members)), &identity, None);
        }
        Some("web_search") => {
            let query = as_owned(item.g("query"));
            let data = Val::obj(vec![("query", Val::opt_str(query.clone()))]);
            st.emit(out, "tool", "search", query, Some(data), &identity, None);
        }
        Some("todo_list") => {
            let items: Vec<Val<'static>> = item
                .g("items")
                .as_list()
                .iter()
                .filter(|i| i.is_obj())
                .map(|i| {
                    let status = if matches!(i.g("completed"), Val::Bool(true)) { "completed" } else { "pending" };
                    Val::obj(vec![("text", Val::opt_str(as_owned(i.g("text")))), ("status", Val::str(status))])
                })
                .collect();
            st.emit(out, "tool", "todo", None, Some(Val::obj(vec![("items", Val::Arr(items))])), &identity, None);
        }
        Some("error") => {
            let msg = as_owned(item.g("message"));
            let data = Val::obj(vec![("message", Val::opt_str(msg.clone()))]);
            st.emit(out, "system", "error", msg, Some(data), &identity, None);
        }
        _ => return Err(UnknownRecord),
    }
    Ok(())
}

/// Map one `codex exec --json` event.
pub fn map_exec(st: &mut MapperState, obj: &Val<'_>, out: &mut Vec<Row>) -> R {
    let t = obj.g("type").as_str();
    match t.as_deref() {
        Some("thread.started") => {
            st.set_thread_id(obj.g("thread_id"), true);
            st.invocation += 1;
            crate::usage::codex_restart(st);
        }
        Some("turn.started") => st.new_turn(),
        Some("item.completed") => {
            let item = obj.g("item");
            let empty = Val::Obj(Vec::new());
            exec_item(st, if item.is_obj() { item } else { &empty }, out)?;
        }
        Some("item.started" | "item.updated") => {}
        Some("turn.completed") => {
            if let Some(u) = usage(obj.g("usage")) {
                st.thread.usage = Some(u);
            }
            let identity = format!("{}:", st.invocation);
            crate::usage::codex_total(st, out, obj.g("usage"), None, &identity, None);
        }
        Some("turn.failed") => {
            let msg = as_owned(obj.g("error").g("message"));
            let identity = format!("{}:turn.failed:{}", st.invocation, fmt_opt(&msg));
            let data = Val::obj(vec![("message", Val::opt_str(msg.clone()))]);
            st.emit(out, "system", "error", msg, Some(data), &identity, None);
        }
        Some("error") => {
            let msg = as_owned(obj.g("message"));
            let identity = format!("{}:error:{}", st.invocation, fmt_opt(&msg));
            let data = Val::obj(vec![("message", Val::opt_str(msg.clone()))]);
            st.emit(out, "system", "error", msg, Some(data), &identity, None);
        }
        _ => return Err(UnknownRecord),
    }
    Ok(())
}
