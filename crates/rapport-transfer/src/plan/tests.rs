//! The import planner on small files: outcomes, matching, and what each change writes.

use super::*;

/// The default deal pipeline.
pub(crate) fn pipeline() -> Vec<PipelineStage> {
    rapport_model::workspace::DEFAULT_PIPELINE
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// The account a planned change for a new account makes, written by `user` into a fresh
/// document and read back (the JSON import's tests use it too).
pub(crate) fn written(
    change: &AccountChange,
    user: &str,
) -> Result<AccountView, Box<dyn std::error::Error>> {
    let Target::New(new) = &change.target else {
        return Err("a new account was expected".into());
    };
    let edit = Edit::now(user.parse()?, rapport_model::Team::Sales);
    let mut doc = automerge::Automerge::new();
    doc.transact_with(
        |_| edit.commit_options(),
        |tx| {
            account::create(tx, &edit, new)?;
            change.write(tx, &edit)
        },
    )
    .map_err(|failure| failure.error)?;
    Ok(account::view(&doc, DocumentId::random())?)
}

fn planned(csv: &str, existing: &Existing) -> Result<Plan, MappingError> {
    let file = parse_file(csv.as_bytes(), None, &ColumnMap::default())?;
    Ok(plan(&file, existing))
}

fn outcomes(plan: &Plan) -> Vec<(&str, Option<&str>)> {
    plan.rows
        .iter()
        .map(|r| {
            (
                r.outcome.as_str(),
                r.account.as_ref().map(|a| a.outcome.as_str()),
            )
        })
        .collect()
}

#[test]
fn accounts_merge_by_domain_then_name_and_duplicates_are_rejected() -> Result<(), MappingError> {
    let mut existing = Existing::new(pipeline());
    existing.add_account(DocumentId::random(), "Globex", Some("globex.com"));
    existing.add_account(DocumentId::random(), "Initech", None);
    let plan = planned(
        "Company name,Company Domain Name\n\
         Globex Corp,globex.com\n\
         INITECH,\n\
         Hooli,hooli.com\n\
         hooli,\n\
         ,x.com\n",
        &existing,
    )?;
    assert_eq!(
        outcomes(&plan),
        [
            ("merged", None),
            ("merged", None),
            ("created", None),
            ("rejected", None),
            ("rejected", None)
        ]
    );
    assert!(
        plan.rows[3]
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("line 4"))
    );
    assert_eq!(plan.rows[4].reason.as_deref(), Some("missing account name"));
    assert_eq!(plan.changes.len(), 3);
    Ok(())
}

#[test]
fn contacts_create_their_account_once() -> Result<(), MappingError> {
    let plan = planned(
        "First Name,Last Name,Email,Associated Company\n\
         Hank,Scorpio,hank@globex.com,Globex\n\
         Frank,Grimes,frank@globex.com,globex\n\
         Hank,S,HANK@globex.com,Globex\n",
        &Existing::new(pipeline()),
    )?;
    assert_eq!(
        outcomes(&plan),
        [
            ("created", Some("created")),
            ("created", Some("merged")),
            ("rejected", None)
        ]
    );
    assert_eq!(plan.changes.len(), 1);
    assert_eq!(plan.changes[0].contacts.len(), 2);
    Ok(())
}

#[test]
fn deal_stages_are_matched_to_the_pipeline() -> Result<(), MappingError> {
    let plan = planned(
        "Opportunity Name,Account Name,Stage,Amount\n\
         A,Globex,Closed Won,10\n\
         B,Globex,Proposal/Price Quote,10\n\
         C,Globex,appointmentscheduled,10\n\
         D,Globex,,10\n",
        &Existing::new(pipeline()),
    )?;
    let stages: Vec<&str> = plan.changes[0]
        .deals
        .iter()
        .map(|(_, d)| d.stage.as_str())
        .collect();
    assert_eq!(stages, ["won", "proposal", "qualification"]);
    assert!(
        plan.rows[2]
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("unknown deal stage"))
    );
    Ok(())
}

#[test]
fn a_name_shared_by_two_accounts_needs_a_domain() -> Result<(), MappingError> {
    let mut existing = Existing::new(pipeline());
    existing.add_account(DocumentId::random(), "Acme", Some("acme.com"));
    existing.add_account(DocumentId::random(), "Acme", Some("acme.de"));
    let plan = planned("Account Name,Amount,Deal Name\nAcme,5,X\n", &existing)?;
    assert!(
        plan.rows[0]
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("ambiguous"))
    );
    Ok(())
}

#[test]
fn a_planned_change_writes_its_account_contacts_and_deals() -> Result<(), Box<dyn std::error::Error>>
{
    let plan = planned(
        "account.name,account.domain,account.tags,account.custom.region,deal.title,deal.amount,deal.currency,deal.stage\n\
         Globex,globex.com,\"vip,renewal\",EMEA,Upgrade,24000.50,USD,negotiation\n",
        &Existing::new(pipeline()),
    )?;
    let view = written(&plan.changes[0], "ana")?;
    assert_eq!(view.domain.as_deref(), Some("globex.com"));
    assert_eq!(view.tags, ["renewal", "vip"]);
    assert_eq!(view.custom.get("region").map(String::as_str), Some("EMEA"));
    assert_eq!(view.deals[0].amount, 2_400_050);
    assert_eq!(view.deals[0].stage, "negotiation");
    Ok(())
}
