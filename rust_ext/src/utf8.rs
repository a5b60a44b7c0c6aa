//! UTF-8 to CPython's string representations (1, 2 or 4 bytes per character), for `pystr`.
//!
//! Plain Rust (no Python), so `cargo test` checks it against `str::chars` (utf8_tests.rs).
//! `measure` finds the widest character and the character count in one SSE2 pass (16 bytes per
//! step, counters in byte lanes); `decode` widens ASCII 16 bytes at a time and decodes the other
//! characters in a tight loop that stays in it while the text stays non-ASCII (CJK prose is
//! mostly 3-byte sequences, Cyrillic and Greek 2-byte ones).

/// The largest byte of `b` and how many characters (bytes that do not continue a sequence) it has.
#[inline]
pub fn measure(b: &[u8]) -> (u8, usize) {
    let n = b.len();
    let mut i = 0;
    let mut max = 0u8;
    let mut cont = 0usize;
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        if n >= 16 {
            // SAFETY: SSE2 is part of the x86_64 baseline; every load reads b[i..i + 16] with
            // i + 16 <= n (unaligned loads).
            unsafe {
                let zero = _mm_setzero_si128();
                // continuation bytes are 0x80..0xBF, i.e. below -0x40 as signed bytes
                let lim = _mm_set1_epi8(-0x40);
                let mut vmax = zero;
                while i + 16 <= n {
                    // at most 255 steps per byte-lane counter, then summed into `cont`
                    let mut acc = zero;
                    let mut steps = 0;
                    while i + 16 <= n && steps < 255 {
                        let x = _mm_loadu_si128(b.as_ptr().add(i).cast::<__m128i>());
                        vmax = _mm_max_epu8(vmax, x);
                        acc = _mm_sub_epi8(acc, _mm_cmpgt_epi8(lim, x));
                        i += 16;
                        steps += 1;
                    }
                    let sad = _mm_sad_epu8(acc, zero);
                    cont += (_mm_cvtsi128_si64(sad) + _mm_cvtsi128_si64(_mm_unpackhi_epi64(sad, sad))) as usize;
                }
                let mut lanes = [0u8; 16];
                _mm_storeu_si128(lanes.as_mut_ptr().cast::<__m128i>(), vmax);
                max = lanes.iter().fold(0, |m, &x| m.max(x));
            }
        }
    }
    for &x in &b[i..] {
        max = max.max(x);
        cont += usize::from((x as i8) < -0x40);
    }
    (max, n - cont)
}

/// The widest character of a text whose largest byte is `max`: a lead byte C2/C3 starts a
/// character below U+0100, C4..EF one of U+0100..U+FFFF, F0..F4 one above U+FFFF (continuation
/// bytes are 80..BF). CPython requires the narrowest representation that holds every character.
#[inline]
pub fn maxchar(max: u8) -> u32 {
    if max < 0x80 {
        0x7F
    } else if max < 0xC4 {
        0xFF
    } else if max < 0xF0 {
        0xFFFF
    } else {
        0x10FFFF
    }
}

/// A code unit of a CPython string representation (1, 2 or 4 bytes).
pub trait Unit: Copy {
    fn from_u32(c: u32) -> Self;
    /// Store sixteen ASCII bytes as sixteen units at `out` (room for sixteen).
    ///
    /// # Safety
    /// `out` must be valid for sixteen unit writes.
    #[cfg(target_arch = "x86_64")]
    unsafe fn store16(x: std::arch::x86_64::__m128i, out: *mut Self);
}

impl Unit for u8 {
    #[inline(always)]
    fn from_u32(c: u32) -> Self {
        c as u8
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn store16(x: std::arch::x86_64::__m128i, out: *mut Self) {
        use std::arch::x86_64::*;
        // SAFETY: the caller gives room for sixteen units; SSE2 is baseline; unaligned store.
        unsafe { _mm_storeu_si128(out.cast::<__m128i>(), x) }
    }
}

impl Unit for u16 {
    #[inline(always)]
    fn from_u32(c: u32) -> Self {
        c as u16
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn store16(x: std::arch::x86_64::__m128i, out: *mut Self) {
        use std::arch::x86_64::*;
        // SAFETY: as for u8; two 16-byte stores cover the sixteen 2-byte units.
        unsafe {
            let z = _mm_setzero_si128();
            _mm_storeu_si128(out.cast::<__m128i>(), _mm_unpacklo_epi8(x, z));
            _mm_storeu_si128(out.add(8).cast::<__m128i>(), _mm_unpackhi_epi8(x, z));
        }
    }
}

impl Unit for u32 {
    #[inline(always)]
    fn from_u32(c: u32) -> Self {
        c
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn store16(x: std::arch::x86_64::__m128i, out: *mut Self) {
        use std::arch::x86_64::*;
        // SAFETY: as for u8; four 16-byte stores cover the sixteen 4-byte units.
        unsafe {
            let z = _mm_setzero_si128();
            let lo = _mm_unpacklo_epi8(x, z);
            let hi = _mm_unpackhi_epi8(x, z);
            _mm_storeu_si128(out.cast::<__m128i>(), _mm_unpacklo_epi16(lo, z));
            _mm_storeu_si128(out.add(4).cast::<__m128i>(), _mm_unpackhi_epi16(lo, z));
            _mm_storeu_si128(out.add(8).cast::<__m128i>(), _mm_unpacklo_epi16(hi, z));
            _mm_storeu_si128(out.add(12).cast::<__m128i>(), _mm_unpackhi_epi16(hi, z));
        }
    }
}

/// Decode the valid UTF-8 `s` into `out`, which has room for `cap` units; returns the number
/// written (the character count of `s`). Every character of `s` must fit a `T`, and `cap` must be
/// at least the character count (`measure`); more room only lets ASCII blocks be stored whole.
///
/// # Safety
/// `out` must be valid for `cap` unit writes, `cap >= measure(s).1`, and `T` wide enough.
#[inline(always)]
pub unsafe fn decode<T: Unit>(s: &str, out: *mut T, cap: usize) -> usize {
    let b = s.as_bytes();
    let n = b.len();
    let p = b.as_ptr();
    let mut i = 0;
    let mut o = 0;
    // SAFETY (whole body): reads are at indices below n (UTF-8 sequences are complete in a
    // `str`, so a lead byte's continuation bytes are in bounds); each write is at an index below
    // the character count of `s` (one unit per character decoded so far), or, for a whole ASCII
    // block, below o + 16 <= cap.
    unsafe {
        while i < n {
            #[cfg(target_arch = "x86_64")]
            {
                use std::arch::x86_64::*;
                while i + 16 <= n {
                    let x = _mm_loadu_si128(p.add(i).cast::<__m128i>());
                    let mask = _mm_movemask_epi8(x) as u32;
                    if mask == 0 {
                        // sixteen ASCII characters: o + 16 <= characters of s <= cap
                        T::store16(x, out.add(o));
                        i += 16;
                        o += 16;
                        continue;
                    }
                    let t = mask.trailing_zeros() as usize;
                    if t == 0 {
                        // a non-ASCII character first: nothing to store
                    } else if o + 16 <= cap {
                        T::store16(x, out.add(o)); // the units past the ASCII prefix are rewritten below
                    } else {
                        for k in 0..t {
                            out.add(o + k).write(T::from_u32(u32::from(*p.add(i + k))));
                        }
                    }
                    i += t;
                    o += t;
                    break;
                }
            }
            // characters one at a time, staying here while they are not ASCII
            while i < n {
                let c0 = u32::from(*p.add(i));
                let (c, len) = if c0 < 0x80 {
                    if cfg!(target_arch = "x86_64") && i + 16 <= n {
                        break; // back to the blocks
                    }
                    (c0, 1)
                } else if c0 < 0xE0 {
                    (((c0 & 0x1F) << 6) | (u32::from(*p.add(i + 1)) & 0x3F), 2)
                } else if c0 < 0xF0 {
                    let c = ((c0 & 0x0F) << 12) | ((u32::from(*p.add(i + 1)) & 0x3F) << 6) | (u32::from(*p.add(i + 2)) & 0x3F);
                    (c, 3)
                } else {
                    let c = ((c0 & 0x07) << 18)
                        | ((u32::from(*p.add(i + 1)) & 0x3F) << 12)
                        | ((u32::from(*p.add(i + 2)) & 0x3F) << 6)
                        | (u32::from(*p.add(i + 3)) & 0x3F);
                    (c, 4)
                };
                out.add(o).write(T::from_u32(c));
                o += 1;
                i += len;
            }
        }
    }
    o
}

#[cfg(test)]
#[path = "utf8_tests.rs"]
mod tests;
