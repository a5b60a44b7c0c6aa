//! Byte scanning for strings (SSE2 on x86_64) and unescaping.

/// Index of the first `"`, `\\` or control byte at or after `i` (or `s.len()`). Non-ASCII bytes
/// are ordinary string content: the input's UTF-8 is checked before parsing.
#[inline]
pub(super) fn scan_string(s: &[u8], mut i: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        // SAFETY: SSE2 is part of the x86_64 baseline; loads are unaligned and in bounds.
        unsafe {
            let quote = _mm_set1_epi8(b'"' as i8);
            let bslash = _mm_set1_epi8(b'\\' as i8);
            let ctl = _mm_set1_epi8(0x1f);
            while i + 16 <= s.len() {
                let x = _mm_loadu_si128(s.as_ptr().add(i).cast::<__m128i>());
                // unsigned x <= 0x1f: max(x, 0x1f) == 0x1f
                let m = _mm_or_si128(
                    _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash)),
                    _mm_cmpeq_epi8(_mm_max_epu8(x, ctl), ctl),
                );
                let mask = _mm_movemask_epi8(m);
                if mask != 0 {
                    return i + mask.trailing_zeros() as usize;
                }
                i += 16;
            }
        }
    }
    while i < s.len() {
        let c = s[i];
        if c == b'"' || c == b'\\' || c < 0x20 {
            return i;
        }
        i += 1;
    }
    i
}

/// Bits of the positions escaped by a backslash (the byte after an odd run of backslashes) for
/// the backslash bits `b` of a 16-byte block entered at an unescaped position; bit 16 set means
/// the block's last byte is a backslash escaping the next block's first byte. (The carry trick of
/// simdjson: adding a run's start bit to the run carries out one past its end.)
#[inline(always)]
fn escaped_bits(b: u32) -> u32 {
    const EVEN: u32 = 0x5555_5555;
    const ODD: u32 = 0xAAAA_AAAA;
    let starts = b & !(b << 1);
    let even_ends = b.wrapping_add(starts & EVEN) & !b;
    let odd_ends = b.wrapping_add(starts & ODD) & !b;
    (even_ends & ODD) | (odd_ends & EVEN)
}

/// Like `scan_string`, inside a string known to hold escapes: one-letter escapes (`\\"` `\\\\`
/// `\\n`...) are passed over sixteen bytes at a time instead of stopping at each. Stops at the
/// first unescaped `"`, control byte, or backslash that starts any other escape (`\\u`, invalid
/// ones) or escapes a byte of the next block; the last sixteen bytes go to `scan_string`.
#[inline]
pub(super) fn scan_string_escaped(s: &[u8], mut i: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        // SAFETY: SSE2 is part of the x86_64 baseline; loads are unaligned and in bounds.
        unsafe {
            let quote = _mm_set1_epi8(b'"' as i8);
            let bslash = _mm_set1_epi8(b'\\' as i8);
            let ctl = _mm_set1_epi8(0x1f);
            while i + 16 <= s.len() {
                let x = _mm_loadu_si128(s.as_ptr().add(i).cast::<__m128i>());
                let qm = _mm_cmpeq_epi8(x, quote);
                let bm = _mm_cmpeq_epi8(x, bslash);
                let q = _mm_movemask_epi8(qm) as u32;
                let b = _mm_movemask_epi8(bm) as u32;
                let c = _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(x, ctl), ctl)) as u32;
                if b == 0 {
                    let stop = q | c;
                    if stop != 0 {
                        return i + stop.trailing_zeros() as usize;
                    }
                    i += 16;
                    continue;
                }
                let esc = escaped_bits(b);
                let letters = _mm_or_si128(
                    _mm_or_si128(_mm_or_si128(qm, bm), _mm_cmpeq_epi8(x, _mm_set1_epi8(b'/' as i8))),
                    _mm_or_si128(
                        _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8(b'b' as i8)), _mm_cmpeq_epi8(x, _mm_set1_epi8(b'f' as i8))),
                        _mm_or_si128(
                            _mm_cmpeq_epi8(x, _mm_set1_epi8(b'n' as i8)),
                            _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8(b'r' as i8)), _mm_cmpeq_epi8(x, _mm_set1_epi8(b't' as i8))),
                        ),
                    ),
                );
                let ok = _mm_movemask_epi8(letters) as u32;
                // the escaping backslash of: an escape that is not one letter, or one across
                // the block's end; an unescaped quote; a control byte
                let stop = (q & !esc) | c | (((esc & !ok) >> 1) & 0xFFFF);
                if stop != 0 {
                    return i + stop.trailing_zeros() as usize;
                }
                i += 16;
            }
        }
    }
    scan_string(s, i)
}

/// Index of the first `\\` at or after `i` (or `s.len()`); inline, for dense escapes.
#[inline(always)]
pub(super) fn find_backslash(s: &[u8], mut i: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        // SAFETY: SSE2 is part of the x86_64 baseline; loads are unaligned and in bounds.
        unsafe {
            let bslash = _mm_set1_epi8(b'\\' as i8);
            while i + 16 <= s.len() {
                let x = _mm_loadu_si128(s.as_ptr().add(i).cast::<__m128i>());
                let mask = _mm_movemask_epi8(_mm_cmpeq_epi8(x, bslash));
                if mask != 0 {
                    return i + mask.trailing_zeros() as usize;
                }
                i += 16;
            }
        }
    }
    while i < s.len() && s[i] != b'\\' {
        i += 1;
    }
    i
}

/// The letters of the one-letter escapes (`\"` `\\` `\/` `\b` `\f` `\n` `\r` `\t`).
pub(super) static ONE_LETTER: [bool; 256] = {
    let mut t = [false; 256];
    let mut k = 0;
    let letters = b"\"\\/bfnrt";
    while k < letters.len() {
        t[letters[k] as usize] = true;
        k += 1;
    }
    t
};

/// What a one-letter escape `\\c` stands for, indexed by `c`; 0 for `u` and invalid letters.
const SIMPLE: [u8; 128] = {
    let mut t = [0u8; 128];
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t[b'/' as usize] = b'/';
    t[b'b' as usize] = 0x08;
    t[b'f' as usize] = 0x0c;
    t[b'n' as usize] = b'\n';
    t[b'r' as usize] = b'\r';
    t[b't' as usize] = b'\t';
    t
};

/// The value of four hex digits (validated by the parser; anything else reads as garbage, never
/// out of bounds).
#[inline(always)]
fn hex4(h: &[u8]) -> u32 {
    #[inline(always)]
    fn d(c: u8) -> u32 {
        // '0'..'9' -> 0..9; 'a'..'f' / 'A'..'F' -> 10..15 (bit 0x40 marks a letter)
        let c = u32::from(c);
        (c & 0xF) + 9 * (c >> 6)
    }
    (d(h[0]) << 12) | (d(h[1]) << 8) | (d(h[2]) << 4) | d(h[3])
}

/// The character of the validated escape at `b[j]` (a backslash) and the escape's length in bytes
/// (2, 6, or 12 for a surrogate pair).
#[inline]
fn escape_at(b: &[u8], j: usize) -> (char, usize) {
    let simple = SIMPLE[usize::from(b[j + 1] & 0x7F)];
    if simple != 0 {
        return (char::from(simple), 2);
    }
    let n = hex4(&b[j + 2..j + 6]);
    if (0xD800..=0xDBFF).contains(&n) {
        let n2 = hex4(&b[j + 8..j + 12]);
        let c = 0x10000 + ((n - 0xD800) << 10) + (n2.wrapping_sub(0xDC00) & 0x3FF);
        return (char::from_u32(c).unwrap_or('\u{FFFD}'), 12);
    }
    (char::from_u32(n).unwrap_or('\u{FFFD}'), 6)
}

/// Decode the escapes of a validated raw string.
pub fn unescape(raw: &str) -> String {
    let b = raw.as_bytes();
    let n = b.len();
    let mut out: Vec<u8> = Vec::with_capacity(n);
    let dst = out.as_mut_ptr();
    // o <= i throughout: an escape never decodes to more bytes than it takes, so every write
    // (sixteen-byte block stores included: i + 16 <= n) stays within the capacity n
    let mut o = 0usize;
    let mut i = 0usize;
    // SAFETY: reads are below n (a validated string: a backslash is followed by a complete
    // escape); writes are below n by the invariant above; `o` bytes are initialised at the end.
    unsafe {
        loop {
            // copy up to the next backslash, sixteen bytes a step
            let mut found = false;
            #[cfg(target_arch = "x86_64")]
            {
                use std::arch::x86_64::*;
                let bslash = _mm_set1_epi8(b'\\' as i8);
                while i + 16 <= n {
                    let x = _mm_loadu_si128(b.as_ptr().add(i).cast::<__m128i>());
                    _mm_storeu_si128(dst.add(o).cast::<__m128i>(), x);
                    let m = _mm_movemask_epi8(_mm_cmpeq_epi8(x, bslash));
                    if m != 0 {
                        let t = m.trailing_zeros() as usize;
                        i += t;
                        o += t;
                        found = true;
                        break;
                    }
                    i += 16;
                    o += 16;
                }
            }
            if !found {
                while i < n && *b.get_unchecked(i) != b'\\' {
                    *dst.add(o) = *b.get_unchecked(i);
                    i += 1;
                    o += 1;
                }
                if i >= n {
                    break;
                }
            }
            // escapes back to back (`\\\"` in JSON held in a string) without the block copy
            loop {
                let simple = SIMPLE[usize::from(*b.get_unchecked(i + 1) & 0x7F)];
                if simple != 0 {
                    *dst.add(o) = simple;
                    o += 1;
                    i += 2;
                } else {
                    let (ch, len) = escape_at(b, i);
                    i += len;
                    o += ch.encode_utf8(std::slice::from_raw_parts_mut(dst.add(o), 4)).len();
                }
                if i >= n || *b.get_unchecked(i) != b'\\' {
                    break;
                }
            }
        }
        out.set_len(o);
        // SAFETY: built from valid UTF-8 runs and encoded chars only.
        String::from_utf8_unchecked(out)
    }
}

/// The first `limit` characters of a validated raw string's decoded text, and whether the text
/// has more: an excerpt costs the length of the excerpt, not of the whole text.
pub fn unescape_prefix(raw: &str, limit: usize) -> (String, bool) {
    let b = raw.as_bytes();
    let mut out = String::with_capacity(raw.len().min(limit.saturating_mul(2) + 16));
    let mut chars = 0usize;
    let mut i = 0;
    while i < b.len() {
        if chars == limit {
            return (out, true); // every raw byte left decodes to at least one more character
        }
        let j = find_backslash(b, i);
        let run = &raw[i..j];
        let budget = limit - chars;
        // a run of `budget` bytes or fewer has at most `budget` characters
        let cut = if run.len() <= budget { None } else { run.char_indices().nth(budget).map(|(k, _)| k) };
        match cut {
            Some(k) => {
                out.push_str(&run[..k]);
                return (out, true);
            }
            None => {
                out.push_str(run);
                chars += if run.is_ascii() { run.len() } else { run.chars().count() };
            }
        }
        if j >= b.len() {
            break;
        }
        if chars == limit {
            return (out, true);
        }
        // one escape, one character
        let (ch, len) = escape_at(b, j);
        out.push(ch);
        chars += 1;
        i = j + len;
    }
    (out, false)
}
