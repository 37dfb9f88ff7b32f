//! The text rules of request parameters and bodies that the handlers check, in one place with
//! the patterns the OpenAPI document states for them (so that a generated client, and a
//! fuzzer, knows what is accepted: `tests/reliability/schemathesis.sh`).

use crate::problem::Problem;

/// Characters in a reason (cancel, incident, release, deploy); the same bound as every text
/// of a command (`sopflow_core` limits).
pub const MAX_TEXT_CHARS: usize = sopflow_core::runtime::limits::MAX_TEXT_CHARS;

/// Text without control characters (tab, line feed and carriage return excepted): the rule
/// of every text a command carries.
pub const TEXT_PATTERN: &str = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$";

/// [`TEXT_PATTERN`], and at least one character that is not white space (a reason that says
/// something).
pub const REASON_PATTERN: &str = concat!(
    r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*",
    r"[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]",
    r"[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
);

/// A document scan: standard base64 with padding, in its canonical form (the bits after the
/// last whole byte zero), as the handlers decode it.
pub const BASE64_PATTERN: &str = concat!(
    r"^(?:[A-Za-z0-9+/]{4})*",
    r"(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?$"
);

/// An Idempotency-Key: 1 to 200 visible ASCII characters.
pub const IDEMPOTENCY_KEY_PATTERN: &str = r"^[!-~]{1,200}$";

/// Whether `key` is a valid Idempotency-Key ([`IDEMPOTENCY_KEY_PATTERN`]).
pub fn is_idempotency_key(key: &[u8]) -> bool {
    (1..=200).contains(&key.len()) && key.iter().all(|b| (b'!'..=b'~').contains(b))
}

/// The first control character of `text` that [`TEXT_PATTERN`] refuses.
pub fn control_character(text: &str) -> Option<char> {
    text.chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// Checks a reason given as `what` (a query parameter or a body field): bounded, no control
/// characters.
pub fn check_reason(text: &str, what: &str, problem: fn(String) -> Problem) -> Result<(), Problem> {
    if let Some(c) = control_character(text) {
        return Err(problem(format!(
            "{what}: control character U+{:04X} is not allowed in text",
            u32::from(c)
        )));
    }
    let chars = text.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(problem(format!(
            "{what}: at most {MAX_TEXT_CHARS} characters, not {chars}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii() {
        assert!(is_idempotency_key(b"abc-123:x"));
        assert!(!is_idempotency_key(b""));
        assert!(!is_idempotency_key(b"a b"));
        assert!(!is_idempotency_key(b"a\tb"));
        assert!(!is_idempotency_key("ké".as_bytes()));
        assert!(is_idempotency_key(&[b'k'; 200]));
        assert!(!is_idempotency_key(&[b'k'; 201]));
    }

    #[test]
    fn control_characters_but_tab_and_line_breaks_are_found() {
        assert_eq!(control_character("a\tb\r\nc"), None);
        assert_eq!(control_character("a\u{0}"), Some('\u{0}'));
        assert_eq!(control_character("\u{85}"), Some('\u{85}'));
        assert_eq!(control_character("\u{7f}"), Some('\u{7f}'));
        assert_eq!(control_character("\u{a0}é"), None);
    }
}
