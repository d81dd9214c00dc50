//! Decoding of ANSI-C quoted strings `$'…'` (bash manual 3.1.2.4, "ANSI-C Quoting"),
//! also used for `echo -e` and `printf` escapes.

/// Decodes the body of `$'…'` (without the `$'` and `'`).
///
/// Handles `\a \b \e \E \f \n \r \t \v \\ \' \" \?`, octal `\nnn` (one to
/// three digits), hex `\xHH` (one or two digits), `\uHHHH`, `\UHHHHHHHH`
/// and control characters `\cX`. Unknown escapes are kept as written, as bash
/// does. Bytes that do not form UTF-8 are replaced with U+FFFD.
pub fn decode(body: &str) -> String {
    decode_escapes(body, Mode::Ansi).0
}

/// Decodes backslash escapes as `echo -e` / `printf %b` do: like [`decode`],
/// but octal takes a leading `0` (`\0nnn`) and `\c` ends the output.
pub fn decode_echo(body: &str) -> String {
    decode_escapes(body, Mode::Echo).0
}

/// Decodes a `printf` format string's escapes (bash manual 4.2, `printf`):
/// as [`decode`] (octal `\nnn` with up to three digits), except that `\c`
/// stays as written.
pub fn decode_printf_format(body: &str) -> String {
    decode_escapes(body, Mode::PrintfFormat).0
}

/// Decodes a `printf %b` argument: as `echo -e`, and also `\nnn` without
/// the leading zero. Returns the text and whether a `\c` ended it, which
/// ends all of printf's output.
pub fn decode_printf_b(body: &str) -> (String, bool) {
    decode_escapes(body, Mode::PrintfB)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Ansi,
    Echo,
    PrintfFormat,
    PrintfB,
}

fn decode_escapes(body: &str, mode: Mode) -> (String, bool) {
    let ansi = matches!(mode, Mode::Ansi | Mode::PrintfFormat);
    let mut stopped = false;
    let b = body.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 >= b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let c = b[i + 1];
        i += 2;
        match c {
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'e' | b'E' => out.push(27),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'\\' => out.push(b'\\'),
            b'\'' if ansi => out.push(b'\''),
            b'"' if ansi => out.push(b'"'),
            b'?' if ansi => out.push(b'?'),
            b'0'..=b'7' => {
                // ANSI-C: up to three octal digits including this one.
                // echo -e: `\0` followed by up to three octal digits.
                let (start, max) = if ansi {
                    (i - 1, 3)
                } else if c == b'0' {
                    (i, 3)
                } else if mode == Mode::PrintfB {
                    (i - 1, 3)
                } else {
                    out.extend_from_slice(&[b'\\', c]);
                    continue;
                };
                let mut v: u32 = 0;
                let mut j = start;
                while j < b.len() && j < start + max && (b'0'..=b'7').contains(&b[j]) {
                    v = v * 8 + u32::from(b[j] - b'0');
                    j += 1;
                }
                out.push((v & 0xff) as u8);
                i = j;
            }
            b'x' | b'u' | b'U' => {
                let max = match c {
                    b'x' => 2,
                    b'u' => 4,
                    _ => 8,
                };
                let mut v: u32 = 0;
                let mut j = i;
                while j < b.len() && j < i + max && b[j].is_ascii_hexdigit() {
                    v = v * 16 + (b[j] as char).to_digit(16).unwrap_or(0);
                    j += 1;
                }
                if j == i {
                    out.extend_from_slice(&[b'\\', c]);
                    continue;
                }
                i = j;
                if c == b'x' {
                    out.push(v as u8);
                } else {
                    let ch = char::from_u32(v).unwrap_or('\u{fffd}');
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
            }
            b'c' if mode == Mode::PrintfFormat => out.extend_from_slice(b"\\c"),
            b'c' if ansi => {
                if i < b.len() {
                    let x = b[i];
                    i += 1;
                    out.push(if x == b'?' {
                        0x7f
                    } else {
                        x.to_ascii_uppercase() & 0x1f
                    });
                } else {
                    out.extend_from_slice(b"\\c");
                }
            }
            b'c' => {
                stopped = true;
                break;
            }
            _ => out.extend_from_slice(&[b'\\', c]),
        }
    }
    (String::from_utf8_lossy(&out).into_owned(), stopped)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values checked with `bash -c "printf %s \$'…'"` (GNU bash 5.2).
    #[test]
    fn ansi_c_escape_forms() {
        assert_eq!(decode(r"\x72m"), "rm");
        assert_eq!(decode(r"\162\155"), "rm");
        assert_eq!(decode(r"\u0072\U0000006d"), "rm");
        assert_eq!(decode(r"a\tb\n"), "a\tb\n");
        assert_eq!(decode(r"\cA"), "\u{1}");
        assert_eq!(decode(r"it\'s"), "it's");
        assert_eq!(decode(r"\q"), "\\q");
        assert_eq!(decode(r"\x"), "\\x");
    }

    #[test]
    // Checked with bash 5.2: `printf 'r\155|\0155|a\cb'` and `printf %b`.
    fn printf_escape_forms() {
        assert_eq!(decode_printf_format(r"r\155"), "rm");
        assert_eq!(decode_printf_format(r"\0155"), "\r5");
        assert_eq!(decode_printf_format(r"a\cb"), "a\\cb");
        assert_eq!(decode_printf_b(r"r\155"), ("rm".to_string(), false));
        assert_eq!(decode_printf_b(r"r\0155"), ("rm".to_string(), false));
        assert_eq!(decode_printf_b(r"a\cb"), ("a".to_string(), true));
    }

    #[test]
    fn echo_escape_forms() {
        assert_eq!(decode_echo(r"\0162m"), "rm");
        assert_eq!(decode_echo(r"a\cb"), "a");
        assert_eq!(decode_echo(r"\x72m\n"), "rm\n");
    }
}
