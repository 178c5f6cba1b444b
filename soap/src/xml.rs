//! Small XML helpers shared by the writers: escaping, and the NCName check.
//!
//! Invariant: everything written through these helpers is well-formed XML 1.0 character data,
//! whatever the input: markup characters are escaped and characters XML 1.0 cannot carry at
//! all (most C0 controls, U+FFFE, U+FFFF) become U+FFFD.

/// Appends `text` escaped for element content or a double-quoted attribute value.
pub(crate) fn escape_into(out: &mut Vec<u8>, text: &str) {
    let mut run_start = 0;
    for (i, c) in text.char_indices() {
        let replacement: Option<&str> = match c {
            '&' => Some("&amp;"),
            '<' => Some("&lt;"),
            '>' => Some("&gt;"),
            '"' => Some("&quot;"),
            // Escaped so that they survive attribute-value normalisation and CRLF folding.
            '\r' => Some("&#xD;"),
            '\t' | '\n' => None,
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => Some("\u{FFFD}"),
            _ => None,
        };
        if let Some(replacement) = replacement {
            out.extend_from_slice(&text.as_bytes()[run_start..i]);
            out.extend_from_slice(replacement.as_bytes());
            run_start = i + c.len_utf8();
        }
    }
    out.extend_from_slice(&text.as_bytes()[run_start..]);
}

/// Whether `name` is an XML NCName (restricted to the ASCII letters, digits, `_`, `-` and `.`
/// that every name written by this crate uses).
pub(crate) fn is_ascii_ncname(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        let mut out = Vec::new();
        escape_into(&mut out, "a<b>&\"c\"\r\n\t\u{1}æ");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a&lt;b&gt;&amp;&quot;c&quot;&#xD;\n\t\u{FFFD}æ"
        );
    }

    #[test]
    fn ncnames() {
        assert!(is_ascii_ncname("wsse"));
        assert!(is_ascii_ncname("_a-1.b"));
        assert!(!is_ascii_ncname("1a"));
        assert!(!is_ascii_ncname("a:b"));
        assert!(!is_ascii_ncname(""));
    }
}
