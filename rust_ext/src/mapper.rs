//! Per-file mapping state (twin of `_pymapper.py`): thread row, seq, turn counters, keys.

use crate::common::{self, blake16, hex, make_title, uuid_from_path, Key};
use crate::json::{self, Val};
use crate::order::{opt_num, opt_num_val, Order};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Git {
    pub commit: Option<String>,
    pub branch: Option<String>,
    pub repo: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Usage {
    pub input: Option<i64>,
    pub cached_input: Option<i64>,
    pub output: Option<i64>,
    pub reasoning_output: Option<i64>,
    pub total: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Thread {
    pub thread_id: Option<String>,
    pub source: Option<String>,
    pub rollout_path: Option<String>,
    pub title: Option<String>,
    pub cwd: Option<String>,
    pub model: Option<String>,
    pub cli_version: Option<String>,
    pub git: Option<Git>,
    pub parent_thread_id: Option<String>,
    pub created_at: Option<i64>,
    pub updated_at: Option<i64>,
    pub usage: Option<Usage>,
}

/// One message row (`docs/rows.md`); `data` is a JSON-like tree converted to Python dicts.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub thread_id: String,
    pub key: Key,
    /// An integer except for rows placed between two others (Claude Code records written late).
    pub seq: f64,
    pub ts: Option<i64>,
    pub role: &'static str,
    pub kind: &'static str,
    pub text: Option<String>,
    pub data: Option<Val<'static>>,
    pub turn_id: Option<String>,
}

/// A tool call waiting for its output. Claude Code calls keep the tool_use `input` in `arguments`
/// (snapshot shape `{name, input, ts}`, as the twin stores it); Codex calls use every field.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub arguments: Val<'static>,
    pub input: Option<String>,
    pub ts: Option<i64>,
    /// Claude Code session files: where the tool_use record was placed (`Plan::lo`).
    pub pos: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct MapperState {
    pub path: String,
    pub fmt: Option<String>,
    pub thread: Thread,
    pub thread_from_meta: bool,
    pub emitted_thread: Option<Thread>,
    pub turn_index: i64,
    pub turn_id: Option<String>,
    pub counts: HashMap<Key, i64>,
    pub pending: BTreeMap<String, Pending>,
    /// The next integer seq.
    pub seq: i64,
    pub invocation: i64,
    pub extra: Val<'static>,
    /// Claude Code session files only: the conversation order of their records.
    pub order: Option<Order>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotError;

impl MapperState {
    pub fn new(path: &str, source: &str) -> Self {
        MapperState {
            path: path.to_owned(),
            fmt: None,
            thread: Thread { source: Some(source.to_owned()), rollout_path: Some(path.to_owned()), ..Thread::default() },
            thread_from_meta: false,
            emitted_thread: None,
            turn_index: 0,
            turn_id: None,
            counts: HashMap::new(),
            pending: BTreeMap::new(),
            seq: 0,
            invocation: 0,
            extra: Val::Obj(Vec::new()),
            order: None,
        }
    }

    /// A Claude Code file (`claude` or `claude-stream`): its pending calls have the Claude shape.
    pub fn is_claude(&self) -> bool {
        matches!(self.fmt.as_deref(), Some("claude" | "claude-stream"))
    }

    pub fn thread_id(&mut self) -> &str {
        if self.thread.thread_id.is_none() {
            let tid = uuid_from_path(&self.path).unwrap_or_else(|| {
                let base = format!("path\x1f{}", self.path);
                hex(&common::row_key(base.as_bytes(), 0))
            });
            self.thread.thread_id = Some(tid);
        }
        self.thread.thread_id.as_deref().unwrap_or_default()
    }

    pub fn set_thread_id(&mut self, tid: &Val<'_>, authoritative: bool) {
        let Some(tid) = tid.as_str() else { return };
        if tid.is_empty() {
            return;
        }
        if authoritative && !self.thread_from_meta {
            self.thread.thread_id = Some(tid.into_owned());
            self.thread_from_meta = true;
        } else if self.thread.thread_id.is_none() {
            self.thread.thread_id = Some(tid.into_owned());
        }
    }

    pub fn touch(&mut self, ts: Option<i64>) {
        let Some(ts) = ts else { return };
        if self.thread.created_at.is_none() {
            self.thread.created_at = Some(ts);
        }
        if self.thread.updated_at.is_none_or(|u| ts > u) {
            self.thread.updated_at = Some(ts);
        }
    }

    pub fn thread_row_if_changed(&mut self) -> Option<Thread> {
        self.thread.thread_id.as_ref()?;
        if self.emitted_thread.as_ref() == Some(&self.thread) {
            return None;
        }
        self.emitted_thread = Some(self.thread.clone());
        Some(self.thread.clone())
    }

    pub fn new_turn(&mut self) {
        self.turn_index += 1;
        self.counts.clear();
    }

    #[allow(clippy::too_many_arguments)]
    pub fn emit(
        &mut self,
        out: &mut Vec<Row>,
        role: &'static str,
        kind: &'static str,
        text: Option<String>,
        data: Option<Val<'static>>,
        identity: &str,
        ts: Option<i64>,
    ) {
        self.emit_impl(out, role, kind, text, data, Some(identity), ts);
    }

    /// A `system/usage` row (docs/rows.md, "Token usage"). It takes no integer seq: it sits just
    /// after the rows read before it (`seq` = next - 0.5), so no other row's seq depends on it.
    pub fn emit_usage(&mut self, out: &mut Vec<Row>, data: Val<'static>, identity: &str, ts: Option<i64>) {
        let next = self.seq;
        self.emit_impl(out, "system", "usage", None, Some(data), Some(identity), ts);
        if let Some(row) = out.last_mut() {
            row.seq = next as f64 - 0.5;
        }
        self.seq = next;
    }

    /// `identity: None` means the identity is `text`.
    #[allow(clippy::too_many_arguments)]
    fn emit_impl(
        &mut self,
        out: &mut Vec<Row>,
        role: &'static str,
        kind: &'static str,
        text: Option<String>,
        data: Option<Val<'static>>,
        identity: Option<&str>,
        ts: Option<i64>,
    ) {
        self.thread_id();
        if role == "user" && kind == "message" && self.thread.title.is_none() {
            if let Some(t) = text.as_deref().filter(|t| !t.is_empty()) {
                self.thread.title = make_title(t);
            }
        }
        let tid = self.thread.thread_id.clone().unwrap_or_default();
        let ident = identity.unwrap_or_else(|| text.as_deref().unwrap_or(""));
        let mut turn = itoa(self.turn_index);
        let parts: [&[u8]; 9] = [
            tid.as_bytes(),
            b"\x1f",
            role.as_bytes(),
            b"\x1f",
            kind.as_bytes(),
            b"\x1f",
            ident.as_bytes(),
            b"\x1f",
            turn.as_bytes_(),
        ];
        let key0 = key_with(&parts, 0);
        let k = self.counts.entry(key0).or_insert(0);
        let n = *k;
        *k += 1;
        let key = if n == 0 { key0 } else { key_with(&parts, n) };
        let seq = self.seq as f64;
        out.push(Row { thread_id: tid, key, seq, ts, role, kind, text, data, turn_id: self.turn_id.clone() });
        self.seq += 1;
    }

    // -- snapshot ----------------------------------------------------------------------------
    pub fn to_val(&self) -> Val<'static> {
        let counts: Vec<(crate::json::JStr<'static>, Val<'static>)> =
            self.counts.iter().map(|(k, v)| (crate::json::JStr::from_plain(hex(k)), Val::Int(*v))).collect();
        let pending = self
            .pending
            .iter()
            .map(|(id, p)| {
                let members = if self.is_claude() {
                    // the Claude twin stores {name, input (any JSON), ts, pos}
                    vec![
                        ("name", Val::opt_str(p.name.clone())),
                        ("input", p.arguments.clone()),
                        ("ts", Val::opt_int(p.ts)),
                        ("pos", opt_num_val(p.pos)),
                    ]
                } else {
                    vec![
                        ("name", Val::opt_str(p.name.clone())),
                        ("namespace", Val::opt_str(p.namespace.clone())),
                        ("arguments", p.arguments.clone()),
                        ("input", Val::opt_str(p.input.clone())),
                        ("ts", Val::opt_int(p.ts)),
                    ]
                };
                (crate::json::JStr::from_plain(id.clone()), Val::obj(members))
            })
            .collect();
        let mut members = vec![
            ("fmt", Val::opt_str(self.fmt.clone())),
            ("thread", thread_to_val(&self.thread)),
            ("threadFromMeta", Val::Bool(self.thread_from_meta)),
            ("emittedThread", self.emitted_thread.as_ref().map_or(Val::Null, thread_to_val)),
            ("turnIndex", Val::Int(self.turn_index)),
            ("turnId", Val::opt_str(self.turn_id.clone())),
            ("counts", Val::Obj(counts)),
            ("pending", Val::Obj(pending)),
            ("seq", Val::Int(self.seq)),
            ("invocation", Val::Int(self.invocation)),
            ("extra", self.extra.clone()),
        ];
        if let Some(order) = &self.order {
            members.push(("order", order.to_val()));
        }
        Val::obj(members)
    }

    pub fn from_val(path: &str, obj: &Val<'_>) -> Result<Self, SnapshotError> {
        if !obj.is_obj() {
            return Err(SnapshotError);
        }
        let mut st = MapperState::new(path, "codex");
        st.fmt = opt_string(obj.g("fmt"))?;
        st.thread = thread_from_val(obj.get("thread").ok_or(SnapshotError)?)?;
        st.thread_from_meta = truthy(obj.g("threadFromMeta"));
        st.emitted_thread = match obj.g("emittedThread") {
            Val::Null => None,
            v => Some(thread_from_val(v)?),
        };
        st.turn_index = opt_int(obj.g("turnIndex"))?.unwrap_or(0);
        st.turn_id = opt_string(obj.g("turnId"))?;
        match obj.g("counts") {
            Val::Obj(m) => {
                for (k, v) in m {
                    let key = common::unhex(&k.get()).ok_or(SnapshotError)?;
                    st.counts.insert(key, v.as_int().ok_or(SnapshotError)?);
                }
            }
            Val::Null => {}
            _ => return Err(SnapshotError),
        }
        match obj.g("pending") {
            Val::Obj(m) => {
                for (k, v) in m {
                    if !v.is_obj() {
                        return Err(SnapshotError);
                    }
                    let p = if st.is_claude() {
                        Pending {
                            name: opt_string(v.g("name"))?,
                            namespace: None,
                            arguments: v.g("input").to_owned_val(),
                            input: None,
                            ts: opt_int(v.g("ts"))?,
                            pos: opt_num(v.g("pos"))?,
                        }
                    } else {
                        Pending {
                            name: opt_string(v.g("name"))?,
                            namespace: opt_string(v.g("namespace"))?,
                            arguments: v.g("arguments").to_owned_val(),
                            input: opt_string(v.g("input"))?,
                            ts: opt_int(v.g("ts"))?,
                            pos: None,
                        }
                    };
                    st.pending.insert(k.get().into_owned(), p);
                }
            }
            Val::Null => {}
            _ => return Err(SnapshotError),
        }
        st.seq = opt_int(obj.g("seq"))?.unwrap_or(0);
        st.invocation = opt_int(obj.g("invocation"))?.unwrap_or(0);
        st.extra = match obj.g("extra") {
            Val::Null => Val::Obj(Vec::new()),
            v @ Val::Obj(_) => v.to_owned_val(),
            _ => return Err(SnapshotError),
        };
        st.order = match obj.g("order") {
            Val::Null => None,
            v => Some(Order::from_val(v)?),
        };
        Ok(st)
    }
}

fn truthy(v: &Val<'_>) -> bool {
    match v {
        Val::Null => false,
        Val::Bool(b) => *b,
        Val::Int(i) => *i != 0,
        Val::UInt(u) => *u != 0,
        Val::BigInt(_) => true,
        Val::Float(f) => *f != 0.0,
        Val::Str(s) => !s.is_empty(),
        Val::Arr(a) => !a.is_empty(),
        Val::Obj(m) => !m.is_empty(),
        Val::Skipped => false,
    }
}

fn opt_string(v: &Val<'_>) -> Result<Option<String>, SnapshotError> {
    match v {
        Val::Null => Ok(None),
        Val::Str(s) => Ok(Some(s.get().into_owned())),
        _ => Err(SnapshotError),
    }
}

fn opt_int(v: &Val<'_>) -> Result<Option<i64>, SnapshotError> {
    match v {
        Val::Null => Ok(None),
        Val::Int(i) => Ok(Some(*i)),
        _ => Err(SnapshotError),
    }
}

pub fn thread_to_val(t: &Thread) -> Val<'static> {
    Val::obj(vec![
        ("threadId", Val::opt_str(t.thread_id.clone())),
        ("source", Val::opt_str(t.source.clone())),
        ("rolloutPath", Val::opt_str(t.rollout_path.clone())),
        ("title", Val::opt_str(t.title.clone())),
        ("cwd", Val::opt_str(t.cwd.clone())),
        ("model", Val::opt_str(t.model.clone())),
        ("cliVersion", Val::opt_str(t.cli_version.clone())),
        (
            "git",
            t.git.as_ref().map_or(Val::Null, |g| {
                Val::obj(vec![
                    ("commit", Val::opt_str(g.commit.clone())),
                    ("branch", Val::opt_str(g.branch.clone())),
                    ("repo", Val::opt_str(g.repo.clone())),
                ])
            }),
        ),
        ("parentThreadId", Val::opt_str(t.parent_thread_id.clone())),
        ("createdAt", Val::opt_int(t.created_at)),
        ("updatedAt", Val::opt_int(t.updated_at)),
        ("usage", t.usage.as_ref().map_or(Val::Null, usage_to_val)),
    ])
}

pub fn usage_to_val(u: &Usage) -> Val<'static> {
    Val::obj(vec![
        ("inputTokens", Val::opt_int(u.input)),
        ("cachedInputTokens", Val::opt_int(u.cached_input)),
        ("outputTokens", Val::opt_int(u.output)),
        ("reasoningOutputTokens", Val::opt_int(u.reasoning_output)),
        ("totalTokens", Val::opt_int(u.total)),
    ])
}

fn thread_from_val(v: &Val<'_>) -> Result<Thread, SnapshotError> {
    if !v.is_obj() {
        return Err(SnapshotError);
    }
    let git = match v.g("git") {
        Val::Null => None,
        g @ Val::Obj(_) => Some(Git {
            commit: opt_string(g.g("commit"))?,
            branch: opt_string(g.g("branch"))?,
            repo: opt_string(g.g("repo"))?,
        }),
        _ => return Err(SnapshotError),
    };
    let usage = match v.g("usage") {
        Val::Null => None,
        u @ Val::Obj(_) => Some(Usage {
            input: opt_int(u.g("inputTokens"))?,
            cached_input: opt_int(u.g("cachedInputTokens"))?,
            output: opt_int(u.g("outputTokens"))?,
            reasoning_output: opt_int(u.g("reasoningOutputTokens"))?,
            total: opt_int(u.g("totalTokens"))?,
        }),
        _ => return Err(SnapshotError),
    };
    Ok(Thread {
        thread_id: opt_string(v.g("threadId"))?,
        source: opt_string(v.g("source"))?,
        rollout_path: opt_string(v.g("rolloutPath"))?,
        title: opt_string(v.g("title"))?,
        cwd: opt_string(v.g("cwd"))?,
        model: opt_string(v.g("model"))?,
        cli_version: opt_string(v.g("cliVersion"))?,
        git,
        parent_thread_id: opt_string(v.g("parentThreadId"))?,
        created_at: opt_int(v.g("createdAt"))?,
        updated_at: opt_int(v.g("updatedAt"))?,
        usage,
    })
}

fn key_with(parts: &[&[u8]], k: i64) -> Key {
    let mut kb = itoa(k);
    let mut all: Vec<&[u8]> = Vec::with_capacity(parts.len() + 2);
    all.extend_from_slice(parts);
    all.push(b"\x1f");
    all.push(kb.as_bytes_());
    blake16(&all)
}

pub struct ItoaBuf {
    b: [u8; 24],
    start: usize,
}
impl ItoaBuf {
    pub fn as_bytes_(&mut self) -> &[u8] {
        &self.b[self.start..]
    }
}
pub fn itoa(v: i64) -> ItoaBuf {
    let mut b = [0u8; 24];
    let mut i = 24;
    let neg = v < 0;
    let mut u = v.unsigned_abs();
    loop {
        i -= 1;
        b[i] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    if neg {
        i -= 1;
        b[i] = b'-';
    }
    ItoaBuf { b, start: i }
}

/// Snapshot helper: `json.dumps(sort_keys=True, ensure_ascii=False, separators=(",", ":"))`.
pub fn dumps(v: &Val<'_>) -> String {
    let mut s = String::new();
    json::write_val(v, &mut s);
    s
}

impl MapperState {
    /// `emit` where the identity is the row's own text (no copy of the text).
    pub fn emit_self_id(
        &mut self,
        out: &mut Vec<Row>,
        role: &'static str,
        kind: &'static str,
        text: String,
        data: Option<Val<'static>>,
        ts: Option<i64>,
    ) {
        self.emit_impl(out, role, kind, Some(text), data, None, ts);
    }
}
