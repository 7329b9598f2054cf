//! Task reminders: an open task is a reminder from its due date on. "Today" is always the
//! caller's (the store, the CLI or the node read the clock); nothing here reads one.

use jiff::civil::Date;

use crate::error::InvalidInput;
use crate::fields::parse_date;

/// The furthest a follow-up may be set, in days from today.
pub const MAX_FOLLOW_UP_DAYS: i64 = 3650;

/// How many days a task due on `due` is overdue on `today`: `Some(0)` when it is due today,
/// `None` when it is not due yet.
pub fn days_overdue(due: Date, today: Date) -> Option<i64> {
    if due > today {
        return None;
    }
    // Days between two civil dates never overflow: jiff's dates span under 20,000 years.
    due.until(today).ok().map(|span| i64::from(span.get_days()))
}

/// A follow-up as typed: `3d` (days from today) or `2026-12-24`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FollowUp {
    /// So many days from today.
    InDays(i64),
    /// On this date.
    On(Date),
}

impl FollowUp {
    /// Reads `Nd` or `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        let invalid = || InvalidInput::FollowUp {
            text: text.to_owned(),
        };
        let trimmed = text.trim();
        if let Some(digits) = trimmed.strip_suffix('d') {
            let days: i64 = digits.parse().map_err(|_| invalid())?;
            // Plain digits only: no sign, no leading zero.
            if !(0..=MAX_FOLLOW_UP_DAYS).contains(&days) || days.to_string() != digits {
                return Err(invalid());
            }
            return Ok(FollowUp::InDays(days));
        }
        match parse_date(trimmed) {
            Ok(date) => Ok(FollowUp::On(date)),
            Err(_) => Err(invalid()),
        }
    }

    /// The due date this follow-up means on `today`; a date before today is refused, as is one
    /// further than [`MAX_FOLLOW_UP_DAYS`].
    pub fn due(self, today: Date, text: &str) -> Result<Date, InvalidInput> {
        let invalid = || InvalidInput::FollowUp {
            text: text.to_owned(),
        };
        let due = match self {
            FollowUp::InDays(days) => today
                .checked_add(jiff::Span::new().days(days))
                .map_err(|_| invalid())?,
            FollowUp::On(date) => date,
        };
        let latest = today
            .checked_add(jiff::Span::new().days(MAX_FOLLOW_UP_DAYS))
            .map_err(|_| invalid())?;
        if due < today || due > latest {
            return Err(invalid());
        }
        Ok(due)
    }
}

/// Reads a follow-up (`3d` or `YYYY-MM-DD`) into its due date on `today`.
pub fn follow_up_due(text: &str, today: Date) -> Result<Date, InvalidInput> {
    FollowUp::parse(text)?.due(today, text)
}

/// The title of the task that follows up an entry: its first line, shortened.
pub fn follow_up_title(text: &str) -> String {
    const LONGEST: usize = 80;
    let line = text.trim().lines().next().unwrap_or_default().trim();
    let mut title: String = line.chars().take(LONGEST).collect();
    if line.chars().count() > LONGEST {
        title.push('…');
    }
    format!("Follow up: {title}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]

    use super::*;

    fn date(text: &str) -> Date {
        text.parse().expect("a test date")
    }

    #[test]
    fn a_task_due_today_is_a_reminder_overdue_by_zero_days() {
        assert_eq!(
            days_overdue(date("2026-12-02"), date("2026-12-02")),
            Some(0)
        );
    }

    #[test]
    fn a_task_due_before_today_counts_the_days_it_is_overdue() {
        assert_eq!(
            days_overdue(date("2026-12-01"), date("2026-12-02")),
            Some(1)
        );
        assert_eq!(
            days_overdue(date("2026-11-02"), date("2026-12-02")),
            Some(30)
        );
        // Across a year end and a leap day.
        assert_eq!(
            days_overdue(date("2027-12-31"), date("2028-03-01")),
            Some(61)
        );
    }

    #[test]
    fn a_task_due_after_today_is_not_a_reminder() {
        assert_eq!(days_overdue(date("2026-12-03"), date("2026-12-02")), None);
        assert_eq!(days_overdue(date("2027-01-01"), date("2026-12-31")), None);
    }

    #[test]
    fn follow_ups_in_days_count_from_today() {
        let today = date("2026-12-30");
        assert_eq!(follow_up_due("3d", today), Ok(date("2027-01-02")));
        assert_eq!(follow_up_due("0d", today), Ok(today));
        assert_eq!(follow_up_due("2026-12-31", today), Ok(date("2026-12-31")));
    }

    #[test]
    fn bad_follow_ups_are_refused_with_what_was_typed() {
        let today = date("2026-12-02");
        for bad in [
            "",
            "d",
            "3",
            "-1d",
            "+3d",
            "3 d",
            "3w",
            "03d",
            "3651d",
            "2026-13-01",
            "2026-12-1",
            "2026-12-01",
            "tomorrow",
        ] {
            let error = follow_up_due(bad, today).expect_err(bad);
            assert_eq!(
                error,
                InvalidInput::FollowUp {
                    text: bad.to_owned()
                }
            );
        }
    }
}
