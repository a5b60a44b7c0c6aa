//! Claude Code session files and `claude -p --output-format stream-json --verbose` stdout (twin of
//! `_pyclaude.py`, which is the spec: see docs/formats-mapping.md, "Claude Code").

pub use crate::codex::UnknownRecord;
use crate::common::{excerpt, parse_json_str, parse_ts};
use crate::json::{JStr, Val, NULL};
use crate::mapper::{Git, MapperState, Pending, Row, Usage};
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
const FILE_TOOLS: &[&str] = &["Write", "Edit", "MultiEdit", "NotebookEdit"];
const TODO_TOOLS: &[&str] = &["TodoWrite", "TaskCreate", "TaskUpdate", "TaskList", "TaskGet"];
const SEARCH_TOOLS: &[&str] = &["WebSearch", "WebFetch"];
const AGENT_TOOLS: &[&str] = &["Agent", "Task"];

fn in_set(v: &Val<'_>, set: &[&str]) -> bool {
    match v.as_jstr() {
        Some(s) => set.contains(&s.get().as_ref()),
        None => false,
    }
}

fn is_true(v: &Val<'_>) -> bool {
    matches!(v, Val::Bool(true))
}

/// `a or b` on optional strings (an empty string is falsy).
fn or_str<'x>(a: Option<Cow<'x, str>>, b: Option<Cow<'x, str>>) -> Option<Cow<'x, str>> {
    match a {
        Some(s) if !s.is_empty() => Some(s),
        _ => b,
    }
}

fn owned(v: &Val<'_>) -> Option<String> {
    v.as_str().map(Cow::into_owned)
}

fn set_str(field: &mut Option<String>, v: &Val<'_>) {
    if let Some(s) = v.as_str() {
        *field = Some(s.into_owned());
    }
}

/// `"\n".join(b["text"] for b in blocks if dict, type == "text" and text is a str)`.
fn text_blocks(blocks: &[Val<'_>]) -> String {
    let parts: Vec<Cow<'_, str>> =
        blocks.iter().filter(|b| b.is_obj() && b.g("type").str_eq("text")).filter_map(|b| b.g("text").as_str()).collect();
    parts.join("\n")
}

/// `_parse_i64`: optional `-`, then ASCII digits only, within i64.
fn parse_i64(text: &str) -> Option<i64> {
    let t = text.strip_prefix('-').unwrap_or(text);
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<i64>().ok()
}

// -- extra (snapshot-visible mapper state) -----------------------------------------------------
fn extra_get<'s>(st: &'s MapperState, key: &str) -> &'s Val<'static> {
    st.extra.g(key)
}

fn extra_set(st: &mut MapperState, key: &'static str, v: Val<'static>) {
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
fn add_usage(st: &mut MapperState, u: &Val<'_>) {
    if !u.is_nonempty_obj() {
        return;
    }
    let inp = u.g("input_tokens").as_int().unwrap_or(0);
    let cache_new = u.g("cache_creation_input_tokens").as_int().unwrap_or(0);
    let cache_read = u.g("cache_read_input_tokens").as_int().unwrap_or(0);
    let out = u.g("output_tokens").as_int().unwrap_or(0);
    let cur = st.thread.usage.clone().unwrap_or_default();
    let total_in = inp.saturating_add(cache_new).saturating_add(cache_read);
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
}

/// A tool_result's content: the string, or its text blocks joined by `\n`.
fn result_text(content: &Val<'_>) -> Option<String> {
    match content {
        Val::Str(s) => Some(s.get().into_owned()),
        Val::Arr(a) => Some(text_blocks(a)),
        _ => None,
    }
}

/// What a `tool_result` block carried.
struct ToolResult<'r> {
    text: Option<String>,
    is_error: bool,
    structured: &'r Val<'r>,
}

/// Bash: 0 for a successful result, N for an error result whose text starts `Exit code N`.
fn exit_code(call_input: &Val<'_>, result: Option<&ToolResult<'_>>) -> Option<i64> {
    let result = result?;
    if is_true(call_input.g("run_in_background")) {
        return None;
    }
    if !result.is_error {
        return Some(0);
    }
    let rest = result.text.as_deref()?.strip_prefix("Exit code ")?;
    parse_i64(rest.split('\n').next().unwrap_or(""))
}

fn item(text: Option<String>, status: Val<'static>) -> Val<'static> {
    Val::obj(vec![("text", Val::opt_str(text)), ("status", status)])
}

fn todo_items(name: &str, inp: &Val<'_>, res: &Val<'_>) -> Vec<Val<'static>> {
    let of = |t: &Val<'_>| item(owned(t.g("subject")), Val::opt_str(owned(t.g("status"))));
    match name {
        "TodoWrite" => inp
            .g("todos")
            .as_list()
            .iter()
            .filter(|t| t.is_obj())
            .map(|t| item(owned(t.g("content")), Val::opt_str(owned(t.g("status")))))
            .collect(),
        "TaskCreate" => vec![item(owned(inp.g("subject")), Val::str("pending"))],
        "TaskUpdate" => {
            let task_id = owned(inp.g("taskId"));
            let text = match owned(inp.g("subject")) {
                Some(s) if !s.is_empty() => Some(s),
                _ => task_id.map(|t| format!("#{t}")),
            };
            vec![item(text, Val::opt_str(owned(inp.g("status"))))]
        }
        "TaskList" => res.g("tasks").as_list().iter().filter(|t| t.is_obj()).map(of).collect(),
        _ => {
            let t = res.g("task");
            if t.is_obj() {
                vec![of(t)]
            } else {
                Vec::new()
            }
        }
    }
}

fn is_error_val(result: Option<&ToolResult<'_>>) -> Val<'static> {
    result.map_or(Val::Null, |r| Val::Bool(r.is_error))
}

/// One row for a tool call; `result` is None when no result was seen.
fn tool_row(st: &mut MapperState, call_id: &str, call: &Pending, result: Option<&ToolResult<'_>>, out: &mut Vec<Row>) {
    let name: &str = call.name.as_deref().unwrap_or("");
    let inp = &call.arguments;
    let ts = call.ts;
    let text: Option<&str> = result.and_then(|r| r.text.as_deref());
    let output = || text.map_or(Val::Null, |t| Val::str(excerpt(t)));
    let structured: &Val<'_> = result.map_or(&NULL, |r| r.structured);
    if name == "Bash" {
        let command = owned(inp.g("command"));
        let data = Val::obj(vec![
            ("command", Val::opt_str(command.clone())),
            ("exitCode", Val::opt_int(exit_code(inp, result))),
            ("output", output()),
            ("durationMs", Val::Null),
            ("isError", is_error_val(result)),
        ]);
        st.emit(out, "tool", "cmd", command, Some(data), call_id, ts);
    } else if FILE_TOOLS.contains(&name) {
        let path = or_str(inp.g("file_path").as_str(), inp.g("notebook_path").as_str()).map(Cow::into_owned);
        let kind = if name == "Write" && !structured.g("type").str_eq("update") { "add" } else { "update" };
        let row_text = match &path {
            None => kind.to_owned(),
            Some(p) => format!("{kind} {p}"),
        };
        let data = Val::obj(vec![
            ("changes", Val::Arr(vec![Val::obj(vec![("path", Val::opt_str(path)), ("kind", Val::str(kind))])])),
            ("exitCode", Val::Null),
            ("output", output()),
            ("isError", is_error_val(result)),
        ]);
        st.emit(out, "tool", "file", Some(row_text), Some(data), call_id, ts);
    } else if TODO_TOOLS.contains(&name) {
        let row_text = if name == "TodoWrite" { None } else { text.map(str::to_owned) };
        let data = Val::obj(vec![("items", Val::Arr(todo_items(name, inp, structured))), ("isError", is_error_val(result))]);
        st.emit(out, "tool", "todo", row_text, Some(data), call_id, ts);
    } else if SEARCH_TOOLS.contains(&name) {
        let query = owned(inp.g(if name == "WebSearch" { "query" } else { "url" }));
        let data =
            Val::obj(vec![("query", Val::opt_str(query.clone())), ("output", output()), ("isError", is_error_val(result))]);
        st.emit(out, "tool", "search", query, Some(data), call_id, ts);
    } else if let Some(rest) = name.strip_prefix("mcp__") {
        let (server, tool) = rest.split_once("__").unwrap_or((rest, ""));
        let res = match text {
            None => Val::Null,
            Some(t) => parse_json_str(t).unwrap_or_else(|| Val::str(t.to_owned())),
        };
        let row_text = format!("{server}.{tool}");
        let data = Val::obj(vec![
            ("server", Val::str(server.to_owned())),
            ("tool", Val::str(tool.to_owned())),
            ("arguments", inp.clone()),
            ("result", res),
            ("isError", is_error_val(result)),
        ]);
        st.emit(out, "tool", "mcp", Some(row_text), Some(data), call_id, ts);
    } else {
        let mut members = vec![
            ("name", Val::str(name.to_owned())),
            ("arguments", inp.clone()),
            ("output", output()),
            ("isError", is_error_val(result)),
        ];
        if AGENT_TOOLS.contains(&name) {
            let sub = match structured.g("agentId").as_str() {
                None => Val::Null,
                Some(agent) => {
                    let tid = st.thread_id();
                    Val::str(format!("{tid}/agent-{agent}"))
                }
            };
            members.push(("subagentThreadId", sub));
        }
        st.emit(out, "tool", "tool", Some(name.to_owned()), Some(Val::obj(members)), call_id, ts);
    }
}

/// Calls that never got a result still get their row (in tool_use id order).
fn flush_pending(st: &mut MapperState, out: &mut Vec<Row>) {
    let pending = std::mem::take(&mut st.pending);
    for (call_id, call) in &pending {
        tool_row(st, call_id, call, None, out);
    }
}

fn assistant(st: &mut MapperState, obj: &Val<'_>, ts: Option<i64>, stream: bool, out: &mut Vec<Row>) {
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
        return;
    }
    set_str(&mut st.thread.model, model);
    if !stream {
        if let Some(mid) = msg.g("id").as_str() {
            if !extra_get(st, "lastMessageId").str_eq(&mid) {
                // one response = several records sharing message.id
                extra_set(st, "lastMessageId", Val::str(mid.into_owned()));
                add_usage(st, msg.g("usage"));
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
            if let Some(call_id) = b.g("id").as_str() {
                let call = Pending { name: owned(b.g("name")), namespace: None, arguments: b.g("input").to_owned_val(), input: None, ts };
                st.pending.insert(call_id.into_owned(), call);
            }
        }
    }
}

fn set_turn(st: &mut MapperState, prompt_id: &Option<String>) {
    if let Some(p) = prompt_id {
        st.turn_id = Some(p.clone());
    }
}

fn user(st: &mut MapperState, obj: &Val<'_>, ts: Option<i64>, out: &mut Vec<Row>) {
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
            // a result without its call (cut file, or a copy): nothing to pair
            let Some(call) = st.pending.remove(call_id.as_ref()) else { continue };
            let result = ToolResult {
                text: result_text(b.g("content")),
                is_error: is_true(b.g("is_error")),
                structured: if single { structured } else { &NULL },
            };
            tool_row(st, &call_id, &call, Some(&result), out);
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
        flush_pending(st, out); // calls still waiting get their rows in the turn they belong to
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
    if t.str_eq("assistant") {
        assistant(st, obj, ts, false, out);
    } else if t.str_eq("user") {
        user(st, obj, ts, out);
    }
    // attachment and system records: context, hooks, compaction markers: no row
    Ok(())
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
        flush_pending(st, out);
        add_usage(st, obj.g("usage"));
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
        assistant(st, obj, ts, true, out);
    } else {
        user(st, obj, ts, out);
    }
    Ok(())
}
