//! The reports of `GET /api/reports/{report}`, from the replica's derived tables
//! (`rapport_store`'s reports module decides what each one counts).

use rapport_store::{DEFAULT_REPORT_DAYS, MAX_REPORT_DAYS, Replica};
use serde_json::{Value, json};

use crate::api::ApiError;

/// The reports, by the name the API and the CLI give them.
pub(crate) const REPORTS: [&str; 4] = ["pipeline", "win-rate", "interactions", "attention"];

/// Report `name` over the last `days` days (`?days=`), of the accounts of the saved segment
/// `segment` (`?segment=`) or of every account, as JSON.
pub(crate) fn report(
    replica: &mut Replica,
    name: &str,
    days: Option<&str>,
    segment: Option<&str>,
) -> Result<Value, ApiError> {
    let days = days.map(parse_days).transpose()?;
    let now = jiff::Timestamp::now();
    let window = days.unwrap_or(DEFAULT_REPORT_DAYS);
    let segment = segment
        .map(|name| replica.segment_scope(name, now))
        .transpose()?;
    let scope = segment.as_ref();
    Ok(match name {
        "pipeline" => json!(replica.pipeline_report(scope)?),
        "win-rate" => json!(replica.win_rate_report(days, now, scope)?),
        "interactions" => json!(replica.interactions_report(window, now, scope)?),
        "attention" => json!(replica.attention_report(window, now, scope)?),
        other => {
            return Err(ApiError::NotFound(format!(
                "no report '{other}': the reports are {}",
                REPORTS.join(", ")
            )));
        }
    })
}

/// A window in days: a whole number from 1 to [`MAX_REPORT_DAYS`].
fn parse_days(text: &str) -> Result<u32, ApiError> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|days| (1..=MAX_REPORT_DAYS).contains(days))
        .ok_or_else(|| {
            ApiError::BadInput(format!(
                "days must be a whole number from 1 to {MAX_REPORT_DAYS}, not '{text}'"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_outside_one_to_the_maximum_are_refused_with_the_range() {
        assert!(matches!(parse_days("30"), Ok(30)));
        assert!(matches!(parse_days("36525"), Ok(MAX_REPORT_DAYS)));
        for bad in ["0", "-3", "", "abc", "36526", "1.5"] {
            match parse_days(bad) {
                Err(ApiError::BadInput(message)) => {
                    assert!(message.contains("from 1 to 36525"), "{message}")
                }
                other => panic!("{bad} gave {other:?}"),
            }
        }
    }
}
