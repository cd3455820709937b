//! Units every layer speaks, with no dependency on any of them (a leaf): instants as unix
//! milliseconds ([`Millis`]), and human durations ("90s", "5m", "1h30m", "7d") and sizes
//! ("256MiB", "1G", "4096"), parsed and formatted. Sizes use binary multiples whatever the
//! spelling (K = KB = KiB = 1024), as nginx and ssh do.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// An instant as milliseconds since the Unix epoch (what the stores keep and compare).
pub type Millis = u64;

/// Now, in [`Millis`] (0 if the clock is before 1970, which no store would accept anyway).
pub fn now_millis() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UnitError {
    #[error("invalid duration {0:?} (examples: 90s, 5m, 1h, 1h30m, 7d)")]
    Duration(String),
    #[error("invalid size {0:?} (examples: 4096, 512K, 256MiB, 1G)")]
    Size(String),
}

pub fn parse_duration(text: &str) -> Result<Duration, UnitError> {
    let err = || UnitError::Duration(text.to_owned());
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(err());
    }
    if let Ok(seconds) = trimmed.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for ch in trimmed.chars() {
        if ch.is_ascii_digit() {
            digits.push(ch);
            continue;
        }
        let unit = match ch.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(err()),
        };
        let value: u64 = digits.parse().map_err(|_| err())?;
        digits.clear();
        total = value
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(err)?;
    }
    if !digits.is_empty() || total == 0 {
        return Err(err());
    }
    Ok(Duration::from_secs(total))
}

/// Time left, the one way every surface says it: the two largest units, `6d 23h`, `4h 05m`,
/// `59m 58s`, `45s` (seconds rounded up, so a live share never reads `0s`).
pub fn format_remaining(millis: u64) -> String {
    let secs = millis.div_ceil(1000);
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, m) => format!("{m}m {s:02}s"),
        (0, h, m) => format!("{h}h {m:02}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

/// The shortest exact spelling: 604800s → "7d", 5400s → "1h30m".
/// "1 attempt", "3 attempts": a number and its noun, agreeing (English plural by `s`).
pub fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

pub fn format_duration(duration: Duration) -> String {
    let mut left = duration.as_secs();
    if left == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, name) in [(86_400, 'd'), (3600, 'h'), (60, 'm'), (1, 's')] {
        if left >= unit {
            out.push_str(&format!("{}{name}", left / unit));
            left %= unit;
        }
    }
    out
}

pub fn parse_size(text: &str) -> Result<u64, UnitError> {
    let err = || UnitError::Size(text.to_owned());
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let value: u64 = number.parse().map_err(|_| err())?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => return Err(err()),
    };
    value.checked_mul(1u64 << shift).ok_or_else(err)
}

/// "1.5 MiB"-style, for people.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("7d").unwrap(), Duration::from_secs(604_800));
        assert_eq!(parse_duration("120").unwrap(), Duration::from_secs(120));
        for bad in ["", "m", "5x", "1h5", "0m", "99999999999999999999d", "-5m"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn durations_format_back() {
        for text in ["7d", "1h30m", "5m", "45s", "1d2h3m4s"] {
            assert_eq!(format_duration(parse_duration(text).unwrap()), text);
        }
        for (ms, text) in [
            (45_000, "45s"),
            (44_001, "45s"),
            (3_598_000, "59m 58s"),
            (3_600_000, "1h 00m"),
            (14_700_000, "4h 05m"),
            (601_200_000, "6d 23h"),
        ] {
            assert_eq!(format_remaining(ms), text);
        }
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert_eq!(parse_size("512K").unwrap(), 512 * 1024);
        assert_eq!(parse_size("256MiB").unwrap(), 256 << 20);
        assert_eq!(parse_size("1 GB").unwrap(), 1 << 30);
        for bad in ["", "MiB", "12Q", "-1", "99999999999T"] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sizes_format_for_people() {
        assert_eq!(format_size(12), "12 B");
        assert_eq!(format_size(1536), "1.5 KiB");
        assert_eq!(format_size(256 << 20), "256.0 MiB");
    }
}
