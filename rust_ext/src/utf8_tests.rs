//! `measure` and `decode` against `str::chars`: every plane, every length 0..64 around the
//! 16-byte blocks, ASCII runs broken at every offset, and room exactly the character count.

use super::*;

fn expect(s: &str) {
    let want: Vec<u32> = s.chars().map(u32::from).collect();
    let (max, chars) = measure(s.as_bytes());
    assert_eq!(chars, want.len(), "count of {s:?}");
    assert_eq!(max, s.bytes().max().unwrap_or(0), "max byte of {s:?}");
    let widest = want.iter().copied().max().unwrap_or(0);
    let mc = maxchar(max);
    assert!(widest <= mc, "{s:?}: widest {widest:#x} > {mc:#x}");
    // the narrowest representation, as CPython requires
    let narrowest = if widest < 0x80 {
        0x7F
    } else if widest < 0x100 {
        0xFF
    } else if widest < 0x10000 {
        0xFFFF
    } else {
        0x10FFFF
    };
    assert_eq!(mc, narrowest, "{s:?}");
    check::<u32>(s, &want);
    if widest < 0x10000 {
        check::<u16>(s, &want);
    }
    if widest < 0x100 {
        check::<u8>(s, &want);
    }
}

fn check<T: Unit + Into<u32> + Default>(s: &str, want: &[u32]) {
    // exactly the character count, then room to spare: both must give the same units, and
    // nothing may be written past the room given (guard units after it)
    for spare in [0usize, 1, 16, 40] {
        let cap = want.len() + spare;
        let mut buf: Vec<T> = vec![T::from_u32(0x55); cap + 8];
        // SAFETY: buf holds cap (+ 8 guard) units; T is wide enough (the caller checked).
        let n = unsafe { decode(s, buf.as_mut_ptr(), cap) };
        assert_eq!(n, want.len(), "{s:?}");
        let got: Vec<u32> = buf[..n].iter().map(|&u| u.into()).collect();
        assert_eq!(got, want, "{s:?} spare {spare}");
        assert!(buf[cap..].iter().all(|&u| u.into() == 0x55), "{s:?}: wrote past the room");
    }
}

/// One character per plane and width, and the edges of each UTF-8 length.
const SAMPLES: &[char] = &[
    'a', '\0', '\u{7f}', '\u{80}', 'é', '\u{ff}', '\u{100}', 'ж', '\u{7ff}', '\u{800}', '中', 'ア', '\u{d7ff}', '\u{e000}',
    '\u{fffd}', '\u{ffff}', '\u{10000}', '😀', '\u{1f9ff}', '\u{20000}', '\u{2ffff}', '\u{e0001}', '\u{fffff}', '\u{10fffd}',
    '\u{10ffff}',
];

#[test]
fn every_width_at_every_length_and_offset() {
    for &c in SAMPLES {
        for len in 0..64 {
            for at in 0..len.max(1) {
                // ASCII of `len` characters with `c` at `at`
                let s: String = (0..len).map(|k| if k == at { c } else { (b'a' + (k % 26) as u8) as char }).collect();
                expect(&s);
            }
            // all `c`
            expect(&std::iter::repeat_n(c, len).collect::<String>());
        }
    }
}

#[test]
fn mixed_texts() {
    // runs of each width alternating with ASCII runs of every length, and a seeded mixture
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..4000 {
        let len = (next() % 200) as usize;
        let mut s = String::new();
        while s.chars().count() < len {
            let r = next();
            match r % 4 {
                0 => s.extend(std::iter::repeat_n('x', (r >> 8) as usize % 40)),
                _ => s.push(SAMPLES[(r >> 8) as usize % SAMPLES.len()]),
            }
        }
        expect(&s);
    }
    expect("Ωmega — naïve café 中文テキスト 😀 done");
    expect(&"日本語のテキスト".repeat(50));
    expect(&"Привет, мир! ".repeat(40));
}
