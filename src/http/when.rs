//! Times and sizes as pages show them: UTC wall-clock times, "expires in" spans, and the coarse
//! size class the status page may reveal (the exact size is the claimant's business).

use crate::share::Millis;

/// `2026-11-23 09:34:40 UTC`.
pub fn utc(millis: Millis) -> String {
    crate::utc::utc_seconds(millis)
}

/// Time left, the one way every surface says it ([`crate::units::format_remaining`]), in the
/// page's capitals: `6D 23H`, `4H 05M`, `12M 00S`, `30S`.
pub fn span(millis: u64) -> String {
    crate::units::format_remaining(millis).to_uppercase()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_at_a_glance() {
        assert_eq!(span(30_000), "30S");
        assert_eq!(span(12 * 60_000), "12M 00S");
        assert_eq!(span(245 * 60_000), "4H 05M");
        assert_eq!(span(7 * 86_400_000 - 60_000), "6D 23H");
    }
}
