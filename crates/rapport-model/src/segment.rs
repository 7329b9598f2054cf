//! Segments: named, saved account filters that the whole workspace shares.
//!
//! Each segment is one root key of the workspace document, `segment:<ULID>`, holding its JSON
//! (`{"name": ..., "filter": {...}}`) as a string. Workspace documents made before segments
//! have no segment collection, and two replicas creating one concurrently would each make
//! their own map and one would hide the other; independent root keys never collide, so
//! segments added on two replicas at once both survive. A key whose value does not read
//! (a foreign peer's, or a filter from a later version with conditions this one does not know)
//! is left out rather than applied in part.

use std::collections::BTreeMap;

use automerge::transaction::Transactable;
use automerge::{ROOT, ReadDoc};
use serde::{Deserialize, Serialize};

use crate::account::AccountSummary;
use crate::error::EditError;
use crate::read;
use crate::value::AccountValue;
use crate::vocab::{Stage, Team, ValueTier};

/// The prefix of a segment's root key in the workspace document.
pub const SEGMENT_KEY_PREFIX: &str = "segment:";
/// The longest segment name, in characters.
pub const MAX_SEGMENT_NAME: usize = 100;
/// The longest "no entry in N days" window (about a hundred years).
pub const MAX_UNTOUCHED_DAYS: u32 = 36_525;

const DAY_MS: i64 = 86_400_000;

/// A filter that a segment saves: every condition given must hold.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SegmentFilter {
    /// The account's lifecycle stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<Stage>,
    /// The account's tier field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    /// The account's owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// A tag the account holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The team of the account's latest timeline entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_team: Option<Team>,
    /// The tier of the account's value score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_tier: Option<ValueTier>,
    /// The lowest value score, 0 to 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_score: Option<u8>,
    /// The highest value score, 0 to 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_score: Option<u8>,
    /// No timeline entry in the last this many days (or none at all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub untouched_days: Option<u32>,
    /// Whether the account has a deal that is neither won nor lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_deal: Option<bool>,
    /// Custom fields that must hold exactly these values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom: BTreeMap<String, String>,
}

/// A saved segment.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Segment {
    /// Its id: the ULID of its key.
    pub id: String,
    /// Its name.
    pub name: String,
    /// What it keeps.
    pub filter: SegmentFilter,
}

/// The JSON a segment's key holds.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    name: String,
    filter: SegmentFilter,
}

/// A segment that cannot be saved as given.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SegmentError {
    /// The name is empty or too long.
    #[error("invalid segment name '{name}': use 1 to {MAX_SEGMENT_NAME} characters")]
    Name {
        /// The name given.
        name: String,
    },
    /// An id that is not a ULID.
    #[error("invalid segment id '{id}': expected a ULID such as 01JCZ3S4X8V6N5QW0R1K2M3P4T")]
    Id {
        /// The id given.
        id: String,
    },
    /// The filter has no condition: it would keep every account.
    #[error("a segment needs at least one condition")]
    Empty,
    /// A score bound above 100, or a minimum above the maximum.
    #[error("invalid score range {min}..{max}: use scores from 0 to 100, the minimum first")]
    ScoreRange {
        /// The lowest score given (0 when none).
        min: u8,
        /// The highest score given (100 when none).
        max: u8,
    },
    /// A window of no days, or too many.
    #[error("invalid number of days {days}: use 1 to {MAX_UNTOUCHED_DAYS}")]
    Days {
        /// The days given.
        days: u32,
    },
    /// A condition on an empty word.
    #[error("the {what} of a segment condition must not be empty")]
    EmptyValue {
        /// Which condition.
        what: &'static str,
    },
}

/// What a segment is matched against: an account as the list shows it, with its value score
/// and what its timeline and deals say.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ScoredAccount {
    /// The account's summary. In JSON its fields sit beside the rest.
    #[serde(flatten)]
    pub summary: AccountSummary,
    /// Its value score.
    pub value: AccountValue,
    /// Its latest timeline entry's time.
    pub last_entry: Option<jiff::Timestamp>,
    /// The team of its latest timeline entry.
    pub last_team: Option<Team>,
    /// Whether it has an open deal.
    pub open_deal: bool,
}

impl SegmentFilter {
    /// Refuses a filter that keeps everything or holds an impossible condition.
    pub fn check(&self) -> Result<(), SegmentError> {
        if *self == SegmentFilter::default() {
            return Err(SegmentError::Empty);
        }
        let (min, max) = (self.min_score.unwrap_or(0), self.max_score.unwrap_or(100));
        if min > max || max > 100 {
            return Err(SegmentError::ScoreRange { min, max });
        }
        if let Some(days) = self.untouched_days
            && !(1..=MAX_UNTOUCHED_DAYS).contains(&days)
        {
            return Err(SegmentError::Days { days });
        }
        let words = [
            ("tier", self.tier.as_deref()),
            ("owner", self.owner.as_deref()),
            ("tag", self.tag.as_deref()),
        ];
        for (what, word) in words {
            if word.is_some_and(|w| w.trim().is_empty()) {
                return Err(SegmentError::EmptyValue { what });
            }
        }
        if self.custom.keys().any(|key| key.trim().is_empty()) {
            return Err(SegmentError::EmptyValue {
                what: "custom field name",
            });
        }
        Ok(())
    }

    /// Whether `account` meets every condition at `now` (Unix milliseconds).
    pub fn matches(&self, account: &ScoredAccount, now: i64) -> bool {
        let summary = &account.summary;
        let same = |want: &Option<String>, have: &Option<String>| {
            want.as_ref().is_none_or(|want| have.as_ref() == Some(want))
        };
        let score = account.value.score;
        let untouched = |days: u32| {
            let since = now.saturating_sub(i64::from(days).saturating_mul(DAY_MS));
            account
                .last_entry
                .is_none_or(|last| last.as_millisecond() < since)
        };
        self.stage
            .is_none_or(|stage| summary.stage.as_deref() == Some(stage.as_str()))
            && same(&self.tier, &summary.tier)
            && same(&self.owner, &summary.owner)
            && self
                .tag
                .as_ref()
                .is_none_or(|tag| summary.tags.contains(tag))
            && self
                .last_team
                .is_none_or(|team| account.last_team == Some(team))
            && self
                .value_tier
                .is_none_or(|tier| account.value.tier == tier)
            && self.min_score.is_none_or(|min| score >= min)
            && self.max_score.is_none_or(|max| score <= max)
            && self.untouched_days.is_none_or(untouched)
            && self.open_deal.is_none_or(|open| account.open_deal == open)
            && self
                .custom
                .iter()
                .all(|(key, value)| summary.custom.get(key) == Some(value))
    }
}

/// Checks a segment's name, trimmed.
pub fn check_name(name: &str) -> Result<String, SegmentError> {
    let trimmed = name.trim();
    if trimmed.is_empty() || trimmed.chars().count() > MAX_SEGMENT_NAME {
        return Err(SegmentError::Name {
            name: name.to_owned(),
        });
    }
    Ok(trimmed.to_owned())
}

/// Checks a segment's id: a ULID, as its key holds it.
pub fn check_id(id: &str) -> Result<String, SegmentError> {
    match id.parse::<ulid::Ulid>() {
        Ok(ulid) if ulid.to_string() == id => Ok(id.to_owned()),
        _ => Err(SegmentError::Id { id: id.to_owned() }),
    }
}

/// Writes a new segment under a fresh id, which it returns. The caller checks the name and
/// filter first ([`check_name`], [`SegmentFilter::check`]).
pub fn add<T: Transactable>(
    tx: &mut T,
    name: &str,
    filter: &SegmentFilter,
) -> Result<String, EditError> {
    let id = ulid::Ulid::generate().to_string();
    put(tx, &id, name, filter)?;
    Ok(id)
}

/// Writes a segment under the id it has elsewhere (an import keeps it), replacing one of that
/// id. The caller checks the id, name and filter first ([`check_id`], [`check_name`],
/// [`SegmentFilter::check`]).
pub fn put<T: Transactable>(
    tx: &mut T,
    id: &str,
    name: &str,
    filter: &SegmentFilter,
) -> Result<(), EditError> {
    let stored = Stored {
        name: name.to_owned(),
        filter: filter.clone(),
    };
    // A struct of strings, numbers and maps of strings always serializes.
    let json = serde_json::to_string(&stored).unwrap_or_default();
    tx.put(ROOT, format!("{SEGMENT_KEY_PREFIX}{id}"), json)?;
    Ok(())
}

/// Removes the segment `id`.
pub fn remove<T: Transactable>(tx: &mut T, id: &str) -> Result<(), EditError> {
    tx.delete(ROOT, format!("{SEGMENT_KEY_PREFIX}{id}"))?;
    Ok(())
}

/// Every segment that reads, by name, then id.
pub fn segments<D: ReadDoc>(doc: &D) -> Vec<Segment> {
    let mut out: Vec<Segment> = doc
        .keys(ROOT)
        .filter_map(|key| {
            let id = key.strip_prefix(SEGMENT_KEY_PREFIX)?.to_owned();
            let json = read::string(doc, &ROOT, &key, "").ok()??;
            let stored: Stored = serde_json::from_str(&json).ok()?;
            let name = check_name(&stored.name).ok()?;
            stored.filter.check().ok()?;
            Some(Segment {
                id,
                name,
                filter: stored.filter,
            })
        })
        .collect();
    out.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::id::DocumentId;
    use crate::value::AccountValue;
    use automerge::AutoCommit;

    const NOW: i64 = 1_800_000_000_000;

    fn account() -> ScoredAccount {
        ScoredAccount {
            summary: AccountSummary {
                id: DocumentId::random(),
                name: "Acme".into(),
                domain: None,
                tier: Some("enterprise".into()),
                stage: Some("customer".into()),
                owner: Some("ana".into()),
                contacts: 0,
                entries: 1,
                tags: vec!["emea".into(), "vip".into()],
                custom: [("region".to_owned(), "north".to_owned())].into(),
            },
            value: AccountValue::of(Some(NOW - 2 * DAY_MS), 3, 100.0, NOW),
            last_entry: jiff::Timestamp::from_millisecond(NOW - 2 * DAY_MS).ok(),
            last_team: Some(Team::Support),
            open_deal: true,
        }
    }

    fn matches(filter: SegmentFilter) -> bool {
        filter.matches(&account(), NOW)
    }

    #[test]
    fn every_condition_must_hold() {
        let filter = SegmentFilter {
            stage: Some(Stage::Customer),
            tier: Some("enterprise".into()),
            owner: Some("ana".into()),
            tag: Some("vip".into()),
            last_team: Some(Team::Support),
            value_tier: Some(ValueTier::High),
            min_score: Some(60),
            max_score: Some(100),
            untouched_days: None,
            open_deal: Some(true),
            custom: [("region".to_owned(), "north".to_owned())].into(),
        };
        assert!(matches(filter.clone()));
        let cases = [
            SegmentFilter {
                stage: Some(Stage::Lead),
                ..filter.clone()
            },
            SegmentFilter {
                tag: Some("smb".into()),
                ..filter.clone()
            },
            SegmentFilter {
                last_team: Some(Team::Sales),
                ..filter.clone()
            },
            SegmentFilter {
                min_score: Some(95),
                ..filter.clone()
            },
            SegmentFilter {
                open_deal: Some(false),
                ..filter.clone()
            },
            SegmentFilter {
                custom: [("region".to_owned(), "south".to_owned())].into(),
                ..filter.clone()
            },
            SegmentFilter {
                owner: Some("bo".into()),
                ..filter
            },
        ];
        for case in cases {
            assert!(!matches(case.clone()), "{case:?}");
        }
    }

    #[test]
    fn untouched_days_keeps_accounts_without_a_recent_entry() {
        let within = SegmentFilter {
            untouched_days: Some(1),
            ..SegmentFilter::default()
        };
        assert!(matches(within), "last entry two days ago");
        let longer = SegmentFilter {
            untouched_days: Some(3),
            ..SegmentFilter::default()
        };
        assert!(!matches(longer));
        let mut never = account();
        never.last_entry = None;
        let filter = SegmentFilter {
            untouched_days: Some(3),
            ..SegmentFilter::default()
        };
        assert!(filter.matches(&never, NOW), "never touched");
    }

    #[test]
    fn impossible_or_empty_filters_are_refused() {
        assert_eq!(SegmentFilter::default().check(), Err(SegmentError::Empty));
        let range = SegmentFilter {
            min_score: Some(70),
            max_score: Some(20),
            ..SegmentFilter::default()
        };
        assert!(matches!(
            range.check(),
            Err(SegmentError::ScoreRange { .. })
        ));
        let above = SegmentFilter {
            min_score: Some(101),
            ..SegmentFilter::default()
        };
        assert!(above.check().is_err());
        let days = SegmentFilter {
            untouched_days: Some(0),
            ..SegmentFilter::default()
        };
        assert_eq!(days.check(), Err(SegmentError::Days { days: 0 }));
        assert!(check_name("  ").is_err());
    }

    #[test]
    fn segments_read_back_and_foreign_keys_are_left_out() {
        let mut doc = AutoCommit::new();
        let filter = SegmentFilter {
            tag: Some("vip".into()),
            ..SegmentFilter::default()
        };
        let id = add(&mut doc, "VIPs", &filter).unwrap();
        doc.put(ROOT, "segment:broken", "{not json").unwrap();
        doc.put(
            ROOT,
            "segment:future",
            r#"{"name":"x","filter":{"planet":"mars"}}"#,
        )
        .unwrap();
        doc.put(ROOT, "segment:number", 7).unwrap();
        let read = segments(&doc);
        assert_eq!(
            read,
            vec![Segment {
                id: id.clone(),
                name: "VIPs".into(),
                filter,
            }]
        );
        remove(&mut doc, &id).unwrap();
        assert!(segments(&doc).is_empty());
    }

    #[test]
    fn a_segment_is_put_under_the_ulid_it_has_elsewhere() {
        let mut doc = AutoCommit::new();
        let filter = SegmentFilter {
            tag: Some("vip".into()),
            ..SegmentFilter::default()
        };
        let id = check_id("01JCZ3S4X8V6N5QW0R1K2M3P4T").unwrap();
        put(&mut doc, &id, "VIPs", &filter).unwrap();
        assert_eq!(segments(&doc)[0].id, id);
        for bad in [
            "",
            "nope",
            "01jcz3s4x8v6n5qw0r1k2m3p4t",
            "segment:01JCZ3S4X8V6N5QW0R1K2M3P4T",
        ] {
            assert_eq!(check_id(bad), Err(SegmentError::Id { id: bad.into() }));
        }
    }
}
