//! UTC calendar time of a unix-millisecond timestamp, for every surface that shows a time (web
//! pages, SSH command output, the terminal UI). Plain arithmetic instead of a date library: the
//! server only ever formats "now-ish" instants in UTC, never parses or localises them.

use crate::units::Millis;

/// `2026-11-23 09:34:40 UTC`.
pub fn utc_seconds(millis: Millis) -> String {
    let (date, rem) = date_and_rest(millis);
    format!(
        "{date} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `2026-11-23 09:34 UTC`.
pub fn utc_minutes(millis: Millis) -> String {
    let (date, rem) = date_and_rest(millis);
    format!("{date} {:02}:{:02} UTC", rem / 3600, rem % 3600 / 60)
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

/// `YYYY-MM-DD` and the seconds into that day.
fn date_and_rest(millis: Millis) -> (String, u64) {
    let secs = millis / 1000;
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    (format!("{y:04}-{m:02}-{d:02}"), secs % 86_400)
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
    }

    #[test]
    fn the_far_future_formats_without_overflow() {
        let text = utc_minutes(u64::MAX);
        assert!(text.ends_with("UTC"), "{text}");
    }
}
