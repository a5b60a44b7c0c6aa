//! PyO3 bindings: `oa_actors._oa_native.JsonlTail` and `TailBatch` (see `oa_actors/_oa_native.pyi`).

use crate::json::Val;
use crate::pystr::new_str;
use crate::mapper::{thread_to_val, Row, Thread};
use crate::tail::{Batch, Errors, Tail, TailError, DEFAULT_MAX_LINE};
use pyo3::buffer::PyBuffer;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString};

/// The one place where core errors become Python exceptions.
fn to_pyerr(e: TailError) -> PyErr {
    match e {
        TailError::Value(msg) => PyValueError::new_err(msg),
    }
}

/// Bytes of a `bytes`/`bytearray`/buffer argument, without copying `bytes` or a contiguous buffer
/// (a `memoryview` slice of a file's bytes is read in place).
enum ByteArg<'py> {
    Bytes(Bound<'py, PyBytes>),
    Buffer(PyBuffer<u8>),
    Owned(Vec<u8>),
}
impl ByteArg<'_> {
    fn as_slice(&self) -> &[u8] {
        match self {
            ByteArg::Bytes(b) => b.as_bytes(),
            // SAFETY: a C-contiguous buffer of u8 items (checked in `byte_arg`), held for as long
            // as this value lives (the exporter keeps the memory until the PyBuffer is released).
            ByteArg::Buffer(b) => unsafe { std::slice::from_raw_parts(b.buf_ptr() as *const u8, b.len_bytes()) },
            ByteArg::Owned(v) => v,
        }
    }
}
fn byte_arg<'py>(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<ByteArg<'py>> {
    if let Ok(b) = obj.downcast::<PyBytes>() {
        return Ok(ByteArg::Bytes(b.clone()));
    }
    if let Ok(b) = obj.downcast::<PyByteArray>() {
        return Ok(ByteArg::Owned(b.to_vec()));
    }
    if let Ok(buf) = PyBuffer::<u8>::get(obj) {
        if buf.is_c_contiguous() {
            return Ok(ByteArg::Buffer(buf));
        }
        return Ok(ByteArg::Owned(buf.to_vec(obj.py())?));
    }
    if let Ok(b) = obj.call_method0("__bytes__").or_else(|_| {
        let builtins = PyModule::import(obj.py(), "builtins")?;
        builtins.getattr("bytes")?.call1((obj,))
    }) {
        if let Ok(b) = b.downcast::<PyBytes>() {
            return Ok(ByteArg::Owned(b.as_bytes().to_vec()));
        }
    }
    Err(PyTypeError::new_err(format!("{what} must be a bytes-like object")))
}

fn val_to_py<'py>(py: Python<'py>, v: &Val<'_>) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Val::Null => py.None().into_bound(py),
        Val::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Val::Int(i) => i.into_pyobject(py)?.into_any(),
        Val::UInt(u) => u.into_pyobject(py)?.into_any(),
        Val::BigInt(s) => py.get_type::<PyInt>().call1((s.as_ref(),))?,
        Val::Float(f) => PyFloat::new(py, *f).into_any(),
        Val::Str(s) => new_str(py, &s.get()).into_any(),
        Val::Arr(a) => {
            let list = PyList::empty(py);
            for x in a {
                list.append(val_to_py(py, x)?)?;
            }
            list.into_any()
        }
        Val::Skipped => PyDict::new(py).into_any(),
        Val::Obj(m) => {
            let d = PyDict::new(py);
            for (k, x) in m {
                d.set_item(obj_key(py, &k.get()), val_to_py(py, x)?)?;
            }
            d.into_any()
        }
    })
}

/// A `data` object's key: the keys the mappers write (every row of a kind repeats them) are
/// interned once, so a row's dict reuses their string objects; any other key is built.
fn obj_key<'py>(py: Python<'py>, k: &str) -> Bound<'py, PyString> {
    match k {
        "output" => intern!(py, "output").clone(),
        "isError" => intern!(py, "isError").clone(),
        "text" => intern!(py, "text").clone(),
        "message" => intern!(py, "message").clone(),
        "exitCode" => intern!(py, "exitCode").clone(),
        "arguments" => intern!(py, "arguments").clone(),
        "name" => intern!(py, "name").clone(),
        "tool" => intern!(py, "tool").clone(),
        "status" => intern!(py, "status").clone(),
        "server" => intern!(py, "server").clone(),
        "result" => intern!(py, "result").clone(),
        "query" => intern!(py, "query").clone(),
        "path" => intern!(py, "path").clone(),
        "kind" => intern!(py, "kind").clone(),
        "items" => intern!(py, "items").clone(),
        "images" => intern!(py, "images").clone(),
        "durationMs" => intern!(py, "durationMs").clone(),
        "command" => intern!(py, "command").clone(),
        "ts" => intern!(py, "ts").clone(),
        "reason" => intern!(py, "reason").clone(),
        "input" => intern!(py, "input").clone(),
        "changes" => intern!(py, "changes").clone(),
        "type" => intern!(py, "type").clone(),
        "id" => intern!(py, "id").clone(),
        "cwd" => intern!(py, "cwd").clone(),
        "content" => intern!(py, "content").clone(),
        other => new_str(py, other),
    }
}

fn opt_str<'py>(py: Python<'py>, s: &Option<String>) -> Bound<'py, PyAny> {
    match s {
        Some(s) => new_str(py, s).into_any(),
        None => py.None().into_bound(py),
    }
}

fn opt_i64(py: Python<'_>, i: Option<i64>) -> PyResult<Bound<'_, PyAny>> {
    Ok(match i {
        Some(i) => i.into_pyobject(py)?.into_any(),
        None => py.None().into_bound(py),
    })
}

fn static_str<'py>(py: Python<'py>, s: &'static str) -> Bound<'py, PyString> {
    match s {
        "user" => intern!(py, "user").clone(),
        "assistant" => intern!(py, "assistant").clone(),
        "system" => intern!(py, "system").clone(),
        "tool" => intern!(py, "tool").clone(),
        "message" => intern!(py, "message").clone(),
        "reason" => intern!(py, "reason").clone(),
        "cmd" => intern!(py, "cmd").clone(),
        "file" => intern!(py, "file").clone(),
        "context" => intern!(py, "context").clone(),
        other => PyString::new(py, other),
    }
}

/// The row key as lowercase hex, without an intermediate `String`.
fn key_str<'py>(py: Python<'py>, k: &crate::common::Key) -> Bound<'py, PyString> {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut b = [0u8; 32];
    for (i, x) in k.iter().enumerate() {
        b[2 * i] = H[(x >> 4) as usize];
        b[2 * i + 1] = H[(x & 15) as usize];
    }
    PyString::new(py, std::str::from_utf8(&b).unwrap_or_default())
}

fn row_to_py<'py>(py: Python<'py>, r: &Row, tid_cache: &mut Option<(String, Bound<'py, PyString>)>) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let tid = match tid_cache {
        Some((s, o)) if *s == r.thread_id => o.clone(),
        _ => {
            let o = new_str(py, &r.thread_id);
            *tid_cache = Some((r.thread_id.clone(), o.clone()));
            o
        }
    };
    d.set_item(intern!(py, "threadId"), tid)?;
    d.set_item(intern!(py, "key"), key_str(py, &r.key))?;
    // an int when integral (every Codex row, most Claude rows), else the float
    if r.seq == r.seq.floor() && r.seq.abs() < 9.0e15 {
        d.set_item(intern!(py, "seq"), r.seq as i64)?;
    } else {
        d.set_item(intern!(py, "seq"), r.seq)?;
    }
    d.set_item(intern!(py, "ts"), opt_i64(py, r.ts)?)?;
    d.set_item(intern!(py, "role"), static_str(py, r.role))?;
    d.set_item(intern!(py, "kind"), static_str(py, r.kind))?;
    d.set_item(intern!(py, "text"), opt_str(py, &r.text))?;
    let data = match &r.data {
        Some(v) => val_to_py(py, v)?,
        None => py.None().into_bound(py),
    };
    d.set_item(intern!(py, "data"), data)?;
    d.set_item(intern!(py, "turnId"), opt_str(py, &r.turn_id))?;
    Ok(d)
}

fn thread_to_py<'py>(py: Python<'py>, t: &Thread) -> PyResult<Bound<'py, PyAny>> {
    val_to_py(py, &thread_to_val(t))
}

fn errors_to_py<'py>(py: Python<'py>, e: &Errors) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in e.items() {
        d.set_item(k, v)?;
    }
    Ok(d)
}

/// What one `feed` produced: new rows, the committed offset and this call's error counts.
#[pyclass(module = "oa_actors._oa_native", frozen)]
pub struct TailBatch {
    #[pyo3(get)]
    threads: Py<PyList>,
    #[pyo3(get)]
    messages: Py<PyList>,
    #[pyo3(get)]
    offset: u64,
    #[pyo3(get)]
    position: u64,
    #[pyo3(get)]
    errors: Py<PyDict>,
}

#[pymethods]
impl TailBatch {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let errors = self.errors.bind(py).repr()?;
        Ok(format!(
            "TailBatch(threads={}, messages={}, offset={}, errors={})",
            self.threads.bind(py).len(),
            self.messages.bind(py).len(),
            self.offset,
            errors
        ))
    }
}

fn batch_to_py(py: Python<'_>, b: &Batch) -> PyResult<TailBatch> {
    let threads = PyList::empty(py);
    for t in &b.threads {
        threads.append(thread_to_py(py, t)?)?;
    }
    let mut cache = None;
    let mut items = Vec::with_capacity(b.messages.len());
    for r in &b.messages {
        items.push(row_to_py(py, r, &mut cache)?);
    }
    let messages = PyList::new(py, items)?;
    Ok(TailBatch {
        threads: threads.unbind(),
        messages: messages.unbind(),
        offset: b.offset,
        position: b.position,
        errors: errors_to_py(py, &b.errors)?.unbind(),
    })
}

/// Incremental parser state for one JSONL file.
#[pyclass(module = "oa_actors._oa_native")]
pub struct JsonlTail {
    inner: Tail,
}

#[pymethods]
impl JsonlTail {
    #[new]
    #[pyo3(signature = (path, *, max_line_bytes = DEFAULT_MAX_LINE as i64, source = "codex"))]
    fn new(path: &str, max_line_bytes: i64, source: &str) -> PyResult<Self> {
        Ok(JsonlTail { inner: Tail::new(path, max_line_bytes, source).map_err(to_pyerr)? })
    }

    #[getter]
    fn path(&self) -> &str {
        self.inner.path()
    }
    #[getter]
    fn max_line_bytes(&self) -> u64 {
        self.inner.max_line_bytes()
    }
    #[getter]
    fn offset(&self) -> u64 {
        self.inner.offset()
    }
    #[getter]
    fn position(&self) -> u64 {
        self.inner.position()
    }
    #[getter]
    fn errors<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        errors_to_py(py, &self.inner.errors())
    }
    #[getter]
    fn thread_id(&self) -> Option<&str> {
        self.inner.thread_id()
    }
    #[getter]
    fn format(&self) -> Option<&str> {
        self.inner.format()
    }

    fn check_identity(&mut self, dev: u64, ino: u64, size: u64, head: &Bound<'_, PyAny>) -> PyResult<bool> {
        let head = byte_arg(head, "head")?;
        Ok(self.inner.check_identity(dev, ino, size, head.as_slice()))
    }

    #[pyo3(signature = (chunk, r#final = false))]
    fn feed(&mut self, py: Python<'_>, chunk: &Bound<'_, PyAny>, r#final: bool) -> PyResult<TailBatch> {
        let arg = byte_arg(chunk, "chunk")?;
        let data = arg.as_slice();
        let inner = &mut self.inner;
        let batch = py.allow_threads(|| inner.feed(data, r#final));
        batch_to_py(py, &batch)
    }

    fn snapshot<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.snapshot())
    }

    #[staticmethod]
    fn restore(data: &Bound<'_, PyAny>) -> PyResult<Self> {
        let data = byte_arg(data, "data")?;
        Ok(JsonlTail { inner: Tail::restore(data.as_slice()).map_err(to_pyerr)? })
    }
}

#[pymodule]
fn _oa_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<JsonlTail>()?;
    m.add_class::<TailBatch>()?;
    m.add("DEFAULT_MAX_LINE", DEFAULT_MAX_LINE)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
