//! The key of a heartbeat in the bucket: `<host-id>.<name>`, where `name`
//! is the file name without `.json` (PROTOCOL.md, "Fleet").
//!
//! NATS keys allow `A-Z a-z 0-9 - _ / = .`, and `.` separates tokens. Each
//! part is escaped on its own: ASCII letters, digits, `-` and `_` stay; every
//! other byte of its UTF-8 (`.`, `/`, `=`, space, non-ASCII ...) becomes `=`
//! and two upper-case hex digits. So the one `.` in a key is the separator,
//! a key never holds `/` (it can sit in a `nats://` URL path), and the
//! mapping is reversible: [`decode_part`] gives back the original bytes.

/// Escapes one part (a host id or a file name stem).
pub fn encode_part(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    for &b in part.as_bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            out.push(b as char);
        } else {
            out.push_str(&format!("={b:02X}"));
        }
    }
    out
}

/// The original text of an escaped part; `None` when it is not one.
pub fn decode_part(part: &str) -> Option<String> {
    let b = part.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'=' => {
                let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                if hex.bytes().any(|c| c.is_ascii_lowercase()) {
                    return None;
                }
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            c if c.is_ascii_alphanumeric() || c == b'-' || c == b'_' => {
                out.push(c);
                i += 1;
            }
            _ => return None,
        }
    }
    String::from_utf8(out).ok()
}

/// The key for a host id and a file name stem.
pub fn key(host_id: &str, name: &str) -> String {
    format!("{}.{}", encode_part(host_id), encode_part(name))
}

/// The host id and file name stem of a key; `None` for a key that no relay
/// writes.
pub fn split(key: &str) -> Option<(String, String)> {
    let (host, name) = key.split_once('.')?;
    if host.is_empty() || name.is_empty() {
        return None;
    }
    Some((decode_part(host)?, decode_part(name)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_stay_readable() {
        assert_eq!(key("web-1", "api_server"), "web-1.api_server");
    }

    #[test]
    fn dots_slashes_equals_and_unicode_are_escaped() {
        assert_eq!(
            key("web1.example.com", "a=b c"),
            "web1=2Eexample=2Ecom.a=3Db=20c"
        );
        assert_eq!(encode_part("ü/"), "=C3=BC=2F");
    }

    #[test]
    fn every_key_maps_back_to_its_parts() {
        for (h, n) in [
            ("web1.example.com", "app.v2"),
            ("host", "=41"),
            ("ÿ", "名前"),
            ("a b", "-_-"),
        ] {
            let k = key(h, n);
            assert!(k.bytes().filter(|&c| c == b'.').count() == 1, "{k}");
            assert_eq!(split(&k), Some((h.to_string(), n.to_string())), "{k}");
        }
    }

    #[test]
    fn keys_no_relay_writes_are_refused() {
        for k in [
            "nodot", ".x", "x.", "a.b.c", "a.=4", "a.=4g", "a.=4a", "a/b.c", "a.=FF",
        ] {
            assert_eq!(split(k), None, "{k}");
        }
    }
}
