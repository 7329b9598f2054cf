//! What a row's values change in the fields of an account, a contact or a deal: the
//! assignments that bring each to what the file gives, and a deal stage read in the
//! pipeline's words.

use rapport_model::account::AccountView;
use rapport_model::{
    AccountAssignment, AccountField, ContactAssignment, ContactField, PipelineStage,
};

use crate::record::{AccountRecord, Reject};

/// The assignments that bring an account to a row's values: every value given for a new
/// account (beyond what `NewAccount` holds), only those that differ for an existing one. The
/// name of an existing account is kept; its domain is set only where it has none.
pub(super) fn account_assignments(
    account: &AccountRecord,
    view: Option<&AccountView>,
) -> Vec<AccountAssignment> {
    let mut out = Vec::new();
    let mut put = |field: AccountField, given: Option<String>, has: Option<String>| {
        if let Some(value) = given
            && Some(&value) != has.as_ref()
        {
            out.push(AccountAssignment {
                field,
                value: Some(value),
            });
        }
    };
    if let Some(view) = view {
        if view.domain.is_none() {
            put(AccountField::Domain, account.domain.clone(), None);
        }
        put(AccountField::Tier, account.tier.clone(), view.tier.clone());
        let stage = view.stage.map(|s| s.as_str().to_owned());
        put(
            AccountField::Stage,
            account.stage.map(|s| s.as_str().to_owned()),
            stage,
        );
        put(
            AccountField::Owner,
            account.owner.as_ref().map(|o| o.to_string()),
            view.owner.clone(),
        );
    }
    let has = |f: fn(&AccountView) -> Option<String>| view.and_then(f);
    put(
        AccountField::Website,
        account.website.clone(),
        has(|v| v.website.clone()),
    );
    put(
        AccountField::Industry,
        account.industry.clone(),
        has(|v| v.industry.clone()),
    );
    put(
        AccountField::Phone,
        account.phone.clone(),
        has(|v| v.phone.clone()),
    );
    let tags = account.tags.as_ref().map(|t| t.join(","));
    let had_tags = view.map(|v| v.tags.join(","));
    put(AccountField::Tags, tags, had_tags);
    for (name, value) in &account.custom {
        let had = view.and_then(|v| v.custom.get(name).cloned());
        put(AccountField::Custom(name.clone()), Some(value.clone()), had);
    }
    out
}

/// A deal stage as exports write it ("Closed Won", "Proposal/Price Quote", "negotiation"),
/// matched to the pipeline's words: the whole text, without "closed", then its first word.
pub(super) fn pipeline_stage(
    text: Option<&str>,
    pipeline: &[PipelineStage],
) -> Result<Option<PipelineStage>, Reject> {
    let Some(text) = text else { return Ok(None) };
    let lower = text.trim().to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let mut candidates = vec![words.join("-"), words.concat()];
    let unclosed: Vec<&str> = words.iter().copied().filter(|w| *w != "closed").collect();
    candidates.push(unclosed.join("-"));
    if let Some(rest) = lower.strip_prefix("closed") {
        candidates.push(rest.to_owned());
    }
    candidates.extend(words.first().map(|w| (*w).to_owned()));
    for candidate in candidates {
        if let Some(stage) = pipeline.iter().find(|s| s.as_str() == candidate) {
            return Ok(Some(stage.clone()));
        }
    }
    Err(Reject::UnknownStage {
        stage: text.to_owned(),
        pipeline: pipeline_words(pipeline),
    })
}

/// The pipeline's stages, as a rejection lists them.
pub(crate) fn pipeline_words(pipeline: &[PipelineStage]) -> String {
    pipeline
        .iter()
        .map(PipelineStage::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The assignments that bring a contact's fields to what an import gives: one per field the
/// import has a value for (`given`) that the contact does not hold (`has`).
pub(crate) fn changed_contact_fields<const N: usize>(
    wanted: [(ContactField, Option<&String>, Option<&String>); N],
) -> Vec<ContactAssignment> {
    wanted
        .into_iter()
        .filter_map(|(field, given, has)| match given {
            Some(value) if Some(value) != has => Some(ContactAssignment {
                field,
                value: Some(value.clone()),
            }),
            _ => None,
        })
        .collect()
}
