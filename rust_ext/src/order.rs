//! Conversation order of a Claude Code session file: the `seq` of its rows (twin of `_pyorder.py`,
//! which is the spec; docs/rows.md says what `seq` means).
//!
//! Every value is an IEEE double computed with the same operations, in the same order, as the
//! twin (`+`, `-`, `*`, `/` by a power of two), so both implementations give identical seqs.

use crate::json::{JStr, Val};
use crate::mapper::{Row, SnapshotError};
use std::collections::{HashMap, VecDeque};

pub const NODES_MAX: usize = 256;
pub const AWAITED_MAX: usize = 64;
pub const FRACS_MAX: usize = 64;
/// Links followed from a record to the missing ancestor its chain waits for.
const RESOLVE_STEPS: usize = 16;

/// A placed record (see `Node` in the twin).
#[derive(Debug, Clone, PartialEq)]
struct Node {
    first: Option<f64>,
    floor: f64,
    ts: Option<i64>,
    top: Option<String>,
}

/// Where the record being mapped goes: after `lo`, before `hi` (None: appended).
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    uuid: Option<String>,
    ts: Option<i64>,
    pub lo: f64,
    pub hi: Option<f64>,
    next: i64,
    ceiling: Option<f64>,
    top: Option<String>,
}

impl Plan {
    /// True if something placed after `pos` (None: unknown, taken as earlier) precedes this record.
    pub fn before(&self, pos: Option<f64>) -> bool {
        match (pos, self.hi) {
            (Some(p), Some(hi)) => p < hi,
            _ => true,
        }
    }

    /// The record was appended (its rows got the next integers).
    pub fn appended(&self) -> bool {
        self.hi.is_none()
    }
}

/// The last `NODES_MAX` placed records by uuid, in arrival order (the twin's ordered dict).
#[derive(Debug, Clone, Default, PartialEq)]
struct Nodes {
    map: HashMap<String, Node>,
    order: VecDeque<String>,
}

impl Nodes {
    fn get(&self, uuid: &str) -> Option<&Node> {
        self.map.get(uuid)
    }

    /// Insert at the end (a uuid seen again moves to the end), forgetting the oldest beyond NODES_MAX.
    fn insert(&mut self, uuid: String, node: Node) {
        if self.map.insert(uuid.clone(), node).is_some() {
            if let Some(i) = self.order.iter().position(|u| *u == uuid) {
                self.order.remove(i);
            }
        }
        self.order.push_back(uuid);
        while self.order.len() > NODES_MAX {
            if let Some(old) = self.order.pop_front() {
                self.map.remove(&old);
            }
        }
    }

    fn iter(&self) -> impl Iterator<Item = (&String, &Node)> {
        self.order.iter().filter_map(|u| self.map.get(u).map(|n| (u, n)))
    }
}

/// The bounded per-file state of the placement.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Order {
    nodes: Nodes,
    awaited: Vec<(String, Option<f64>)>, // missing parent -> smallest seq waiting below it
    fracs: Vec<f64>,                      // fractional seqs emitted, ascending
    horizon: Option<f64>,                 // the largest fractional seq forgotten
}

/// A seq as the twin writes it: an integer when integral.
pub fn num_val(f: f64) -> Val<'static> {
    if f == f.floor() && f.abs() < 9.0e15 {
        Val::Int(f as i64)
    } else {
        Val::Float(f)
    }
}

pub fn opt_num_val(f: Option<f64>) -> Val<'static> {
    f.map_or(Val::Null, num_val)
}

/// A number of a snapshot (`None` for null); anything else is an error.
pub fn opt_num(v: &Val<'_>) -> Result<Option<f64>, SnapshotError> {
    match v {
        Val::Null => Ok(None),
        Val::Int(i) => Ok(Some(*i as f64)),
        Val::UInt(u) => Ok(Some(*u as f64)),
        Val::Float(f) => Ok(Some(*f)),
        _ => Err(SnapshotError),
    }
}

/// `k` values strictly between `lo` and `hi`: `lo + (hi - lo) / 2^e * i`, i = 1..k, with `2^e > k`;
/// None when doubles cannot separate them.
fn fit(lo: f64, hi: f64, k: usize) -> Option<Vec<f64>> {
    let mut e = 1u32;
    while (1u64 << e) < k as u64 + 1 {
        e += 1;
    }
    let step = (hi - lo) / (1u64 << e) as f64;
    let values: Vec<f64> = (1..=k).map(|i| lo + step * i as f64).collect();
    let mut prev = lo;
    for &v in values.iter().chain(std::iter::once(&hi)) {
        if prev >= v {
            return None;
        }
        prev = v;
    }
    Some(values)
}

impl Order {
    fn node(&self, uuid: &str) -> Option<&Node> {
        self.nodes.get(uuid)
    }

    fn usable(&self, seq: f64) -> bool {
        self.horizon.is_none_or(|h| seq > h)
    }

    /// The largest seq emitted below `seq` (-1 before the first row).
    fn pred(&self, seq: f64) -> f64 {
        let mut best = seq.ceil() - 1.0;
        if let Some(h) = self.horizon.filter(|h| *h < seq) {
            best = best.max(h);
        }
        for &f in &self.fracs {
            if f >= seq {
                break;
            }
            best = best.max(f);
        }
        best
    }

    fn resolve(&self, mut top: Option<String>) -> Option<String> {
        for _ in 0..RESOLVE_STEPS {
            let t = top?;
            match self.node(&t) {
                None => return Some(t),
                #[allow(clippy::assigning_clones)] // `top` was moved into `t` above: nothing to reuse
                Some(n) => top = n.top.clone(),
            }
        }
        None
    }

    fn awaited_pos(&self, uuid: &str) -> Option<usize> {
        self.awaited.iter().position(|(u, _)| u == uuid)
    }

    /// Place a record before it is mapped (its rows are not known yet).
    pub fn plan(&mut self, uuid: Option<&str>, parent: Option<&str>, ts: Option<i64>, next: i64) -> Plan {
        let parent = parent.filter(|p| Some(*p) != uuid);
        let ceiling = match uuid.and_then(|u| self.awaited_pos(u)) {
            Some(i) => self.awaited.remove(i).1,
            None => None,
        };
        let mut target = ceiling.filter(|c| self.usable(*c));
        let pnode = parent.and_then(|p| self.node(p));
        let last = (next - 1) as f64;
        // A chain's first record (parentUuid null) may go anywhere after -1, like any record after
        // its parent; a record whose parent is missing keeps its place in the file.
        let floor = match (pnode, parent) {
            (Some(n), _) => Some(n.floor),
            (None, None) => Some(-1.0),
            (None, Some(_)) => None,
        };
        if let (Some(floor), Some(ts)) = (floor, ts) {
            if floor < last {
                // the smallest qualifying seq: the same whatever the iteration order
                for n in self.nodes.map.values() {
                    if let (Some(first), Some(nts)) = (n.first, n.ts) {
                        if first > floor && target.is_none_or(|t| first < t) && nts > ts && self.usable(first) {
                            target = Some(first);
                        }
                    }
                }
            }
        }
        let (lo, hi) = match target {
            None => (last, None),
            Some(t) => (self.pred(t), Some(t)),
        };
        let top = match (pnode, parent) {
            (Some(n), _) => {
                let t = n.top.clone();
                self.resolve(t)
            }
            (None, Some(p)) => {
                if self.awaited_pos(p).is_none() {
                    self.awaited.push((p.to_owned(), None));
                    while self.awaited.len() > AWAITED_MAX {
                        self.awaited.remove(0);
                    }
                }
                Some(p.to_owned())
            }
            (None, None) => None,
        };
        Plan { uuid: uuid.map(str::to_owned), ts, lo, hi, next, ceiling, top }
    }

    /// Give the record's rows their seqs; returns the next integer seq. `rows` were numbered
    /// `plan.next`, `plan.next + 1`, ... by `MapperState::emit`: their seq when appended.
    pub fn commit(&mut self, plan: &mut Plan, rows: &mut [Row]) -> i64 {
        let k = rows.len();
        let values = match plan.hi {
            Some(hi) if k > 0 => fit(plan.lo, hi, k),
            _ => None,
        };
        let (first, floor, next) = match values {
            Some(values) => {
                for (row, v) in rows.iter_mut().zip(&values) {
                    row.seq = *v;
                }
                self.note_fracs(&values);
                (values.first().copied(), values.last().copied().unwrap_or(plan.lo), plan.next)
            }
            None if k > 0 => {
                plan.hi = None; // appended (also when the gap is too narrow for a double)
                (Some(plan.next as f64), (plan.next + k as i64 - 1) as f64, plan.next + k as i64)
            }
            None => (None, plan.lo, plan.next),
        };
        if let Some(uuid) = plan.uuid.take() {
            self.nodes.insert(uuid, Node { first, floor, ts: plan.ts, top: plan.top.clone() });
        }
        if let Some(i) = plan.top.as_deref().and_then(|t| self.awaited_pos(t)) {
            let below = match (first, plan.ceiling) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if let Some(below) = below {
                let cur = &mut self.awaited[i].1;
                *cur = Some(cur.map_or(below, |c| c.min(below)));
            }
        }
        next
    }

    fn note_fracs(&mut self, values: &[f64]) {
        for &v in values {
            if v != v.floor() {
                let mut i = self.fracs.len();
                while i > 0 && self.fracs[i - 1] > v {
                    i -= 1;
                }
                self.fracs.insert(i, v);
            }
        }
        while self.fracs.len() > FRACS_MAX {
            self.horizon = Some(self.fracs.remove(0));
        }
    }

    // -- snapshot ------------------------------------------------------------------------------
    pub fn to_val(&self) -> Val<'static> {
        let opt_str = |s: &Option<String>| Val::opt_str(s.clone());
        let nodes = self
            .nodes
            .iter()
            .map(|(uuid, n)| {
                Val::Arr(vec![
                    Val::str(uuid.clone()),
                    opt_num_val(n.first),
                    num_val(n.floor),
                    Val::opt_int(n.ts),
                    opt_str(&n.top),
                ])
            })
            .collect();
        let awaited =
            self.awaited.iter().map(|(u, c)| Val::Arr(vec![Val::str(u.clone()), opt_num_val(*c)])).collect();
        Val::Obj(vec![
            (JStr::from_plain("nodes"), Val::Arr(nodes)),
            (JStr::from_plain("awaited"), Val::Arr(awaited)),
            (JStr::from_plain("fracs"), Val::Arr(self.fracs.iter().map(|f| num_val(*f)).collect())),
            (JStr::from_plain("horizon"), opt_num_val(self.horizon)),
        ])
    }

    pub fn from_val(v: &Val<'_>) -> Result<Self, SnapshotError> {
        if !v.is_obj() {
            return Err(SnapshotError);
        }
        let list = |k: &str| match v.get(k) {
            Some(Val::Arr(a)) => Ok(a),
            _ => Err(SnapshotError),
        };
        let text = |v: &Val<'_>| match v {
            Val::Str(s) => Ok(s.get().into_owned()),
            _ => Err(SnapshotError),
        };
        let mut order = Order::default();
        for item in list("nodes")? {
            let Val::Arr(a) = item else { return Err(SnapshotError) };
            let [uuid, first, floor, ts, top] = a.as_slice() else { return Err(SnapshotError) };
            let uuid = text(uuid)?;
            let ts = match ts {
                Val::Null => None,
                Val::Int(i) => Some(*i),
                _ => return Err(SnapshotError),
            };
            let top = match top {
                Val::Null => None,
                t => Some(text(t)?),
            };
            let node = Node { first: opt_num(first)?, floor: opt_num(floor)?.ok_or(SnapshotError)?, ts, top };
            order.nodes.insert(uuid, node);
        }
        for item in list("awaited")? {
            let Val::Arr(a) = item else { return Err(SnapshotError) };
            let [uuid, ceiling] = a.as_slice() else { return Err(SnapshotError) };
            let uuid = text(uuid)?;
            let ceiling = opt_num(ceiling)?;
            match order.awaited_pos(&uuid) {
                Some(i) => order.awaited[i].1 = ceiling,
                None => order.awaited.push((uuid, ceiling)),
            }
        }
        for f in list("fracs")? {
            if let Some(f) = opt_num(f)? {
                order.fracs.push(f);
            }
        }
        order.fracs.sort_by(f64::total_cmp);
        order.horizon = opt_num(v.get("horizon").ok_or(SnapshotError)?)?;
        Ok(order)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Place a record with `k` rows (numbered from `next`, as `emit` does); their seqs and the next seq.
    fn place(o: &mut Order, uuid: &str, parent: Option<&str>, ts: i64, next: i64, k: usize) -> (Vec<f64>, i64) {
        let mut plan = o.plan(Some(uuid), parent, Some(ts), next);
        let mut rows: Vec<Row> = (0..k)
            .map(|i| Row {
                thread_id: String::new(),
                key: [0; 16],
                seq: (next + i as i64) as f64,
                ts: None,
                role: "assistant",
                kind: "message",
                text: None,
                data: None,
                turn_id: None,
            })
            .collect();
        let next = o.commit(&mut plan, &mut rows);
        (rows.iter().map(|r| r.seq).collect(), next)
    }

    #[test]
    fn a_prompt_written_after_its_reply_sorts_before_it() {
        let mut o = Order::default();
        assert_eq!(place(&mut o, "p0", None, 1, 0, 1), (vec![0.0], 1));
        // the reply names a prompt not read yet: appended, waiting for it
        assert_eq!(place(&mut o, "r1", Some("p1"), 5, 1, 1), (vec![1.0], 2));
        let q = o.clone().plan(Some("p1"), Some("p0"), Some(4), 2);
        assert_eq!((q.lo, q.hi), (0.0, Some(1.0)));
        assert_eq!(place(&mut o, "p1", Some("p0"), 4, 2, 2), (vec![0.25, 0.5], 2));
        let snap = o.to_val();
        assert_eq!(Order::from_val(&snap), Ok(o));
    }

    #[test]
    fn siblings_sort_by_timestamp_and_narrow_gaps_append() {
        let mut o = Order::default();
        place(&mut o, "a", None, 1, 0, 0);
        assert_eq!(place(&mut o, "r2", Some("a"), 9, 0, 1), (vec![0.0], 1));
        assert_eq!(place(&mut o, "r1", Some("a"), 8, 1, 1), (vec![-0.5], 1));
        // a chain written backwards: each record goes before the last one, until doubles run out
        let mut next = 1;
        let mut appended = 0;
        for i in 0..80 {
            let (id, parent) = (format!("x{i}"), format!("x{}", i + 1));
            let (vals, n) = place(&mut o, &id, Some(&parent), 100 - i, next, 1);
            assert!(vals[0] > -1.0 && vals[0] <= next as f64);
            appended += usize::from(n > next);
            next = n;
        }
        assert!(appended > 1 && o.fracs.len() <= FRACS_MAX && o.awaited.len() <= AWAITED_MAX);
    }
}
