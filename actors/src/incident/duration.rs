//! Durations as people write them (`90s`, `5m`, `1h30m`, `2d`) and as the
//! bot writes them back.
//!
//! The same grammar serves chat commands (`remind 10m …`, `snooze update
//! 1h`) and configuration (`no_lead_after = "5m"`), so an operator and a
//! responder learn one notation. [`parse_duration`] is the only way in:
//! a [`chrono::Duration`] it returns is positive and at most
//! [`MAX_DURATION_DAYS`] long, so code past it never re-checks.

use chrono::Duration;

/// The longest duration accepted. Nothing an incident waits for is longer,
/// and a cap turns a typo such as `5000d` into an error instead of a
/// reminder that never comes.
pub const MAX_DURATION_DAYS: i64 = 30;

const SECONDS_PER_MINUTE: i64 = 60;
const SECONDS_PER_HOUR: i64 = 60 * SECONDS_PER_MINUTE;
const SECONDS_PER_DAY: i64 = 24 * SECONDS_PER_HOUR;
const MAX_SECONDS: i64 = MAX_DURATION_DAYS * SECONDS_PER_DAY;

/// Why some text is not a duration. Each message is a sentence for the
/// person (or operator) who wrote it, with an example of what works.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("A duration is missing: write one like `90s`, `5m`, `1h30m` or `2d`.")]
    Empty,
    /// A bare number is ambiguous (seconds? minutes?), and guessing wrong
    /// means a reminder sixty times too early or too late.
    #[error("`{0}` needs a unit: write `{0}m` for minutes, or use s, h or d.")]
    MissingUnit(String),
    #[error("`{unit}` in `{given}` is not a unit: use s, m, h or d, as in `1h30m`.")]
    UnknownUnit { given: String, unit: String },
    #[error("`{0}` is not a duration: write one like `90s`, `5m`, `1h30m` or `2d`.")]
    Malformed(String),
    #[error("`{0}` is not a duration: write each unit once, largest first, as in `1h30m`.")]
    OutOfOrder(String),
    #[error("`{0}` is not long enough: a duration must be more than zero.")]
    NotPositive(String),
    #[error("`{0}` is too long: keep it to 30 days or less.")]
    TooLong(String),
}

/// Parses `90s`, `5m`, `1h`, `1h30m`, `1h 30m`, `2d`, … (case-insensitive;
/// long unit names such as `min`, `hours` or `days` work too).
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let given = text.trim();
    if given.is_empty() {
        return Err(DurationError::Empty);
    }
    if given.starts_with('-') {
        return Err(DurationError::NotPositive(given.to_owned()));
    }
    if given.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DurationError::MissingUnit(given.to_owned()));
    }
    let lowered = given.to_lowercase();
    let mut rest = lowered.as_str();
    let mut total: i64 = 0;
    // Each unit's size in seconds, so "largest first, each once" is a
    // strictly decreasing sequence of sizes.
    let mut previous_unit: Option<i64> = None;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        let digits_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits_end == 0 {
            return Err(DurationError::Malformed(given.to_owned()));
        }
        let number: i64 = rest[..digits_end]
            .parse()
            .map_err(|_| DurationError::TooLong(given.to_owned()))?;
        // `10 min` as well as `10min`.
        rest = rest[digits_end..].trim_start();
        let unit_end = rest
            .find(|c: char| !c.is_alphabetic())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        if unit.is_empty() {
            // `1h30`: the last number has no unit; `1.5h`: a fraction.
            return Err(DurationError::Malformed(given.to_owned()));
        }
        let size = unit_seconds(unit).ok_or_else(|| DurationError::UnknownUnit {
            given: given.to_owned(),
            unit: unit.to_owned(),
        })?;
        if previous_unit.is_some_and(|previous| previous <= size) {
            return Err(DurationError::OutOfOrder(given.to_owned()));
        }
        previous_unit = Some(size);
        total = number
            .checked_mul(size)
            .and_then(|seconds| total.checked_add(seconds))
            .ok_or_else(|| DurationError::TooLong(given.to_owned()))?;
        rest = &rest[unit_end..];
    }
    if total == 0 {
        return Err(DurationError::NotPositive(given.to_owned()));
    }
    if total > MAX_SECONDS {
        return Err(DurationError::TooLong(given.to_owned()));
    }
    Ok(Duration::seconds(total))
}

/// The exact duration in the same notation, largest unit first:
/// `1d 2h`, `1h 30m`, `1m 30s`, `0s`. Whole seconds only; anything below a
/// second, or below zero, is dropped. [`parse_duration`] reads it back.
///
/// [`human_duration`] is the rounded cousin for reading how long something
/// has lasted; this one is for echoing a duration someone asked for.
pub fn format_duration(duration: Duration) -> String {
    let mut seconds = duration.num_seconds().max(0);
    if seconds == 0 {
        return "0s".to_owned();
    }
    let mut parts = Vec::with_capacity(4);
    for (size, unit) in [
        (SECONDS_PER_DAY, "d"),
        (SECONDS_PER_HOUR, "h"),
        (SECONDS_PER_MINUTE, "m"),
        (1, "s"),
    ] {
        let count = seconds / size;
        if count > 0 {
            parts.push(format!("{count}{unit}"));
        }
        seconds %= size;
    }
    parts.join(" ")
}

/// `2d 3h`, `1h 5m`, `5m`, `40s`: the two largest units are plenty for
/// people, and seconds only matter in the first minute.
pub fn human_duration(duration: Duration) -> String {
    let seconds = duration.num_seconds().max(0);
    if seconds < 60 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    let (days, hours, minutes) = (minutes / (24 * 60), minutes / 60 % 24, minutes % 60);
    match (days, hours) {
        (0, 0) => format!("{minutes}m"),
        (0, _) if minutes == 0 => format!("{hours}h"),
        (0, _) => format!("{hours}h {minutes}m"),
        (_, 0) => format!("{days}d"),
        _ => format!("{days}d {hours}h"),
    }
}

fn unit_seconds(unit: &str) -> Option<i64> {
    match unit {
        "s" | "sec" | "secs" | "second" | "seconds" => Some(1),
        "m" | "min" | "mins" | "minute" | "minutes" => Some(SECONDS_PER_MINUTE),
        "h" | "hr" | "hrs" | "hour" | "hours" => Some(SECONDS_PER_HOUR),
        "d" | "day" | "days" => Some(SECONDS_PER_DAY),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_as_people_write_them() {
        let cases: Vec<(&str, i64)> = vec![
            ("90s", 90),
            ("5m", 300),
            ("1h", 3600),
            ("1h30m", 5400),
            ("1h 30m", 5400),
            ("  2d ", 2 * 86_400),
            ("1d2h3m4s", 86_400 + 2 * 3600 + 3 * 60 + 4),
            ("5M", 300),
            ("1H30M", 5400),
            ("10 min", 600),
            ("2 hours", 7200),
            ("1day", 86_400),
            ("45seconds", 45),
            ("0h5m", 300),
            ("30d", 30 * 86_400),
            ("720h", 30 * 86_400),
        ];
        for (text, seconds) in cases {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::seconds(seconds)),
                "parsing {text:?}"
            );
        }
    }

    #[test]
    fn bad_durations_are_named() {
        let owned = |text: &str| text.to_owned();
        let cases: Vec<(&str, DurationError)> = vec![
            ("", DurationError::Empty),
            ("   ", DurationError::Empty),
            ("45", DurationError::MissingUnit(owned("45"))),
            (
                "5w",
                DurationError::UnknownUnit {
                    given: owned("5w"),
                    unit: owned("w"),
                },
            ),
            ("1h30", DurationError::Malformed(owned("1h30"))),
            ("1.5h", DurationError::Malformed(owned("1.5h"))),
            ("h", DurationError::Malformed(owned("h"))),
            ("soon", DurationError::Malformed(owned("soon"))),
            ("5m!", DurationError::Malformed(owned("5m!"))),
            ("30m1h", DurationError::OutOfOrder(owned("30m1h"))),
            ("5m5m", DurationError::OutOfOrder(owned("5m5m"))),
            ("0m", DurationError::NotPositive(owned("0m"))),
            ("0h0m", DurationError::NotPositive(owned("0h0m"))),
            ("-5m", DurationError::NotPositive(owned("-5m"))),
            ("31d", DurationError::TooLong(owned("31d"))),
            ("30d1s", DurationError::TooLong(owned("30d1s"))),
            (
                "99999999999999999999s",
                DurationError::TooLong(owned("99999999999999999999s")),
            ),
            (
                "999999999999999d",
                DurationError::TooLong(owned("999999999999999d")),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_duration(text), Err(expected), "parsing {text:?}");
        }
    }

    #[test]
    fn duration_errors_read_as_sentences() {
        let cases = [
            (
                "45",
                "`45` needs a unit: write `45m` for minutes, or use s, h or d.",
            ),
            (
                "5w",
                "`w` in `5w` is not a unit: use s, m, h or d, as in `1h30m`.",
            ),
            ("31d", "`31d` is too long: keep it to 30 days or less."),
            (
                "0m",
                "`0m` is not long enough: a duration must be more than zero.",
            ),
        ];
        for (text, message) in cases {
            let error = parse_duration(text).expect_err("the case is an error");
            assert_eq!(error.to_string(), message, "parsing {text:?}");
        }
    }

    #[test]
    fn formatted_durations_are_exact_and_read_back() {
        let cases = [
            (0, "0s"),
            (-5, "0s"),
            (45, "45s"),
            (90, "1m 30s"),
            (300, "5m"),
            (3600, "1h"),
            (5400, "1h 30m"),
            (86_400 + 2 * 3600, "1d 2h"),
            (86_400 + 3 * 3600 + 4 * 60 + 5, "1d 3h 4m 5s"),
        ];
        for (seconds, text) in cases {
            let duration = Duration::seconds(seconds);
            assert_eq!(format_duration(duration), text, "{seconds}s");
            if seconds > 0 {
                assert_eq!(parse_duration(text), Ok(duration), "{text} reads back");
            }
        }
    }

    #[test]
    fn human_durations_keep_the_two_largest_units() {
        let cases = [
            (0, "0s"),
            (59, "59s"),
            (60, "1m"),
            (61, "1m"),
            (3600, "1h"),
            (3900, "1h 5m"),
            (86_400, "1d"),
            (86_400 + 3 * 3600 + 120, "1d 3h"),
            (-5, "0s"),
        ];
        for (seconds, text) in cases {
            assert_eq!(
                human_duration(Duration::seconds(seconds)),
                text,
                "{seconds}s"
            );
        }
    }
}
