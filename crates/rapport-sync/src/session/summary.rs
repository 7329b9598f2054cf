//! Extension `summary-1` in a session: compare workspace digests in the handshake, exchange
//! summaries only when they differ, serve whole documents the other side lacks, and sync only
//! the documents whose heads differ.

use std::collections::HashMap;

use automerge::{Automerge, ChangeHash, LoadOptions, OnPartialLoad};
use rapport_model::DocumentId;
use rapport_proto::{DocHeads, DocMessage, DocNotice, Message, Summary};

use super::{Outcome, ProtocolError, Session, SessionError, same_heads};
use crate::documents::{Documents, Open};

impl Session {
    /// Right after the handshake: this side's summary, when both sides speak `summary-1` and
    /// their digests differ. Equal digests: nothing to sync, and nothing more is said.
    pub(super) fn open_summary<D: Documents>(
        &mut self,
        docs: &mut D,
    ) -> Result<Vec<Message>, SessionError<D::Error>> {
        let Some((remote, metadata)) = self.remote().cloned() else {
            return Ok(Vec::new());
        };
        if !self.summary_agreed() {
            return Ok(Vec::new());
        }
        let mine = &self.metadata.summary_digest;
        if mine.is_some() && *mine == metadata.summary_digest {
            return Ok(Vec::new());
        }
        self.awaiting_summary = true;
        let summary = docs
            .summary()
            .map_err(|source| SessionError::Summary { source })?;
        let documents = summary
            .into_iter()
            .filter(|(_, heads)| !heads.is_empty())
            .map(|(id, heads)| (id.into(), heads.iter().map(|h| h.0).collect()))
            .collect();
        Ok(vec![Message::Summary(Summary {
            sender_id: self.me.clone(),
            target_id: remote,
            documents,
        })])
    }

    /// The remote's summary: serve what it lacks, sync what differs (the connecting side
    /// starts those), and expect what this side lacks.
    pub(super) fn receive_summary<D: Documents>(
        &mut self,
        summary: Summary,
        docs: &mut D,
    ) -> Result<Outcome, SessionError<D::Error>> {
        self.require_summary("rapport-summary")?;
        self.awaiting_summary = false;
        let theirs: HashMap<DocumentId, Vec<ChangeHash>> = summary
            .documents
            .into_iter()
            .filter_map(|(id, heads)| {
                Some((id.parse()?, heads.into_iter().map(ChangeHash).collect()))
            })
            .collect();
        let mine = docs
            .summary()
            .map_err(|source| SessionError::Summary { source })?;
        let mut outcome = Outcome::default();
        let mut held = HashMap::with_capacity(mine.len());
        for (id, heads) in mine {
            if heads.is_empty() {
                continue;
            }
            match theirs.get(&id) {
                None if !self.local_read_only => {
                    self.pending.insert(id);
                    outcome.serve.push(id);
                }
                None => {}
                Some(their_heads) if !same_heads(&heads, their_heads) => {
                    self.pending.insert(id);
                    if self.initiator {
                        outcome.send.extend(self.sync_document(id, docs)?);
                    }
                }
                Some(_) => {}
            }
            held.insert(id, ());
        }
        // What only the remote has, it serves whole; until it has arrived, it is pending.
        self.pending
            .extend(theirs.keys().filter(|id| !held.contains_key(id)).copied());
        Ok(outcome)
    }

    /// A `rapport-doc` carrying document `id` whole, for a remote that lacks it; `None` when
    /// the document is gone.
    pub fn document_message<D: Documents>(
        &mut self,
        id: DocumentId,
        docs: &mut D,
    ) -> Result<Option<Message>, SessionError<D::Error>> {
        let Some((remote, _)) = self.remote().cloned() else {
            return Ok(None);
        };
        let saved = docs
            .saved(id)
            .map_err(|source| SessionError::Storage { id, source })?;
        if saved.is_none() {
            self.pending.remove(&id);
        }
        Ok(saved.map(|data| {
            Message::Document(DocMessage {
                sender_id: self.me.clone(),
                target_id: remote,
                document_id: id.into(),
                data,
            })
        }))
    }

    /// A whole document from the remote: merged (or refused, from a read-only remote), and
    /// answered with the heads this side now has.
    pub(super) fn receive_document<D: Documents>(
        &mut self,
        m: DocMessage,
        docs: &mut D,
    ) -> Result<Outcome, SessionError<D::Error>> {
        self.require_summary("rapport-doc")?;
        let unavailable = || {
            Message::DocUnavailable(DocNotice {
                sender_id: m.target_id.clone(),
                target_id: m.sender_id.clone(),
                document_id: m.document_id.clone(),
            })
        };
        let Some(id) = m.document_id.parse() else {
            return Ok(Outcome {
                send: vec![unavailable()],
                ..Outcome::default()
            });
        };
        let have = |heads: Vec<ChangeHash>| {
            Message::Have(DocHeads {
                sender_id: m.target_id.clone(),
                target_id: m.sender_id.clone(),
                document_id: m.document_id.clone(),
                heads: heads.iter().map(|h| h.0).collect(),
            })
        };
        if self.remote_read_only {
            let heads = docs
                .heads(id)
                .map_err(|source| SessionError::Storage { id, source })?;
            return Ok(Outcome {
                send: vec![heads.map_or_else(unavailable, have)],
                ..Outcome::default()
            });
        }
        let options = LoadOptions::new().on_partial_load(OnPartialLoad::Error);
        let mut theirs = Automerge::load_with_options(&m.data, options).map_err(|e| {
            ProtocolError::InvalidDocument {
                document: id.to_string(),
                reason: e.to_string(),
            }
        })?;
        let their_heads = theirs.get_heads();
        let merged = docs
            .update(id, Open::OrCreate, |doc, patches| {
                let before = doc.get_heads();
                doc.merge_and_log_patches(&mut theirs, patches)?;
                let after = doc.get_heads();
                Ok::<_, automerge::AutomergeError>((after != before, after))
            })
            .map_err(|source| SessionError::Storage { id, source })?;
        let Some(merged) = merged else {
            self.pending.remove(&id);
            return Ok(Outcome {
                send: vec![unavailable()],
                ..Outcome::default()
            });
        };
        let (changed, heads) = merged.map_err(|e| ProtocolError::InvalidDocument {
            document: id.to_string(),
            reason: e.to_string(),
        })?;
        if same_heads(&heads, &their_heads) {
            self.pending.remove(&id);
        } else {
            // This side has changes the remote lacks too: sync the rest the usual way.
            self.pending.insert(id);
        }
        Ok(Outcome {
            send: vec![have(heads)],
            changed: if changed { vec![id] } else { Vec::new() },
            ..Outcome::default()
        })
    }

    /// The remote stored a document this side served: settled once the heads agree.
    pub(super) fn receive_have<D: Documents>(
        &mut self,
        m: DocHeads,
        docs: &mut D,
    ) -> Result<Outcome, SessionError<D::Error>> {
        self.require_summary("rapport-have")?;
        let Some(id) = m.document_id.parse() else {
            return Ok(Outcome::default());
        };
        let theirs: Vec<ChangeHash> = m.heads.into_iter().map(ChangeHash).collect();
        let mine = docs
            .heads(id)
            .map_err(|source| SessionError::Storage { id, source })?;
        let mut outcome = Outcome::default();
        match mine {
            Some(mine) if same_heads(&mine, &theirs) => {
                self.pending.remove(&id);
            }
            // Changed here meanwhile, or the remote had more: the usual sync settles it.
            Some(_) => outcome.send = self.sync_document(id, docs)?,
            None => {
                self.pending.remove(&id);
            }
        }
        Ok(outcome)
    }

    fn require_summary(&self, message_type: &str) -> Result<(), ProtocolError> {
        if self.summary_agreed() {
            Ok(())
        } else {
            Err(ProtocolError::NotNegotiated {
                message_type: message_type.to_owned(),
            })
        }
    }
}
