//! Calendar arithmetic on unix timestamps (UTC, proleptic Gregorian): billing intervals that
//! follow the calendar (a month from 31 January is the last day of February, and the month after
//! that is 31 March again, because every boundary is counted from the anchor), and the date labels
//! Stripe puts in proration descriptions.

use serde::Deserialize;

pub const DAY: i64 = 86_400;

/// A price's `recurring.interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Interval {
    Day,
    Week,
    Month,
    Year,
}

impl Interval {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "day" => Some(Self::Day),
            "week" => Some(Self::Week),
            "month" => Some(Self::Month),
            "year" => Some(Self::Year),
            _ => None,
        }
    }

    /// The most intervals one billing cycle may span: three years.
    pub fn max_count(self) -> i64 {
        match self {
            Self::Day => 1095,
            Self::Week => 156,
            Self::Month => 36,
            Self::Year => 3,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
            Self::Year => "year",
        }
    }
}

/// Days since 1970-01-01 → (year, month 1–12, day 1–31).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month as u32, day as u32)
}

/// (year, month 1–12, day 1–31) → days since 1970-01-01.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The UTC calendar year of a unix timestamp.
pub fn year_of(unix: i64) -> i64 {
    civil_from_days(unix.div_euclid(DAY)).0
}

/// `anchor` moved by `units` intervals. Months and years keep the anchor's day of month and time
/// of day, clamped to the last day of shorter months.
pub fn add(anchor: i64, interval: Interval, units: i64) -> i64 {
    match interval {
        Interval::Day => anchor + units * DAY,
        Interval::Week => anchor + units * 7 * DAY,
        Interval::Month | Interval::Year => {
            let months = if interval == Interval::Year {
                units * 12
            } else {
                units
            };
            let (days, seconds) = (anchor.div_euclid(DAY), anchor.rem_euclid(DAY));
            let (year, month, day) = civil_from_days(days);
            let index = year * 12 + i64::from(month) - 1 + months;
            let (year, month) = (index.div_euclid(12), (index.rem_euclid(12) + 1) as u32);
            let day = day.min(days_in_month(year, month));
            days_from_civil(year, month, day) * DAY + seconds
        }
    }
}

/// The first billing boundary after `t` of a cycle anchored at `anchor` that lasts `count`
/// intervals (the anchor itself when `t` is before it).
pub fn next_boundary(anchor: i64, interval: Interval, count: i64, t: i64) -> i64 {
    if t < anchor {
        return anchor;
    }
    let count = count.max(1);
    // Jump close first (periods are at least 28 days for months), then step.
    let approx_seconds = match interval {
        Interval::Day => DAY,
        Interval::Week => 7 * DAY,
        Interval::Month => 28 * DAY,
        Interval::Year => 365 * DAY,
    } * count;
    let mut k = ((t - anchor) / approx_seconds / 2).max(1);
    while add(anchor, interval, k * count) <= t {
        k += 1;
    }
    while k > 1 && add(anchor, interval, (k - 1) * count) > t {
        k -= 1;
    }
    add(anchor, interval, k * count)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `03 Mar 2017`, as in Stripe's proration descriptions.
pub fn date_label(unix: i64) -> String {
    let (year, month, day) = civil_from_days(unix.div_euclid(DAY));
    format!("{day:02} {} {year}", MONTHS[(month - 1) as usize])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(year: i64, month: u32, day: u32) -> i64 {
        days_from_civil(year, month, day) * DAY
    }

    #[test]
    fn civil_round_trip() {
        for days in [-1000, 0, 59, 11_016, 19_782, 20_000, 80_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(year_of(951_782_400), 2000);
        assert_eq!(year_of(1_735_689_599), 2024);
        assert_eq!(year_of(1_735_689_600), 2025);
    }

    #[test]
    fn months_follow_the_anchor_day() {
        let jan31 = ts(2025, 1, 31) + 3600;
        assert_eq!(add(jan31, Interval::Month, 1), ts(2025, 2, 28) + 3600);
        assert_eq!(add(jan31, Interval::Month, 2), ts(2025, 3, 31) + 3600);
        assert_eq!(add(ts(2024, 2, 29), Interval::Year, 1), ts(2025, 2, 28));
        assert_eq!(add(ts(2024, 2, 29), Interval::Year, 4), ts(2028, 2, 29));
        assert_eq!(add(ts(2025, 11, 15), Interval::Month, 3), ts(2026, 2, 15));
        assert_eq!(add(ts(2025, 1, 1), Interval::Week, 2), ts(2025, 1, 15));
    }

    #[test]
    fn next_boundary_steps_from_the_anchor() {
        let anchor = ts(2025, 1, 31);
        assert_eq!(
            next_boundary(anchor, Interval::Month, 1, anchor),
            ts(2025, 2, 28)
        );
        assert_eq!(
            next_boundary(anchor, Interval::Month, 1, ts(2025, 2, 28)),
            ts(2025, 3, 31)
        );
        assert_eq!(
            next_boundary(anchor, Interval::Month, 1, ts(2027, 6, 1)),
            ts(2027, 6, 30)
        );
        assert_eq!(next_boundary(anchor, Interval::Year, 1, anchor - 5), anchor);
    }

    #[test]
    fn labels() {
        assert_eq!(date_label(ts(2017, 3, 3) + 5000), "03 Mar 2017");
    }
}
