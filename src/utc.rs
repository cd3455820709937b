//! UTC calendar time of a unix-millisecond timestamp, for every surface that shows a time (web
//! pages, SSH command output, the terminal UI). Plain arithmetic instead of a date library: the
//! server only ever formats "now-ish" instants in UTC, never parses or localises them.

use crate::units::Millis;

/// `2026-11-23 09:34:40 UTC`.
pub fn utc_seconds(millis: Millis) -> String {
    let (mut out, rem) = date_and_rest(millis);
    for (sep, n) in [(' ', rem / 3600), (':', rem % 3600 / 60), (':', rem % 60)] {
        out.push(sep);
        push_two_digits(&mut out, n);
    }
    out.push_str(" UTC");
    out
}

/// `2026-11-23 09:34 UTC`.
pub fn utc_minutes(millis: Millis) -> String {
    let (mut out, rem) = date_and_rest(millis);
    for (sep, n) in [(' ', rem / 3600), (':', rem % 3600 / 60)] {
        out.push(sep);
        push_two_digits(&mut out, n);
    }
    out.push_str(" UTC");
    out
}

/// `2026-11-23T09:34:40Z` (RFC 3339, UTC, whole seconds): for machine-read output.
pub fn rfc3339(millis: Millis) -> String {
    let (date, rem) = date_and_rest(millis);
    format!(
        "{date}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `YYYY-MM-DD` (room left for the time) and the seconds into that day. Written digit by digit:
/// every status page shows a time, and `format!` costs more than the calendar arithmetic.
fn date_and_rest(millis: Millis) -> (String, u64) {
    use std::fmt::Write as _;
    let secs = millis / 1000;
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let mut out = String::with_capacity(24);
    if (0..10_000).contains(&y) {
        let y = y as u64;
        push_two_digits(&mut out, y / 100);
        push_two_digits(&mut out, y % 100);
    } else {
        // Years past 9999 (or before 0) never reach a page in practice; spelled out in full.
        let _ = write!(out, "{y:04}");
    }
    out.push('-');
    push_two_digits(&mut out, u64::from(m));
    out.push('-');
    push_two_digits(&mut out, u64::from(d));
    (out, secs % 86_400)
}

/// `n` (below 100) as two digits.
fn push_two_digits(out: &mut String, n: u64) {
    out.push(char::from(b'0' + (n / 10 % 10) as u8));
    out.push(char::from(b'0' + (n % 10) as u8));
}

/// Howard Hinnant's days → (year, month, day) for the proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_times_are_calendar_correct() {
        assert_eq!(utc_seconds(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc_seconds(951_782_400_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc_seconds(1_795_426_480_123), "2026-11-23 09:34:40 UTC");
        assert_eq!(utc_minutes(1_795_426_440_000), "2026-11-23 09:34 UTC");
        assert_eq!(rfc3339(1_795_426_480_123), "2026-11-23T09:34:40Z");
        assert_eq!(utc_minutes(951_868_799_000), "2000-02-29 23:59 UTC");
        assert_eq!(utc_minutes(951_868_800_000), "2000-03-01 00:00 UTC");
        assert_eq!(utc_seconds(253_402_300_799_000), "9999-12-31 23:59:59 UTC");
        assert_eq!(utc_seconds(253_402_300_800_000), "10000-01-01 00:00:00 UTC");
    }

    #[test]
    fn the_far_future_formats_without_overflow() {
        let text = utc_minutes(u64::MAX);
        assert!(text.ends_with("UTC"), "{text}");
    }
}
