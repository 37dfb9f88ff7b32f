//! Codes people read and type: the citizen's tracking code and generated passwords. One
//! alphabet without look-alikes (Crockford's base 32: no I, L, O, U), so a code copied by
//! hand from a receipt is read back right; typed input is normalised the same way.

/// The 32 characters of a code.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Characters of a tracking code: 60 random bits. With the status page's rate limit, a
/// guesser finds one of a million open codes about once in 10^9 tries.
pub const TRACKING_CODE_LEN: usize = 12;

/// `len` characters of the alphabet, each from 5 random bits of the OS's source (32 divides
/// 256, so every character is equally likely).
pub fn random_code(len: usize) -> Result<String, getrandom::Error> {
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes)?;
    Ok(bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
        .collect())
}

/// A new tracking code, as stored (no separators).
pub fn new_tracking_code() -> Result<String, getrandom::Error> {
    random_code(TRACKING_CODE_LEN)
}

/// A tracking code as typed (any case, with spaces or dashes, O for 0, I or L for 1) as
/// stored; `None` when it cannot be one.
pub fn normalise_tracking_code(typed: &str) -> Option<String> {
    let mut code = String::with_capacity(TRACKING_CODE_LEN);
    for c in typed.chars() {
        let c = match c.to_ascii_uppercase() {
            ' ' | '-' | '.' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c if c.is_ascii() && ALPHABET.contains(&(c as u8)) => c,
            _ => return None,
        };
        code.push(c);
        if code.len() > TRACKING_CODE_LEN {
            return None;
        }
    }
    (code.len() == TRACKING_CODE_LEN).then_some(code)
}

/// A stored tracking code as printed: groups of four (`K7QM-3XW9-PT4R`).
pub fn display_tracking_code(code: &str) -> String {
    let chars: Vec<char> = code.chars().collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_use_only_the_alphabet_and_differ() {
        let a = new_tracking_code().expect("random");
        let b = new_tracking_code().expect("random");
        assert_eq!(a.len(), TRACKING_CODE_LEN);
        assert!(a.bytes().all(|c| ALPHABET.contains(&c)), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn typed_codes_are_normalised_and_printed_codes_read_back() {
        let code = "K7QM3XW9PT4R";
        assert_eq!(display_tracking_code(code), "K7QM-3XW9-PT4R");
        assert_eq!(
            normalise_tracking_code(&display_tracking_code(code)).as_deref(),
            Some(code)
        );
        assert_eq!(
            normalise_tracking_code(" k7qm 3xw9 pt4r ").as_deref(),
            Some(code)
        );
        assert_eq!(
            normalise_tracking_code("oOiL-0000-0000").as_deref(),
            Some("0011".to_owned() + "00000000").as_deref()
        );
        assert_eq!(normalise_tracking_code("K7QM-3XW9-PT4"), None);
        assert_eq!(normalise_tracking_code("K7QM-3XW9-PT4RR"), None);
        assert_eq!(normalise_tracking_code("K7QM-3XW9-PT4U"), None);
        assert_eq!(normalise_tracking_code("<script>"), None);
    }
}
