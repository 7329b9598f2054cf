//! Extension `summary-1` in a session: compare workspace digests in the handshake, exchange
//! summaries only when they differ, serve whole documents the other side lacks, and sync only
//! the documents whose heads differ.

use std::collections::HashMap;

use automerge::{Automerge, ChangeHash, LoadOptions, OnPartialLoad};
use rapport_model::{DocumentId, change_times};
use rapport_proto::{DocHeads, DocNotice, Message, Summary, WholeDocument};

use super::{Outcome, ProtocolError, Session, SessionError};
use crate::documents::same_heads;
use crate::documents::{Documents, Merged};

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
        Ok(saved.map(|saved| {
            Message::Document(WholeDocument {
                sender_id: self.me.clone(),
                target_id: remote,
                document_id: id.into(),
                heads: saved.heads.iter().map(|h| h.0).collect(),
                data: saved.data,
            })
        }))
    }

    /// [`Session::document_message`] for each of `ids`, skipping those that are gone.
    pub fn document_messages<D: Documents>(
        &mut self,
        ids: &[DocumentId],
        docs: &mut D,
    ) -> Result<Vec<Message>, SessionError<D::Error>> {
        let mut messages = Vec::with_capacity(ids.len());
        for id in ids {
            messages.extend(self.document_message(*id, docs)?);
        }
        Ok(messages)
    }

    /// Whole documents from the remote: those this side lacks handed over as they came
    /// ([`Documents::store_new`]), the others loaded and merged together (or refused, from a
    /// read-only remote); each answered with the heads this side now has.
    pub(super) fn receive_documents<D: Documents>(
        &mut self,
        messages: Vec<WholeDocument>,
        docs: &mut D,
    ) -> Result<Outcome, SessionError<D::Error>> {
        self.require_summary("rapport-doc")?;
        let mut outcome = Outcome::default();
        let mut new = Vec::new();
        let mut known = Vec::new();
        // Per document, in order: the message to answer, the heads it claimed, which group.
        let mut answer_to = Vec::with_capacity(messages.len());
        for mut m in messages {
            let Some(id) = m.document_id.parse() else {
                outcome.send.push(unavailable(&m));
                continue;
            };
            let held = docs
                .heads(id)
                .map_err(|source| SessionError::Storage { id, source })?;
            if self.remote_read_only {
                outcome.send.push(match held {
                    Some(heads) => have(&m, heads),
                    None => unavailable(&m),
                });
                continue;
            }
            let claimed: Vec<ChangeHash> = m.heads.iter().copied().map(ChangeHash).collect();
            let data = std::mem::take(&mut m.data);
            let invalid = |reason: String| ProtocolError::InvalidDocument {
                document: id.to_string(),
                reason,
            };
            // Even a store that keeps new documents unread must not keep one that would panic
            // Automerge once read; walking the bytes costs far less than loading them.
            change_times::check(&data).map_err(|e| invalid(e.to_string()))?;
            if held.is_none() && !claimed.is_empty() {
                new.push((id, data, claimed.clone()));
                answer_to.push((id, m, claimed, true));
                continue;
            }
            crate::inflation::check(&data).map_err(|e| invalid(e.to_string()))?;
            let options = LoadOptions::new().on_partial_load(OnPartialLoad::Error);
            let theirs =
                Automerge::load_with_options(&data, options).map_err(|e| invalid(e.to_string()))?;
            let heads = theirs.get_heads();
            known.push((id, theirs, data));
            answer_to.push((id, m, heads, false));
        }
        let mut stored_new = match new.first().map(|(id, _, _)| *id) {
            Some(at) => docs
                .store_new(new)
                .map_err(|source| SessionError::Storage { id: at, source })?,
            None => Vec::new(),
        }
        .into_iter();
        let mut merged_known = match known.first().map(|(id, _, _)| *id) {
            Some(at) => docs
                .merge_documents(known)
                .map_err(|source| SessionError::Storage { id: at, source })?,
            None => Vec::new(),
        }
        .into_iter();
        for (id, m, their_heads, is_new) in answer_to {
            let result = if is_new {
                stored_new.next()
            } else {
                merged_known.next()
            };
            match result.unwrap_or(Merged::Refused) {
                Merged::Stored { heads, changed } => {
                    if same_heads(&heads, &their_heads) {
                        self.pending.remove(&id);
                    } else {
                        // This side has changes the remote lacks too: the usual sync follows.
                        self.pending.insert(id);
                    }
                    if changed {
                        outcome.changed.push(id);
                    }
                    outcome.send.push(have(&m, heads));
                }
                Merged::Refused => {
                    self.pending.remove(&id);
                    outcome.send.push(unavailable(&m));
                }
                Merged::Invalid(reason) => {
                    return Err(ProtocolError::InvalidDocument {
                        document: id.to_string(),
                        reason,
                    }
                    .into());
                }
            }
        }
        Ok(outcome)
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

    /// Handles a batch of messages in order, as [`Session::receive`] would one by one, except
    /// that consecutive whole documents are merged together (one commit for many).
    pub fn receive_all<D: Documents>(
        &mut self,
        messages: Vec<Message>,
        docs: &mut D,
    ) -> Result<Outcome, SessionError<D::Error>> {
        let mut outcome = Outcome::default();
        let mut documents = Vec::new();
        for message in messages {
            match message {
                Message::Document(m) if self.summary_agreed() => documents.push(m),
                other => {
                    if !documents.is_empty() {
                        let batch = std::mem::take(&mut documents);
                        outcome.absorb(self.receive_documents(batch, docs)?);
                    }
                    outcome.absorb(self.receive(other, docs)?);
                    if outcome.closed.is_some() {
                        return Ok(outcome);
                    }
                }
            }
        }
        if !documents.is_empty() {
            outcome.absorb(self.receive_documents(documents, docs)?);
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

fn unavailable(m: &WholeDocument) -> Message {
    Message::DocUnavailable(DocNotice {
        sender_id: m.target_id.clone(),
        target_id: m.sender_id.clone(),
        document_id: m.document_id.clone(),
    })
}

fn have(m: &WholeDocument, heads: Vec<ChangeHash>) -> Message {
    Message::Have(DocHeads {
        sender_id: m.target_id.clone(),
        target_id: m.sender_id.clone(),
        document_id: m.document_id.clone(),
        heads: heads.iter().map(|h| h.0).collect(),
    })
}
