//! Rapport's CRM domain model, stored as Automerge documents. No I/O: no files, no network, no
//! async; every function here takes a document or a transaction and returns values.
//!
//! - [`account`] writes and reads an account document (record, contacts, deals, tasks,
//!   timeline, acknowledgements); [`account::AccountView`] is the merged 360° record, with its
//!   [`account::Conflict`]s.
//! - [`workspace`] writes and reads the workspace document (name, members, pipeline, account ids).
//! - [`custom_field`] is the workspace's custom field definitions (label, type, options) and
//!   the check of values against them.
//! - [`duplicates`] finds accounts and contacts that look like the same one, and
//!   [`account::merge`] merges one account into another.
//! - [`reminder`] says when an open task is due (a reminder) and reads `--follow-up` dates,
//!   against a "today" the caller reads from its clock.
//! - [`Edit`] says who edits and when; it becomes the Automerge change's message and time.
//! - [`Touched`] turns patches into the parts of an account that changed, for derived indexes.
//! - [`change_times`] refuses Automerge bytes holding a change whose time Automerge's column
//!   code cannot add up without panicking (checked before any peer's or stored bytes load).
//! - Ids ([`DocumentId`], [`EntryId`], ...) and words ([`Team`], [`Stage`], ...) are parsed at
//!   the edge and valid once built; a document of an unexpected shape reads as a [`ShapeError`].
//!
//! ```
//! use automerge::Automerge;
//! use rapport_model::{account, DocumentId, Edit, EntryId, EntryKind, Team};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let edit = Edit::now("ana".parse()?, Team::Support);
//! let sales = "sales".parse()?;
//! let mut doc = Automerge::new();
//! doc.transact_with(|_| edit.commit_options(), |tx| {
//!     account::create(tx, &edit, &account::NewAccount { name: "Acme".into(), ..Default::default() })?;
//!     let note = account::NewEntry { kind: EntryKind::Note, text: "asked about enterprise".into(), alert: vec![sales] };
//!     account::add_entry(tx, &edit, EntryId::new(), &note)
//! }).map_err(|failure| failure.error)?;
//! let view = account::view(&doc, DocumentId::random())?;
//! assert_eq!(view.timeline[0].text, "asked about enterprise");
//! # Ok(())
//! # }
//! ```

pub mod account;
pub mod alert;
pub mod change_times;
pub mod custom_field;
pub mod duplicates;
mod edit;
mod error;
mod fields;
mod id;
mod read;
pub mod reminder;
mod schema;
pub mod search;
pub mod segment;
mod touched;
pub mod value;
mod vocab;
pub mod workspace;

pub use edit::Edit;
pub use error::{EditError, InvalidInput, ShapeError};
pub use fields::{
    AccountAssignment, AccountField, ContactAssignment, ContactField, PipelineStage, check_email,
    parse_date,
};
pub use id::{ContactId, DealId, DocumentId, EntryId, TaskId};
pub use touched::Touched;
pub use vocab::{AlertTarget, Currency, EntryKind, Money, Role, Stage, Team, UserName, ValueTier};
