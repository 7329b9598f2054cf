//! The documents the targets start from: a workspace document and two accounts written with
//! the model's own functions, by fixed actors at fixed times, so that they (and the change
//! hashes the seed corpus refers to) are the same on every run and every machine.

use automerge::{ActorId, Automerge};
use rapport_model::account::{self, NewAccount, NewContact, NewDeal, NewEntry, NewTask};
use rapport_model::workspace::{self, Member};
use rapport_model::{
    AccountAssignment, ContactId, Currency, DealId, DocumentId, Edit, EditError, EntryId,
    EntryKind, Money, Role, TaskId, Team,
};

/// Why the fixtures could not be written (a bug in them, or in the model).
pub type FixtureError = Box<dyn std::error::Error + Send + Sync>;

/// The workspace document's id (not the relay's workspace key: see [`crate::RelayHarness`]).
pub fn workspace_id() -> DocumentId {
    DocumentId::from_bytes([0x57; 16])
}

/// The first account: every kind of item, an acknowledgement, and a concurrent edit.
pub fn acme_id() -> DocumentId {
    DocumentId::from_bytes([0xac; 16])
}

/// The second account: a name and one note.
pub fn globex_id() -> DocumentId {
    DocumentId::from_bytes([0x61; 16])
}

/// 2026-01-01T00:00:00Z plus `seconds`.
fn at(seconds: i64) -> Result<jiff::Timestamp, FixtureError> {
    Ok(jiff::Timestamp::from_second(1_767_225_600 + seconds)?)
}

fn edit(user: &str, team: Team, seconds: i64) -> Result<Edit, FixtureError> {
    Ok(Edit {
        user: user.parse()?,
        team,
        at: at(seconds)?,
    })
}

fn document(actor: u8) -> Automerge {
    Automerge::new().with_actor(ActorId::from([actor; 16].as_slice()))
}

fn change(
    doc: &mut Automerge,
    edit: &Edit,
    f: impl FnOnce(&mut automerge::transaction::Transaction<'_>) -> Result<(), EditError>,
) -> Result<(), FixtureError> {
    doc.transact_with(|_| edit.commit_options(), f)
        .map_err(|failure| failure.error)?;
    Ok(())
}

/// The workspace, its two accounts, and its members ana (sales, admin) and bo (support).
pub fn workspace() -> Result<Automerge, FixtureError> {
    let ana = edit("ana", Team::Sales, 0)?;
    let bo = Member {
        user: "bo".parse()?,
        team: Team::Support,
        role: Role::Member,
    };
    let mut doc = document(1);
    change(&mut doc, &ana, |tx| {
        workspace::create(tx, &ana, "Fuzz Ltd")?;
        workspace::put_member(tx, &bo)?;
        workspace::add_account(tx, acme_id())?;
        workspace::add_account(tx, globex_id())
    })?;
    Ok(doc)
}

/// Acme: a contact, a note alerting support, a deal, a task, bo's acknowledgement of the note,
/// and two concurrent renames (a conflict).
pub fn acme() -> Result<Automerge, FixtureError> {
    let ana = edit("ana", Team::Sales, 60)?;
    let new = NewAccount {
        name: "Acme".into(),
        domain: Some("acme.example".into()),
        tier: Some("gold".into()),
        owner: Some("ana".parse()?),
        ..NewAccount::default()
    };
    let contact = NewContact {
        name: "Wile E. Coyote".into(),
        email: Some("wile@acme.example".into()),
        phone: Some("+1 555 0100".into()),
        title: Some("Buyer".into()),
    };
    let note = EntryId::from_parts(1_767_225_660_000, 1);
    let entry = NewEntry {
        kind: EntryKind::Note,
        text: "Asked about rockets; support should call back".into(),
        alert: vec!["support".parse()?, "@bo".parse()?],
    };
    let deal = NewDeal {
        title: "Rocket skates".into(),
        amount: Money::parse("1250.50", Currency::DEFAULT)?,
        stage: "proposal".parse()?,
        close: Some(rapport_model::parse_date("2026-03-31")?),
    };
    let task = NewTask {
        title: "Send the catalogue".into(),
        assignee: Some("bo".parse()?),
        due: Some(rapport_model::parse_date("2026-02-01")?),
    };
    let mut doc = document(2);
    change(&mut doc, &ana, |tx| {
        account::create(tx, &ana, &new)?;
        account::add_contact(
            tx,
            &ana,
            ContactId::from_parts(1_767_225_660_000, 2),
            &contact,
        )?;
        account::add_entry(tx, &ana, note, &entry)?;
        account::add_deal(tx, &ana, DealId::from_parts(1_767_225_660_000, 3), &deal)?;
        account::add_task(tx, &ana, TaskId::from_parts(1_767_225_660_000, 4), &task)?;
        Ok(())
    })?;
    let bo = edit("bo", Team::Support, 120)?;
    let rename_bo = AccountAssignment::parse("name=Acme Corp")?;
    let rename_ana = AccountAssignment::parse("name=ACME")?;
    let mut other = doc.fork().with_actor(ActorId::from([3; 16].as_slice()));
    change(&mut other, &bo, |tx| {
        account::acknowledge(tx, &bo, note)?;
        account::set(tx, &[rename_bo]).map(drop)
    })?;
    change(&mut doc, &ana, |tx| {
        account::set(tx, &[rename_ana]).map(drop)
    })?;
    doc.merge(&mut other)?;
    Ok(doc)
}

/// Globex: a name and one call.
pub fn globex() -> Result<Automerge, FixtureError> {
    let bo = edit("bo", Team::Support, 180)?;
    let mut doc = document(4);
    let new = NewAccount {
        name: "Globex".into(),
        ..NewAccount::default()
    };
    let entry = NewEntry {
        kind: EntryKind::Call,
        text: "Renewal in March".into(),
        alert: Vec::new(),
    };
    change(&mut doc, &bo, |tx| {
        account::create(tx, &bo, &new)?;
        account::add_entry(tx, &bo, EntryId::from_parts(1_767_225_780_000, 5), &entry).map(drop)
    })?;
    Ok(doc)
}

/// Every fixture with its id.
pub fn documents() -> Result<Vec<(DocumentId, Automerge)>, FixtureError> {
    Ok(vec![
        (workspace_id(), workspace()?),
        (acme_id(), acme()?),
        (globex_id(), globex()?),
    ])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_fixtures_read_and_are_the_same_every_time() {
        let first: Vec<_> = documents()
            .unwrap()
            .into_iter()
            .map(|(_, d)| d.get_heads())
            .collect();
        let again: Vec<_> = documents()
            .unwrap()
            .into_iter()
            .map(|(_, d)| d.get_heads())
            .collect();
        assert_eq!(first, again);
        let acme = account::view(&acme().unwrap(), acme_id()).unwrap();
        assert!(!acme.conflicts.is_empty(), "{acme:?}");
        workspace::view(&workspace().unwrap(), workspace_id()).unwrap();
        account::view(&globex().unwrap(), globex_id()).unwrap();
    }
}
