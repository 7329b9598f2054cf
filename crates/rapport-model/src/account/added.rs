//! Which timeline entries a document gained since some earlier heads: what the relay announces
//! to a workspace's webhook, on its commit path, so it must not cost in proportion to the
//! timeline.

use automerge::legacy::{Key, ObjectId, OpId, OpType};
use automerge::{Automerge, ChangeHash, ObjId, ObjType, ROOT, ReadDoc};

use crate::error::ShapeError;
use crate::id::EntryId;
use crate::read;
use crate::schema::TIMELINE;

/// The timeline entries `doc` gained since `before` (all of them when `before` is empty), in
/// id order. Only the changes made since `before` are read (the entries they create in the
/// timeline map), so the cost follows what arrived, not the timeline's length; keys that are
/// not entry ids are left out. A document that is not an account has none.
pub fn entries_added(doc: &Automerge, before: &[ChangeHash]) -> Result<Vec<EntryId>, ShapeError> {
    if super::check_kind(doc).is_err() {
        return Ok(Vec::new());
    }
    let Some(timeline) = read::object(doc, &ROOT, TIMELINE, ObjType::Map, "")? else {
        return Ok(Vec::new());
    };
    let mut added: Vec<EntryId> = if before.is_empty() {
        doc.keys(&timeline)
            .filter_map(|key| key.parse().ok())
            .collect()
    } else {
        let ObjId::Id(counter, actor, _) = &timeline else {
            return Ok(Vec::new());
        };
        let timeline = ObjectId::Id(OpId(*counter, actor.clone()));
        doc.get_changes(before)
            .iter()
            .flat_map(|change| change.decode().operations)
            .filter(|op| op.obj == timeline && matches!(op.action, OpType::Make(ObjType::Map)))
            .filter_map(|op| match &op.key {
                Key::Map(key) => key.as_str().parse().ok(),
                Key::Seq(_) => None,
            })
            .collect()
    };
    added.sort();
    added.dedup();
    Ok(added)
}

/// The account's name alone: what [`super::summary`] reads of it without counting its
/// collections (a count that grows with the timeline).
pub fn account_name<D: ReadDoc>(doc: &D) -> Result<String, ShapeError> {
    super::check_kind(doc)?;
    read::required_string(doc, &ROOT, "name", "")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use automerge::Automerge;

    use super::*;
    use crate::account::{self, NewAccount, NewEntry};
    use crate::{Edit, EntryKind, Team};

    fn write(doc: &mut Automerge, f: impl FnOnce(&mut automerge::transaction::Transaction<'_>)) {
        let edit = Edit::now("ana".parse().unwrap(), Team::Support);
        doc.transact_with::<_, _, crate::EditError, _>(
            |_| edit.commit_options(),
            |tx| {
                f(tx);
                Ok(())
            },
        )
        .unwrap();
    }

    fn note(doc: &mut Automerge) -> EntryId {
        let id = EntryId::new();
        let edit = Edit::now("ana".parse().unwrap(), Team::Support);
        let entry = NewEntry {
            kind: EntryKind::Note,
            text: "called".into(),
            alert: Vec::new(),
        };
        write(doc, |tx| {
            account::add_entry(tx, &edit, id, &entry).unwrap();
        });
        id
    }

    #[test]
    fn only_the_entries_written_after_the_heads_are_added() {
        let mut doc = Automerge::new();
        let edit = Edit::now("ana".parse().unwrap(), Team::Support);
        let new = NewAccount {
            name: "Acme".into(),
            ..NewAccount::default()
        };
        write(&mut doc, |tx| {
            account::create(tx, &edit, &new).unwrap();
        });
        let old = note(&mut doc);
        let before = doc.get_heads();
        assert_eq!(entries_added(&doc, &before).unwrap(), []);
        let fresh = note(&mut doc);
        write(&mut doc, |tx| {
            automerge::transaction::Transactable::put(tx, ROOT, "phone", "555 0100").unwrap();
        });
        assert_eq!(entries_added(&doc, &before).unwrap(), [fresh]);
        let mut both = vec![old, fresh];
        both.sort();
        assert_eq!(entries_added(&doc, &[]).unwrap(), both);
        assert_eq!(account_name(&doc).unwrap(), "Acme");
    }

    #[test]
    fn a_document_that_is_not_an_account_adds_no_entries() {
        let doc = Automerge::new();
        assert_eq!(entries_added(&doc, &[]).unwrap(), []);
    }
}
