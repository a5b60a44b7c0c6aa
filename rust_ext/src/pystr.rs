//! Python strings built straight from UTF-8 text in their final representation.
//!
//! CPython's UTF-8 decoder (`PyUnicode_FromStringAndSize`) starts a one-byte buffer and widens it
//! (copying) at the first character that does not fit, then decodes character by character; on
//! multilingual texts with emoji that was a sixth of `JsonlTail.feed`. Here the widest character
//! and the length are known from one vectorised pass (`utf8::measure`), the string is allocated
//! once in that width (`PyUnicode_New`: not in the limited API, so the extension is built for one
//! CPython version) and filled in one pass (`utf8::decode`: ASCII sixteen bytes at a time).

use crate::utf8::{decode, maxchar, measure};
use pyo3::prelude::*;
use pyo3::types::PyString;

/// `PyString::new(py, s)`, faster on non-ASCII text.
pub fn new_str<'py>(py: Python<'py>, s: &str) -> Bound<'py, PyString> {
    use pyo3::ffi;
    let b = s.as_bytes();
    let (max, chars) = measure(b);
    let maxchar = maxchar(max);
    // SAFETY: PyUnicode_New returns a new compact string of `chars` characters of the given
    // width (or NULL with an exception set); its data buffer has room for `chars` code units
    // (plus the terminating one, which is left alone), and `decode` writes one unit per
    // character of the valid UTF-8 text `s`, each of which fits the width (`maxchar`).
    unsafe {
        let obj = ffi::PyUnicode_New(chars as ffi::Py_ssize_t, maxchar);
        if obj.is_null() {
            return PyString::new(py, s); // out of memory: let PyO3 raise through its own path
        }
        let data = ffi::PyUnicode_DATA(obj);
        match maxchar {
            0x7F => std::ptr::copy_nonoverlapping(b.as_ptr(), data.cast::<u8>(), b.len()),
            0xFF => {
                decode(s, data.cast::<u8>(), chars);
            }
            0xFFFF => {
                decode(s, data.cast::<u16>(), chars);
            }
            _ => {
                decode(s, data.cast::<u32>(), chars);
            }
        }
        Bound::from_owned_ptr(py, obj).downcast_into_unchecked()
    }
}
