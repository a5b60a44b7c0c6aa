//! Line splitting, identity/truncation, oversized lines, error counts, dedupe and snapshots
//! (twin of `_pytail.py`).

use crate::{claude, codex};
use crate::common::{blake16, hex, Key};
use crate::json::{self, JStr, Val};
use crate::mapper::{dumps, MapperState, Row, Thread};
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

pub const DEFAULT_MAX_LINE: usize = 32 * 1024 * 1024;
pub const HEAD_BYTES: usize = 1024;
pub const SNAPSHOT_VERSION: i64 = 1;
/// Record types whose payload no mapper reads (`_pycodex.map_rollout` returns at once for them):
/// their payload is validated but not built.
const NO_ROW_RECORDS: &[&str] = &["world_state", "token_usage_record"];
pub const ERROR_KINDS: [&str; 4] = ["invalid_json", "invalid_utf8", "oversized", "unknown"];

/// Counts per error kind, in `ERROR_KINDS` order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Errors(pub [u64; 4]);

#[derive(Debug, Clone, Copy)]
enum Kind {
    InvalidJson = 0,
    InvalidUtf8 = 1,
    Oversized = 2,
    Unknown = 3,
}

impl Errors {
    pub fn items(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        ERROR_KINDS.iter().copied().zip(self.0.iter().copied())
    }
}

/// Keys are already uniformly random: hash them by their first 8 bytes.
#[derive(Default)]
pub struct KeyHasher(u64);
impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(b);
        }
    }
}
pub type KeySet = HashSet<Key, BuildHasherDefault<KeyHasher>>;

#[derive(Debug, Clone, PartialEq)]
pub enum TailError {
    /// A bad argument or snapshot (mapped to Python's ValueError).
    Value(String),
}

impl std::fmt::Display for TailError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TailError::Value(m) => f.write_str(m),
        }
    }
}
impl std::error::Error for TailError {}

/// What one `feed` produced.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub threads: Vec<Thread>,
    pub messages: Vec<Row>,
    pub offset: u64,
    pub position: u64,
    pub errors: Errors,
}

#[derive(Debug, Clone)]
pub struct Tail {
    path: String,
    max_line_bytes: u64,
    source: String,
    offset: u64,
    buf: Vec<u8>,
    skipping: u64,
    identity: Option<(u64, u64)>,
    head_len: usize,
    head_hash: String,
    errors: Errors,
    seen: KeySet,
    state: MapperState,
}

fn head_hash(head: &[u8]) -> String {
    hex(&blake16(&[head]))
}

impl Tail {
    pub fn new(path: &str, max_line_bytes: i64, source: &str) -> Result<Self, TailError> {
        if max_line_bytes <= 0 {
            return Err(TailError::Value("max_line_bytes must be positive".into()));
        }
        Ok(Tail {
            path: path.to_owned(),
            max_line_bytes: max_line_bytes as u64,
            source: source.to_owned(),
            offset: 0,
            buf: Vec::new(),
            skipping: 0,
            identity: None,
            head_len: 0,
            head_hash: String::new(),
            errors: Errors::default(),
            seen: KeySet::default(),
            state: MapperState::new(path, source),
        })
    }

    pub fn path(&self) -> &str {
        &self.path
    }
    pub fn max_line_bytes(&self) -> u64 {
        self.max_line_bytes
    }
    pub fn offset(&self) -> u64 {
        self.offset
    }
    pub fn position(&self) -> u64 {
        self.offset + self.buf.len() as u64 + self.skipping
    }
    pub fn errors(&self) -> Errors {
        self.errors
    }
    pub fn thread_id(&self) -> Option<&str> {
        self.state.thread.thread_id.as_deref()
    }
    pub fn format(&self) -> Option<&str> {
        self.state.fmt.as_deref()
    }
    /// Bytes held for a partial line (bounded by `max_line_bytes`).
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// True (and state reset to offset 0, seen keys kept) when the file was replaced, truncated
    /// or rewritten.
    pub fn check_identity(&mut self, dev: u64, ino: u64, size: u64, head: &[u8]) -> bool {
        let head = &head[..head.len().min(HEAD_BYTES)];
        let mut changed = false;
        if let Some(ident) = self.identity {
            // No head recorded yet (the file was empty when first seen): nothing to compare, so
            // growth from empty is never taken for a rewrite.
            changed = ident != (dev, ino)
                || size < self.position()
                || head.len() < self.head_len
                || (self.head_len > 0 && head_hash(&head[..self.head_len]) != self.head_hash);
        }
        if changed {
            self.reset();
        }
        self.identity = Some((dev, ino));
        if changed || head.len() > self.head_len {
            self.head_len = head.len();
            self.head_hash = head_hash(head);
        }
        changed
    }

    fn reset(&mut self) {
        self.offset = 0;
        self.buf = Vec::new();
        self.skipping = 0;
        self.state = MapperState::new(&self.path, &self.source);
    }

    fn count(&mut self, errs: &mut Errors, kind: Kind) {
        errs.0[kind as usize] += 1;
        self.errors.0[kind as usize] += 1;
    }

    /// Consume the bytes that follow `position`; rows of every complete line (only new keys).
    pub fn feed(&mut self, chunk: &[u8], fin: bool) -> Batch {
        let mut errs = Errors::default();
        let mut rows = Vec::new();
        let mut start = 0usize;
        let n = chunk.len();
        while start < n {
            let Some(off) = memchr::memchr(b'\n', &chunk[start..]) else {
                self.hold(&chunk[start..], &mut errs);
                break;
            };
            let nl = start + off;
            let pending = self.buf.len() as u64 + self.skipping;
            if self.skipping > 0 {
                self.skipping = 0;
            } else if !self.buf.is_empty() {
                if (self.buf.len() + (nl - start)) as u64 > self.max_line_bytes {
                    self.count(&mut errs, Kind::Oversized);
                } else {
                    let mut line = std::mem::take(&mut self.buf);
                    line.extend_from_slice(&chunk[start..nl]);
                    self.line(&line, &mut rows, &mut errs);
                }
                self.buf = Vec::new();
            } else {
                self.line(&chunk[start..nl], &mut rows, &mut errs);
            }
            self.offset += pending + (nl - start) as u64 + 1;
            start = nl + 1;
        }
        if fin {
            if !self.buf.is_empty() {
                let line = std::mem::take(&mut self.buf);
                self.line(&line, &mut rows, &mut errs);
                self.offset += line.len() as u64;
            } else if self.skipping > 0 {
                self.offset += self.skipping;
                self.skipping = 0;
            }
        }
        let threads = self.state.thread_row_if_changed().into_iter().collect();
        Batch { threads, messages: rows, offset: self.offset, position: self.position(), errors: errs }
    }

    fn hold(&mut self, rest: &[u8], errs: &mut Errors) {
        if self.skipping > 0 {
            self.skipping += rest.len() as u64;
            return;
        }
        if (self.buf.len() + rest.len()) as u64 > self.max_line_bytes {
            self.skipping = (self.buf.len() + rest.len()) as u64;
            self.buf = Vec::new();
            self.count(errs, Kind::Oversized);
            return;
        }
        self.buf.extend_from_slice(rest);
    }

    fn line(&mut self, line: &[u8], rows: &mut Vec<Row>, errs: &mut Errors) {
        if line.len() as u64 > self.max_line_bytes {
            self.count(errs, Kind::Oversized);
            return;
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n')) {
            return;
        }
        // UTF-8 is checked by the parser; a line it rejects is classified here (invalid UTF-8
        // first, as the twin decodes before parsing).
        let obj = match json::parse_record_bytes(line, NO_ROW_RECORDS, Some(codex::payload_key_read)) {
            Ok(v) if v.is_obj() => v,
            Ok(_) => {
                self.count(errs, Kind::InvalidJson);
                return;
            }
            Err(_) => {
                let kind = if std::str::from_utf8(line).is_err() { Kind::InvalidUtf8 } else { Kind::InvalidJson };
                self.count(errs, kind);
                return;
            }
        };
        if self.state.fmt.is_none() {
            // Codex first, then Claude Code
            match codex::detect(&obj).or_else(|| claude::detect(&obj)) {
                Some(f) => {
                    self.state.fmt = Some(f.to_owned());
                    if claude::FORMATS.contains(&f) {
                        self.state.thread.source = Some("claude".to_owned());
                    }
                }
                None => {
                    self.count(errs, Kind::Unknown);
                    return;
                }
            }
        }
        let mut out = Vec::new();
        let res = match self.state.fmt.as_deref() {
            Some("rollout") => codex::map_rollout(&mut self.state, &obj, &mut out),
            Some("exec") => codex::map_exec(&mut self.state, &obj, &mut out),
            Some("claude") => claude::map_claude(&mut self.state, &obj, &mut out),
            _ => claude::map_claude_stream(&mut self.state, &obj, &mut out),
        };
        if res.is_err() {
            self.count(errs, Kind::Unknown);
        }
        for row in out {
            if self.seen.insert(row.key) {
                rows.push(row);
            }
        }
    }

    // -- snapshot ---------------------------------------------------------------------------------
    pub fn snapshot(&self) -> Vec<u8> {
        let int = |u: u64| if i64::try_from(u).is_ok() { Val::Int(u as i64) } else { Val::UInt(u) };
        let errors = Val::Obj(self.errors.items().map(|(k, v)| (JStr::from_plain(k), int(v))).collect());
        let v = Val::obj(vec![
            ("v", Val::Int(SNAPSHOT_VERSION)),
            ("path", Val::str(self.path.clone())),
            ("maxLineBytes", int(self.max_line_bytes)),
            ("source", Val::str(self.source.clone())),
            ("offset", int(self.offset)),
            ("identity", self.identity.map_or(Val::Null, |(d, i)| Val::Arr(vec![int(d), int(i)]))),
            ("headLen", int(self.head_len as u64)),
            ("headHash", Val::str(self.head_hash.clone())),
            ("errors", errors),
            ("mapper", self.state.to_val()),
        ]);
        dumps(&v).into_bytes()
    }

    pub fn restore(data: &[u8]) -> Result<Self, TailError> {
        let bad = |what: &str| TailError::Value(format!("not a tail snapshot: {what}"));
        let text = std::str::from_utf8(data).map_err(|_| bad("not UTF-8"))?;
        let obj = json::parse(text).map_err(|_| bad("not JSON"))?;
        if !obj.is_obj() {
            return Err(bad("not an object"));
        }
        if obj.g("v").as_int() != Some(SNAPSHOT_VERSION) {
            return Err(TailError::Value(format!("unsupported snapshot version {}", json::py_repr(obj.g("v")))));
        }
        let s = |k: &str| obj.get(k).and_then(|v| v.as_str()).map(|s| s.into_owned()).ok_or_else(|| bad(k));
        let u = |v: &Val<'_>, k: &str| match v {
            Val::Int(i) if *i >= 0 => Ok(*i as u64),
            Val::UInt(u) => Ok(*u),
            _ => Err(bad(k)),
        };
        let path = s("path")?;
        let source = s("source")?;
        let max = match obj.g("maxLineBytes") {
            Val::Int(i) => *i,
            Val::UInt(_) => i64::MAX,
            _ => return Err(bad("maxLineBytes")),
        };
        let mut tail = Tail::new(&path, max, &source)?;
        tail.offset = u(obj.g("offset"), "offset")?;
        tail.identity = match obj.get("identity").ok_or_else(|| bad("identity"))? {
            Val::Null => None,
            Val::Arr(a) if a.len() >= 2 => Some((u(&a[0], "identity")?, u(&a[1], "identity")?)),
            _ => return Err(bad("identity")),
        };
        tail.head_len = u(obj.g("headLen"), "headLen")? as usize;
        tail.head_hash = s("headHash")?;
        match obj.get("errors").ok_or_else(|| bad("errors"))? {
            Val::Obj(m) => {
                for (k, v) in m {
                    if let Some(i) = ERROR_KINDS.iter().position(|e| k.eq_str(e)) {
                        tail.errors.0[i] = u(v, "errors")?;
                    }
                }
            }
            _ => return Err(bad("errors")),
        }
        tail.state = MapperState::from_val(&path, obj.get("mapper").ok_or_else(|| bad("mapper"))?).map_err(|_| bad("mapper"))?;
        Ok(tail)
    }
}
