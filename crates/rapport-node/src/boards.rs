//! The pipeline board and the dashboard, from the replica's derived tables.

use std::collections::{BTreeMap, HashMap};

use rapport_model::account::AccountSummary;
use rapport_model::{DocumentId, PipelineStage};
use rapport_store::{DealRow, Replica, WeekActivity};
use serde_json::{Value, json};

use crate::api::ApiError;

/// How many weeks of interactions the dashboard shows.
const WEEKS: usize = 12;

pub(crate) fn deals(replica: &Replica) -> Result<Vec<DealRow>, ApiError> {
    Ok(replica.deals()?)
}

pub(crate) fn activity(replica: &Replica) -> Result<Vec<WeekActivity>, ApiError> {
    Ok(replica.activity_by_week(WEEKS, jiff::Timestamp::now())?)
}

/// Deals by stage, in pipeline order, with totals per currency; stages not in the pipeline
/// come last.
pub(crate) fn pipeline(
    stages: &[PipelineStage],
    deals: Vec<DealRow>,
    names: &HashMap<DocumentId, String>,
) -> Value {
    let mut by_stage: BTreeMap<String, Vec<DealRow>> = BTreeMap::new();
    for row in deals {
        by_stage
            .entry(row.deal.stage.clone())
            .or_default()
            .push(row);
    }
    let mut order: Vec<String> = stages.iter().map(|s| s.as_str().to_owned()).collect();
    order.extend(
        by_stage
            .keys()
            .filter(|s| !order.contains(s))
            .cloned()
            .collect::<Vec<_>>(),
    );
    let columns: Vec<Value> = order
        .into_iter()
        .map(|stage| {
            let rows = by_stage.remove(&stage).unwrap_or_default();
            let mut totals: BTreeMap<String, i64> = BTreeMap::new();
            for row in &rows {
                *totals.entry(row.deal.currency.to_string()).or_default() += row.deal.amount;
            }
            let deals: Vec<Value> = rows
                .iter()
                .map(|row| {
                    let mut deal = json!(row);
                    deal["account_name"] = json!(names.get(&row.account));
                    deal
                })
                .collect();
            let totals: Vec<Value> = totals
                .into_iter()
                .map(|(currency, amount)| json!({ "currency": currency, "amount": amount }))
                .collect();
            json!({ "stage": stage, "totals": totals, "deals": deals })
        })
        .collect();
    json!({ "stages": columns })
}

/// Accounts by stage and tier, interactions per team per week, open alerts.
pub(crate) fn dashboard(
    accounts: &[AccountSummary],
    weeks: Vec<WeekActivity>,
    open_alerts: usize,
) -> Value {
    let count = |key: fn(&AccountSummary) -> Option<String>| {
        let mut counts: BTreeMap<Option<String>, usize> = BTreeMap::new();
        for account in accounts {
            *counts.entry(key(account)).or_default() += 1;
        }
        counts
            .into_iter()
            .map(|(key, count)| json!({ "key": key, "count": count }))
            .collect::<Vec<_>>()
    };
    json!({
        "accounts": accounts.len(),
        "by_stage": count(|a| a.stage.clone()),
        "by_tier": count(|a| a.tier.clone()),
        "interactions": weeks,
        "open_alerts": open_alerts,
    })
}
