//! Times and sizes as pages show them: UTC wall-clock times, "expires in" spans, and the coarse
//! size class the status page may reveal (the exact size is the claimant's business).

use crate::share::Millis;

/// `2026-11-23 09:34:40 UTC`.
pub fn utc(millis: Millis) -> String {
    let secs = millis / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `6D 23H`, `4H 05M`, `12M`, `<1M`.
pub fn span(millis: u64) -> String {
    let mins = millis / 60_000;
    let (d, h, m) = (mins / 1440, mins % 1440 / 60, mins % 60);
    match (d, h, m) {
        (0, 0, 0) => "<1M".into(),
        (0, 0, m) => format!("{m}M"),
        (0, h, m) => format!("{h}H {m:02}M"),
        (d, h, _) => format!("{d}D {h}H"),
    }
}

/// A size class of the stored (encrypted) size.
pub fn size_class(bytes: u64) -> &'static str {
    const KIB: u64 = 1024;
    match bytes {
        b if b <= 4 * KIB => "UNDER 4 KB",
        b if b <= 64 * KIB => "UNDER 64 KB",
        b if b <= KIB * KIB => "UNDER 1 MB",
        b if b <= 16 * KIB * KIB => "UNDER 16 MB",
        b if b <= 256 * KIB * KIB => "UNDER 256 MB",
        _ => "OVER 256 MB",
    }
}

/// Howard Hinnant's days-to-civil for the proleptic Gregorian calendar.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_times_are_calendar_correct() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_795_426_480_123), "2026-11-23 09:34:40 UTC");
    }

    #[test]
    fn spans_read_at_a_glance() {
        assert_eq!(span(30_000), "<1M");
        assert_eq!(span(12 * 60_000), "12M");
        assert_eq!(span(245 * 60_000), "4H 05M");
        assert_eq!(span(7 * 86_400_000 - 60_000), "6D 23H");
    }
}
