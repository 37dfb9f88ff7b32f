//! Indonesia's three time zones. None has daylight saving time, so each is a fixed offset
//! from UTC and a local day is always 24 hours long.

use std::fmt;

use time::UtcOffset;
use time::macros::offset;

/// The time zone of a service point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Zone {
    /// Waktu Indonesia Barat, UTC+07:00 (Sumatra, Java, West and Central Kalimantan).
    Wib,
    /// Waktu Indonesia Tengah, UTC+08:00 (Bali, Nusa Tenggara, Sulawesi, East Kalimantan).
    Wita,
    /// Waktu Indonesia Timur, UTC+09:00 (Maluku, Papua).
    Wit,
}

impl Zone {
    pub const ALL: [Zone; 3] = [Zone::Wib, Zone::Wita, Zone::Wit];

    /// The name as offices write it (`WIB`), which is also the canonical form in files.
    pub fn name(self) -> &'static str {
        match self {
            Zone::Wib => "WIB",
            Zone::Wita => "WITA",
            Zone::Wit => "WIT",
        }
    }

    pub fn offset(self) -> UtcOffset {
        match self {
            Zone::Wib => offset!(+7),
            Zone::Wita => offset!(+8),
            Zone::Wit => offset!(+9),
        }
    }

    /// `WIB`, `WITA`, `WIT` (any case), or an IANA name of a zone on one of those offsets
    /// (`Asia/Jakarta`, `Asia/Pontianak`, `Asia/Makassar`, `Asia/Jayapura`), which is what
    /// a server's configuration usually says.
    pub fn from_name(text: &str) -> Option<Zone> {
        match text.trim().to_ascii_lowercase().as_str() {
            "wib" | "asia/jakarta" | "asia/pontianak" => Some(Zone::Wib),
            "wita" | "asia/makassar" => Some(Zone::Wita),
            "wit" | "asia/jayapura" => Some(Zone::Wit),
            _ => None,
        }
    }
}

/// The UTC offset of a zone as a configuration writes it: a [`Zone`] name (`WIB`,
/// `Asia/Jakarta`...), `UTC`, or an offset like `+07:00`. Every part of sopflow that turns a
/// service point's or a deployment's zone into an offset asks this one function.
pub fn utc_offset_of(zone: &str) -> Option<UtcOffset> {
    if let Some(z) = Zone::from_name(zone) {
        return Some(z.offset());
    }
    match zone.trim() {
        "UTC" | "Etc/UTC" => Some(UtcOffset::UTC),
        other => {
            let format =
                time::macros::format_description!("[offset_hour sign:mandatory]:[offset_minute]");
            UtcOffset::parse(other, &format).ok()
        }
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_offsets() {
        for zone in Zone::ALL {
            assert_eq!(Zone::from_name(zone.name()), Some(zone));
            assert_eq!(Zone::from_name(&zone.name().to_lowercase()), Some(zone));
        }
        assert_eq!(Zone::Wib.offset().whole_seconds(), 7 * 3600);
        assert_eq!(Zone::Wita.offset().whole_seconds(), 8 * 3600);
        assert_eq!(Zone::Wit.offset().whole_seconds(), 9 * 3600);
        assert_eq!(Zone::from_name("Asia/Jakarta"), Some(Zone::Wib));
        assert_eq!(Zone::from_name("Asia/Makassar"), Some(Zone::Wita));
        assert_eq!(Zone::from_name("Asia/Jayapura"), Some(Zone::Wit));
        assert_eq!(Zone::from_name("Europe/Berlin"), None);
        assert_eq!(Zone::from_name("+07:00"), None);
    }
}
