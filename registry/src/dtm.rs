//! HL7 DTM times as the registry stores and compares them.
//!
//! XDS times are UTC `YYYY[MM[DD[hh[mm[ss]]]]]`. The store keeps them right-padded with `0`
//! to [`DTM_DIGITS`] digits so that plain string comparison (in SQL) orders them by time,
//! whatever precision each side was given in.

/// Digits of a fully precise DTM (`YYYYMMDDhhmmss`).
pub const DTM_DIGITS: usize = 14;

/// Pads a DTM to [`DTM_DIGITS`] digits, or `None` if it is not 4 to 14 ASCII digits.
/// Fractional seconds and a time zone are not allowed in XDS metadata, so they are refused.
pub fn normalize(value: &str) -> Option<String> {
    let value = value.trim();
    if value.len() < 4 || value.len() > DTM_DIGITS || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut padded = value.to_owned();
    while padded.len() < DTM_DIGITS {
        padded.push('0');
    }
    Some(padded)
}

/// The current UTC time as a 14-digit DTM.
pub fn now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    from_unix_seconds(secs)
}

/// A Unix time as a 14-digit UTC DTM (proleptic Gregorian, "days from civil" inverse).
pub fn from_unix_seconds(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (hour, minute, second) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}{month:02}{day:02}{hour:02}{minute:02}{second:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_to_full_precision_so_strings_order_as_times() {
        assert_eq!(normalize("2004").as_deref(), Some("20040000000000"));
        assert_eq!(normalize("200412251010").as_deref(), Some("20041225101000"));
        assert!(normalize("2004").unwrap() < normalize("20040101").unwrap());
        assert_eq!(normalize("20041225101000123"), None);
        assert_eq!(normalize("2004-12"), None);
        assert_eq!(normalize("200"), None);
    }

    #[test]
    fn unix_seconds_become_utc_dtm() {
        assert_eq!(from_unix_seconds(0), "19700101000000");
        assert_eq!(from_unix_seconds(951_782_400), "20000229000000");
        assert_eq!(from_unix_seconds(1_764_080_130), "20251125141530");
    }
}
