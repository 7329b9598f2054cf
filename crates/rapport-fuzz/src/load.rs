//! `document_load`: bytes loaded as a document from elsewhere is, then every view the store
//! and the commands take of it read, and the edits the commands make tried on it; then the
//! same document merged into a real replica (which indexes it) and read back through it. A
//! document of a foreign or damaged shape must give `Err` everywhere (the store then leaves it
//! out of its indexes), never a panic.

use std::hint::black_box;
use std::path::PathBuf;

use automerge::{Automerge, LoadOptions, OnPartialLoad};
use rapport_model::account::{self, NewContact, NewEntry, Section};
use rapport_model::custom_field;
use rapport_model::workspace::{self, Member};
use rapport_store::Replica;

use crate::{fixtures, scratch};
use rapport_model::{
    AccountAssignment, ContactAssignment, ContactId, DealId, DocumentId, Edit, EntryId, EntryKind,
    Role, TaskId, Team, Touched, UserName, alert, search,
};

/// The first byte of Automerge's magic number: the input is a saved document.
const AUTOMERGE_MAGIC: u8 = 0x85;

/// Where `document_load` makes its replicas (on tmpfs, a fresh replica costs less than a
/// list of the documents of earlier inputs would, and keeps each input's run its own).
pub struct LoadHarness {
    dir: PathBuf,
}

impl Default for LoadHarness {
    fn default() -> Self {
        Self {
            dir: scratch::directory("replica"),
        }
    }
}

impl Drop for LoadHarness {
    fn drop(&mut self) {
        scratch::remove(&self.dir);
    }
}

impl LoadHarness {
    /// Loads `data` as the store and the sync session load a document from a peer (a partial
    /// load is an error, and so is a change timed where Automerge panics), or builds a
    /// document of a foreign shape from it ([`crate::shape`]) when it is not a saved document;
    /// then reads and edits it as an account and as a workspace, and merges it into the replica
    /// as a document from a peer.
    pub fn run(&mut self, data: &[u8]) {
        let (doc, bytes) = if data.first() == Some(&AUTOMERGE_MAGIC) {
            if rapport_model::change_times::check(data).is_err() {
                // Refused before loading, where peers' bytes enter; the replica must refuse
                // it too, not load it.
                self.merge_into_replica(data, false);
                return;
            }
            let options = LoadOptions::new().on_partial_load(OnPartialLoad::Error);
            let Ok(doc) = Automerge::load_with_options(data, options) else {
                return;
            };
            (doc, data.to_vec())
        } else {
            let Some(doc) = crate::shape::build(data) else {
                return;
            };
            let bytes = doc.save();
            (doc, bytes)
        };
        let workspace = workspace::check_kind(&doc).is_ok();
        read_and_edit(doc);
        self.merge_into_replica(&bytes, workspace);
    }

    /// What a fresh replica does with a document from a peer, as its workspace document or as
    /// an account: merge it (and index it, or leave it out of the indexes), then the views the
    /// commands take through it.
    fn merge_into_replica(&mut self, bytes: &[u8], as_workspace: bool) {
        scratch::remove(&self.dir);
        let Ok(user) = "bo".parse() else {
            return;
        };
        let workspace = fixtures::workspace_id();
        let Ok(mut replica) = Replica::create(&self.dir, workspace, user, Team::Support) else {
            return;
        };
        let id = if as_workspace {
            workspace
        } else {
            fixtures::acme_id()
        };
        if replica.merge_document(id, bytes).is_err() {
            return;
        }
        let _ = black_box(replica.workspace());
        let _ = black_box(replica.account(id));
        let _ = black_box(replica.accounts());
        let _ = black_box(replica.search("acme rocket"));
        let _ = black_box(replica.alerts(true));
        let _ = black_box(replica.deals());
    }
}

/// Every read of the document as an account and as a workspace, what indexing it reads, and
/// the commands' edits.
fn read_and_edit(mut doc: Automerge) {
    let id = DocumentId::from_bytes([0xf0; 16]);
    let touched = touched_by_arrival(&doc);
    read_account(&doc, id);
    read_touched(&doc, &touched);
    read_workspace(&doc, id);
    edit_account(&mut doc);
    edit_workspace(&mut doc);
}

/// What a replica's indexes learn from the document's arrival: the patches from nothing to
/// what it holds (those of merging it into an empty document), sorted into the parts of an
/// account they touch.
fn touched_by_arrival(doc: &Automerge) -> Touched {
    Touched::from_patches(&doc.diff(&[], &doc.get_heads()))
}

fn users() -> Vec<(UserName, Team)> {
    ["ana", "bo", "zed"]
        .into_iter()
        .filter_map(|user| user.parse().ok())
        .zip([Team::Sales, Team::Support, Team::Marketing])
        .collect()
}

/// Every read of an account: `account show`, `history`, the list's summary, and what indexing
/// an account from scratch reads (search terms, items, alerts and acknowledgements, the
/// pipeline board).
fn read_account(doc: &Automerge, id: DocumentId) {
    let _ = black_box(account::check_kind(doc));
    let _ = black_box(account::view(doc, id));
    let _ = black_box(account::history(doc, id, None));
    if let Ok(summary) = account::summary(doc, id) {
        terms(&summary.name);
    }
    if let Ok(texts) = account::field_texts(doc) {
        texts.iter().for_each(|t| terms(t));
    }
    if let Ok(contacts) = account::each_contact(doc) {
        for contact in contacts.into_iter().filter_map(|(_, c)| c.ok()) {
            terms(&contact.name);
            contact
                .email
                .iter()
                .chain(&contact.title)
                .for_each(|t| terms(t));
        }
    }
    if let Ok(entries) = account::each_entry(doc) {
        for entry in entries.into_iter().filter_map(|(_, e)| e.ok()) {
            terms(&entry.text);
            for (user, team) in users() {
                if black_box(alert::alerts(&entry, &user, team)) {
                    let _ = black_box(account::is_acknowledged(doc, &user, entry.id));
                }
            }
        }
    }
    let _ = black_box(account::each_deal(doc));
    for section in [
        Section::Contacts,
        Section::Deals,
        Section::Tasks,
        Section::Timeline,
    ] {
        for key in account::item_keys(doc, section).unwrap_or_default() {
            let _ = black_box(account::has_item(doc, section, &key));
        }
    }
}

/// The reads that indexing a change does for the items the change touched.
fn read_touched(doc: &Automerge, touched: &Touched) {
    for key in &touched.contacts {
        if let Ok(contact) = key.parse::<ContactId>() {
            let _ = black_box(account::read_contact(doc, contact));
        }
    }
    for key in &touched.entries {
        if let Ok(entry) = key.parse::<EntryId>() {
            let _ = black_box(account::read_entry(doc, entry));
        }
    }
    for key in &touched.deals {
        if let Ok(deal) = key.parse::<DealId>() {
            let _ = black_box(account::read_deal(doc, deal));
        }
        let _ = black_box(account::has_item(doc, Section::Deals, key));
    }
    for key in &touched.tasks {
        let _ = black_box(account::has_item(doc, Section::Tasks, key));
    }
    for (user, entry) in &touched.acks {
        if let (Ok(user), Ok(entry)) = (user.parse::<UserName>(), entry.parse::<EntryId>()) {
            let _ = black_box(account::is_acknowledged(doc, &user, entry));
        }
    }
}

fn read_workspace(doc: &Automerge, id: DocumentId) {
    let _ = black_box(workspace::check_kind(doc));
    let _ = black_box(workspace::view(doc, id));
    let _ = black_box(workspace::members(doc));
    let _ = black_box(workspace::pipeline(doc));
    let _ = black_box(workspace::account_ids(doc));
    let _ = black_box(custom_field::definitions(doc));
}

fn fuzz_edit() -> Option<Edit> {
    Some(Edit {
        user: "ana".parse().ok()?,
        team: Team::Sales,
        at: jiff::Timestamp::from_second(1_767_225_600).ok()?,
    })
}

/// The commands' edits of an account, each in a transaction of its own that is then rolled
/// back; the store checks the kind first, as here.
fn edit_account(doc: &mut Automerge) {
    let (Some(edit), Ok(())) = (fuzz_edit(), account::check_kind(doc)) else {
        return;
    };
    let new_id = 1_767_225_600_000;
    let note = NewEntry {
        kind: EntryKind::Note,
        text: "fuzz".into(),
        alert: Vec::new(),
    };
    let contact = NewContact {
        name: "Fuzz".into(),
        ..NewContact::default()
    };
    let rename = AccountAssignment::parse("name=Fuzzed").ok();
    let email = ContactAssignment::parse("email=fuzz@example.com").ok();
    let stage = "won".parse().ok();
    try_edit(doc, |tx| {
        account::add_entry(tx, &edit, EntryId::from_parts(new_id, 1), &note)
    });
    try_edit(doc, |tx| {
        account::add_contact(tx, &edit, ContactId::from_parts(new_id, 2), &contact)
    });
    if let Some(rename) = rename {
        try_edit(doc, |tx| account::set(tx, std::slice::from_ref(&rename)));
    }
    for key in account::item_keys(doc, Section::Timeline).unwrap_or_default() {
        if let Ok(entry) = key.parse::<EntryId>() {
            try_edit(doc, |tx| account::acknowledge(tx, &edit, entry));
        }
    }
    for key in account::item_keys(doc, Section::Contacts).unwrap_or_default() {
        if let (Ok(id), Some(email)) = (key.parse::<ContactId>(), &email) {
            try_edit(doc, |tx| {
                account::set_contact(tx, id, std::slice::from_ref(email))
            });
        }
    }
    for key in account::item_keys(doc, Section::Deals).unwrap_or_default() {
        if let (Ok(id), Some(stage)) = (key.parse::<DealId>(), &stage) {
            try_edit(doc, |tx| account::move_deal(tx, id, stage));
        }
    }
    for key in account::item_keys(doc, Section::Tasks).unwrap_or_default() {
        if let Ok(id) = key.parse::<TaskId>() {
            try_edit(doc, |tx| account::complete_task(tx, id, true));
        }
    }
}

/// `invite` and `account new` on a workspace document.
fn edit_workspace(doc: &mut Automerge) {
    let Ok(()) = workspace::check_kind(doc) else {
        return;
    };
    let Ok(user) = "zed".parse() else {
        return;
    };
    let member = Member {
        user,
        team: Team::Marketing,
        role: Role::Viewer,
    };
    try_edit(doc, |tx| workspace::put_member(tx, &member));
    try_edit(doc, |tx| {
        workspace::add_account(tx, DocumentId::from_bytes([0xf1; 16]))
    });
}

fn try_edit<T, E>(
    doc: &mut Automerge,
    f: impl FnOnce(&mut automerge::transaction::Transaction<'_>) -> Result<T, E>,
) {
    let mut tx = doc.transaction();
    let _ = black_box(f(&mut tx).is_ok());
    tx.rollback();
}

fn terms(text: &str) {
    black_box(search::terms(text));
}
