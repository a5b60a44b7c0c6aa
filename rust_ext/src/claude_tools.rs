//! Claude Code tool rows (twin of `_pyclaudetools.py`): one row per `tool_use`, paired with the
//! `tool_result` that has its id, whatever order the two were written in.

use crate::claude::{extra_get, extra_set, is_true, or_str, owned, parse_i64, text_blocks};
use crate::common::{excerpt, parse_json_str};
use crate::json::{Val, NULL};
use crate::mapper::{MapperState, Pending, Row};
use crate::order::Plan;
use std::borrow::Cow;

const FILE_TOOLS: &[&str] = &["Write", "Edit", "MultiEdit", "NotebookEdit"];
const TODO_TOOLS: &[&str] = &["TodoWrite", "TaskCreate", "TaskUpdate", "TaskList", "TaskGet"];
const SEARCH_TOOLS: &[&str] = &["WebSearch", "WebFetch"];
const AGENT_TOOLS: &[&str] = &["Agent", "Task"];
/// Tool results held for a tool_use written after them.
const ORPHANS_MAX: usize = 16;

/// A tool_result's content: the string, or its text blocks joined by `\n`.
pub(crate) fn result_text(content: &Val<'_>) -> Option<String> {
    match content {
        Val::Str(s) => Some(s.get().into_owned()),
        Val::Arr(a) => Some(text_blocks(a)),
        _ => None,
    }
}

/// What a `tool_result` block carried.
pub(crate) struct ToolResult<'r> {
    pub(crate) text: Option<String>,
    pub(crate) is_error: bool,
    pub(crate) structured: &'r Val<'r>,
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
pub(crate) fn tool_row(st: &mut MapperState, call_id: &str, call: &Pending, result: Option<&ToolResult<'_>>, out: &mut Vec<Row>) {
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

/// Calls that never got a result still get their row (in tool_use id order). In a session file
/// only the calls that come before this prompt (`plan`, `ts`): a prompt written after the reply it
/// caused keeps that reply's calls waiting for their results.
pub(crate) fn flush_pending(st: &mut MapperState, out: &mut Vec<Row>, plan: Option<&Plan>, ts: Option<i64>) {
    let pending = std::mem::take(&mut st.pending);
    for (call_id, call) in pending {
        if plan.is_none_or(|p| p.before(call.pos) && !later(call.ts, ts)) {
            tool_row(st, &call_id, &call, None, out);
        } else {
            st.pending.insert(call_id, call);
        }
    }
}

/// True if timestamp `a` is known to be after `b`.
fn later(a: Option<i64>, b: Option<i64>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if a > b)
}

pub(crate) fn later_val(a: &Val<'_>, b: Option<i64>) -> bool {
    later(if let Val::Int(i) = a { Some(*i) } else { None }, b)
}

/// Keep a tool result whose tool_use was not read yet: `[callId, result, ts, uuid]` (`ts`, `uuid`:
/// the result's record), at most ORPHANS_MAX, oldest dropped first.
pub(crate) fn hold_orphan(st: &mut MapperState, item: Val<'static>) {
    let mut held = match extra_get(st, "orphans") {
        Val::Arr(a) => a.clone(),
        _ => Vec::new(),
    };
    held.push(item);
    if held.len() > ORPHANS_MAX {
        held.drain(..held.len() - ORPHANS_MAX);
    }
    extra_set(st, "orphans", Val::Arr(held));
}

pub(crate) fn take_orphan(st: &mut MapperState, call_id: &str) -> Option<Val<'static>> {
    let Val::Obj(m) = &mut st.extra else { return None };
    let (_, Val::Arr(held)) = m.iter_mut().find(|(k, _)| k.eq_str("orphans"))? else { return None };
    let i = held.iter().position(|item| item.as_list().first().is_some_and(|c| c.str_eq(call_id)))?;
    Some(held.remove(i))
}

/// A call whose result was read first: (call id, the call, the held `[callId, result, ts, uuid]`).
pub(crate) type Paired = (String, Pending, Val<'static>);
