//! An account's value score: how much an account is worth paying attention to, from 0 to 100,
//! in the spirit of RFM (recency, frequency, monetary value), from what the replica already
//! keeps about it. The inputs are plain numbers; the store reads them from its derived tables
//! and the clock, so nothing here reads a document or the time.
//!
//! - **Recency** (R): 100 for a timeline entry written today, halving every
//!   [`RECENCY_HALF_LIFE_DAYS`] whole days since the latest entry; 0 for an account without one.
//! - **Frequency** (F): timeline entries written in the last [`FREQUENCY_DAYS`] days, 100 at
//!   [`FREQUENCY_FULL`] or more, proportionally below.
//! - **Monetary** (M): per currency, an account's value is its won deals plus its open deals
//!   weighted by how far along the pipeline they are (the k-th of n open stages weighs
//!   k / (n + 1); a stage the pipeline does not name weighs one half; lost deals nothing).
//!   Currencies are never added together: within each currency, accounts holding value are
//!   ranked and an account scores the share of them whose value is at most its own (the
//!   largest scores 100). An account with value in several currencies keeps its best rank.
//! - The score is `0.35 R + 0.25 F + 0.40 M`, rounded; its tier is `high` from
//!   [`HIGH_FROM`], `medium` from [`MEDIUM_FROM`], `low` below.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::account::DealView;
use crate::fields::PipelineStage;
use crate::id::DocumentId;
use crate::vocab::{Currency, ValueTier};

/// Recency halves every this many days since the latest entry.
pub const RECENCY_HALF_LIFE_DAYS: f64 = 30.0;
/// Frequency counts the entries of this many last days.
pub const FREQUENCY_DAYS: u32 = 90;
/// This many entries in the frequency window score full frequency.
pub const FREQUENCY_FULL: u32 = 12;
/// The lowest score of the `high` tier.
pub const HIGH_FROM: u8 = 60;
/// The lowest score of the `medium` tier.
pub const MEDIUM_FROM: u8 = 30;

const DAY_MS: i64 = 86_400_000;

impl ValueTier {
    /// The tier of `score`.
    pub fn of(score: u8) -> Self {
        if score >= HIGH_FROM {
            ValueTier::High
        } else if score >= MEDIUM_FROM {
            ValueTier::Medium
        } else {
            ValueTier::Low
        }
    }
}

/// An account's value score and its parts, each from 0 to 100.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub struct AccountValue {
    /// The score.
    pub score: u8,
    /// Its tier.
    pub tier: ValueTier,
    /// How recently the account was touched.
    pub recency: u8,
    /// How often it was touched lately.
    pub frequency: u8,
    /// Its deals' value, ranked within each currency.
    pub monetary: u8,
}

impl AccountValue {
    /// The score of an account whose latest entry was written at `last_entry` (Unix
    /// milliseconds), with `recent_entries` entries in the frequency window and the monetary
    /// rank `monetary` (from [`monetary_ranks`]), at `now` (Unix milliseconds).
    pub fn of(last_entry: Option<i64>, recent_entries: u64, monetary: f64, now: i64) -> Self {
        let recency = last_entry.map_or(0.0, |at| {
            // Whole days, so that the score holds still within a day.
            let days = (now.saturating_sub(at)).max(0) / DAY_MS;
            let days = days as f64;
            100.0 * 0.5_f64.powf(days / RECENCY_HALF_LIFE_DAYS)
        });
        let frequency = 100.0 * recent_entries.min(u64::from(FREQUENCY_FULL)) as f64
            / f64::from(FREQUENCY_FULL);
        let monetary = monetary.clamp(0.0, 100.0);
        let score = percent(0.35 * recency + 0.25 * frequency + 0.40 * monetary);
        AccountValue {
            score,
            tier: ValueTier::of(score),
            recency: percent(recency),
            frequency: percent(frequency),
            monetary: percent(monetary),
        }
    }
}

fn percent(value: f64) -> u8 {
    value.round().clamp(0.0, 100.0) as u8
}

/// How much of an open deal's amount counts in `stage`, given the workspace `pipeline`.
pub fn stage_weight(pipeline: &[PipelineStage], stage: &str) -> f64 {
    const WON: &str = "won";
    const LOST: &str = "lost";
    match stage {
        WON => 1.0,
        LOST => 0.0,
        _ => {
            let open: Vec<&str> = pipeline
                .iter()
                .map(PipelineStage::as_str)
                .filter(|s| *s != WON && *s != LOST)
                .collect();
            match open.iter().position(|s| *s == stage) {
                Some(at) => (at + 1) as f64 / (open.len() + 1) as f64,
                None => 0.5,
            }
        }
    }
}

/// The monetary rank (0 to 100) of each account holding a deal of some value, from every
/// deal of the workspace with its account. Accounts without value are absent (rank 0).
pub fn monetary_ranks<'a>(
    pipeline: &[PipelineStage],
    deals: impl IntoIterator<Item = (DocumentId, &'a DealView)>,
) -> HashMap<DocumentId, f64> {
    let mut values: BTreeMap<Currency, HashMap<DocumentId, f64>> = BTreeMap::new();
    for (account, deal) in deals {
        let value = deal.amount.max(0) as f64 * stage_weight(pipeline, &deal.stage);
        *values
            .entry(deal.currency)
            .or_default()
            .entry(account)
            .or_default() += value;
    }
    let mut ranks: HashMap<DocumentId, f64> = HashMap::new();
    for accounts in values.values() {
        let mut held: Vec<f64> = accounts.values().copied().filter(|v| *v > 0.0).collect();
        held.sort_by(f64::total_cmp);
        for (account, value) in accounts {
            if *value <= 0.0 {
                continue;
            }
            let at_most = held.partition_point(|v| v <= value);
            let rank = 100.0 * at_most as f64 / held.len() as f64;
            let best = ranks.entry(*account).or_default();
            *best = best.max(rank);
        }
    }
    ranks
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::id::DealId;

    const NOW: i64 = 1_800_000_000_000;
    const DAY: i64 = 86_400_000;

    fn deal(amount: i64, currency: &str, stage: &str) -> DealView {
        DealView {
            id: DealId::new(),
            title: "deal".into(),
            amount,
            currency: currency.parse().unwrap(),
            stage: stage.into(),
            close: None,
        }
    }

    fn pipeline() -> Vec<PipelineStage> {
        crate::workspace::DEFAULT_PIPELINE
            .iter()
            .map(|s| s.parse().unwrap())
            .collect()
    }

    #[test]
    fn an_untouched_account_without_deals_scores_zero_and_low() {
        let value = AccountValue::of(None, 0, 0.0, NOW);
        assert_eq!(value.score, 0);
        assert_eq!(value.tier, ValueTier::Low);
    }

    #[test]
    fn a_busy_account_touched_today_with_the_top_deal_scores_one_hundred() {
        let value = AccountValue::of(Some(NOW), 12, 100.0, NOW);
        assert_eq!(value.score, 100);
        assert_eq!(value.tier, ValueTier::High);
    }

    #[test]
    fn recency_halves_every_thirty_days() {
        assert_eq!(
            AccountValue::of(Some(NOW - 30 * DAY), 0, 0.0, NOW).recency,
            50
        );
        assert_eq!(
            AccountValue::of(Some(NOW - 60 * DAY), 0, 0.0, NOW).recency,
            25
        );
        assert_eq!(
            AccountValue::of(Some(NOW + DAY), 0, 0.0, NOW).recency,
            100,
            "an entry dated later than now counts as now"
        );
    }

    #[test]
    fn frequency_is_full_at_twelve_entries() {
        assert_eq!(AccountValue::of(None, 6, 0.0, NOW).frequency, 50);
        assert_eq!(AccountValue::of(None, 40, 0.0, NOW).frequency, 100);
    }

    #[test]
    fn tiers_split_at_thirty_and_sixty() {
        assert_eq!(ValueTier::of(29), ValueTier::Low);
        assert_eq!(ValueTier::of(30), ValueTier::Medium);
        assert_eq!(ValueTier::of(59), ValueTier::Medium);
        assert_eq!(ValueTier::of(60), ValueTier::High);
    }

    #[test]
    fn open_deals_weigh_by_how_far_along_the_pipeline_they_are() {
        let stages = pipeline();
        assert_eq!(stage_weight(&stages, "qualification"), 0.25);
        assert_eq!(stage_weight(&stages, "negotiation"), 0.75);
        assert_eq!(stage_weight(&stages, "won"), 1.0);
        assert_eq!(stage_weight(&stages, "lost"), 0.0);
        assert_eq!(stage_weight(&stages, "elsewhere"), 0.5);
    }

    #[test]
    fn currencies_are_ranked_apart_and_never_added() {
        let [a, b, c] = [(); 3].map(|()| DocumentId::random());
        let deals = [
            (a, deal(1_000, "EUR", "won")),
            (b, deal(500, "EUR", "won")),
            // Far more yen than anyone's euros, but ranked among yen alone.
            (c, deal(1_000_000, "JPY", "won")),
            (b, deal(10, "JPY", "won")),
            (c, deal(0, "EUR", "lost")),
        ];
        let ranks = monetary_ranks(&pipeline(), deals.iter().map(|(id, d)| (*id, d)));
        assert_eq!(ranks.get(&a), Some(&100.0), "the most euros");
        assert_eq!(ranks.get(&c), Some(&100.0), "the most yen");
        assert_eq!(
            ranks.get(&b),
            Some(&50.0),
            "second of two in both currencies, its best rank kept"
        );
    }

    #[test]
    fn lost_deals_give_no_value() {
        let a = DocumentId::random();
        let deals = [(a, deal(9_000, "EUR", "lost"))];
        let ranks = monetary_ranks(&pipeline(), deals.iter().map(|(id, d)| (*id, d)));
        assert!(ranks.is_empty());
    }
}
