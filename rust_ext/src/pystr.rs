//! Python strings built straight from UTF-8 text in their final representation.
//!
//! CPython's UTF-8 decoder (`PyUnicode_FromStringAndSize`) starts a one-byte buffer and widens it
//! (copying) at the first character that does not fit, then decodes character by character; on
//! multilingual texts with emoji that was a sixth of `JsonlTail.feed`. Here the widest character
//! is known from the largest byte (one vectorised pass), the string is allocated once in that
//! width (`PyUnicode_New`: not in the limited API, so the extension is built for one CPython
//! version) and filled in one pass, ASCII runs eight bytes at a time.

use pyo3::prelude::*;
use pyo3::types::PyString;

/// `PyString::new(py, s)`, faster on non-ASCII text.
pub fn new_str<'py>(py: Python<'py>, s: &str) -> Bound<'py, PyString> {
    use pyo3::ffi;
    let b = s.as_bytes();
    let max = b.iter().fold(0u8, |m, &x| m.max(x));
    // The largest byte tells the widest character exactly: a lead byte C2/C3 starts a character
    // below U+0100, C4..EF one of U+0100..U+FFFF, F0..F4 one above U+FFFF (continuation bytes are
    // 80..BF). CPython requires the narrowest representation that holds every character.
    let (chars, maxchar) = if max < 0x80 {
        (b.len(), 0x7F)
    } else {
        let chars = b.iter().filter(|&&x| (x as i8) >= -0x40).count(); // not a continuation byte
        (chars, if max < 0xC4 { 0xFF } else if max < 0xF0 { 0xFFFF } else { 0x10FFFF })
    };
    // SAFETY: PyUnicode_New returns a new compact string of `chars` characters of the given
    // width (or NULL with an exception set); its data buffer has room for exactly `chars` code
    // units, and each decoder writes one unit per character of the valid UTF-8 text `s`.
    unsafe {
        let obj = ffi::PyUnicode_New(chars as ffi::Py_ssize_t, maxchar);
        if obj.is_null() {
            return PyString::new(py, s); // out of memory: let PyO3 raise through its own path
        }
        let data = ffi::PyUnicode_DATA(obj);
        match maxchar {
            0x7F => std::ptr::copy_nonoverlapping(b.as_ptr(), data.cast::<u8>(), b.len()),
            0xFF => decode(b, data.cast::<u8>()),
            0xFFFF => decode(b, data.cast::<u16>()),
            _ => decode(b, data.cast::<u32>()),
        }
        Bound::from_owned_ptr(py, obj).downcast_into_unchecked()
    }
}

/// A code unit of a CPython string representation (1, 2 or 4 bytes).
trait Unit: Copy {
    fn from_u32(c: u32) -> Self;
}
impl Unit for u8 {
    #[inline(always)]
    fn from_u32(c: u32) -> Self {
        c as u8
    }
}
impl Unit for u16 {
    #[inline(always)]
    fn from_u32(c: u32) -> Self {
        c as u16
    }
}
impl Unit for u32 {
    #[inline(always)]
    fn from_u32(c: u32) -> Self {
        c
    }
}

/// Decode valid UTF-8 into code units (the caller sized `out` for every character of `b`, each
/// of which fits a `T`).
#[inline(always)]
unsafe fn decode<T: Unit>(b: &[u8], mut out: *mut T) {
    let n = b.len();
    let mut i = 0;
    while i < n {
        // ASCII run: eight bytes at a time
        while i + 8 <= n {
            let w = u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or([0x80; 8]));
            if w & 0x8080_8080_8080_8080 != 0 {
                break;
            }
            for k in 0..8 {
                // SAFETY: eight ASCII characters, eight units of room (see the caller).
                unsafe {
                    out.write(T::from_u32(u32::from(b[i + k])));
                    out = out.add(1);
                }
            }
            i += 8;
        }
        if i >= n {
            break;
        }
        let c0 = u32::from(b[i]);
        let (c, len) = if c0 < 0x80 {
            (c0, 1)
        } else if c0 < 0xE0 {
            (((c0 & 0x1F) << 6) | (u32::from(b[i + 1]) & 0x3F), 2)
        } else if c0 < 0xF0 {
            (((c0 & 0x0F) << 12) | ((u32::from(b[i + 1]) & 0x3F) << 6) | (u32::from(b[i + 2]) & 0x3F), 3)
        } else {
            let c = ((c0 & 0x07) << 18)
                | ((u32::from(b[i + 1]) & 0x3F) << 12)
                | ((u32::from(b[i + 2]) & 0x3F) << 6)
                | (u32::from(b[i + 3]) & 0x3F);
            (c, 4)
        };
        // SAFETY: one character, one unit of room.
        unsafe {
            out.write(T::from_u32(c));
            out = out.add(1);
        }
        i += len;
    }
}
