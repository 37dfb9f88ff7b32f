//! A queue number as people read it (`A-007`): the queue's prefix and the day's sequence.
//!
//! The runtime draws the sequence from the store's counter; cases carry the number as text
//! (the stable event JSON). This type is the one place that writes and reads that text, so
//! the order in which numbers are called never depends on string tricks elsewhere.

use std::fmt;
use std::str::FromStr;

/// A queue number: `prefix` (one to three capital letters) and `sequence` (from 1, per queue
/// per local day). Ordered by sequence, then prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QueueNumber {
    pub prefix: String,
    pub sequence: u32,
}

impl QueueNumber {
    pub fn new(prefix: impl Into<String>, sequence: u32) -> Self {
        Self {
            prefix: prefix.into(),
            sequence,
        }
    }
}

impl fmt::Display for QueueNumber {
    /// `A-007`: three digits at least, so that numbers line up on a display board.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:03}", self.prefix, self.sequence)
    }
}

/// Why a text is not a queue number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a queue number (like A-007)")]
pub struct NotAQueueNumber(pub String);

impl FromStr for QueueNumber {
    type Err = NotAQueueNumber;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let refuse = || NotAQueueNumber(text.to_owned());
        let (prefix, digits) = text.rsplit_once('-').ok_or_else(refuse)?;
        if prefix.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(refuse());
        }
        let sequence = digits.parse().map_err(|_| refuse())?;
        Ok(Self::new(prefix, sequence))
    }
}

impl PartialOrd for QueueNumber {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for QueueNumber {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.sequence, &self.prefix).cmp(&(other.sequence, &other.prefix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_reads_back() {
        let n = QueueNumber::new("A", 7);
        assert_eq!(n.to_string(), "A-007");
        assert_eq!("A-007".parse::<QueueNumber>(), Ok(n));
        assert_eq!(
            "AB-1234".parse::<QueueNumber>(),
            Ok(QueueNumber::new("AB", 1234))
        );
    }

    #[test]
    fn orders_by_sequence_not_text() {
        let mut numbers: Vec<QueueNumber> = ["A-100", "A-009", "A-010"]
            .iter()
            .map(|t| t.parse().expect("a number"))
            .collect();
        numbers.sort();
        let texts: Vec<String> = numbers.iter().map(ToString::to_string).collect();
        assert_eq!(texts, ["A-009", "A-010", "A-100"]);
    }

    #[test]
    fn refuses_what_is_not_one() {
        for text in ["", "A", "A-", "-007", "A-x7", "A-99999999999"] {
            assert!(text.parse::<QueueNumber>().is_err(), "{text}");
        }
    }
}
