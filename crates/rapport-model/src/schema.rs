//! The keys of Rapport's documents, in one place: the layout JavaScript peers see too.
//!
//! Account document (one per customer account):
//! ```text
//! { type: "account", schema: 1, created: Timestamp, created_by: "ana",
//!   name, domain, industry, tier, stage, owner, phone, website: Str
//!   tags:     { <tag>: true }
//!   custom:   { <name>: Str }
//!   contacts: { <ContactId>: { name, email, phone, title: Str,
//!               merged_into: Str (optional: the ContactId, in this account, it was merged into) } }
//!   deals:    { <DealId>: { title: Str, amount: Int (minor units), currency: Str, stage: Str, close: "YYYY-MM-DD" } }
//!   tasks:    { <TaskId>: { title, assignee, due: Str, done: Bool } }
//!   timeline: { <EntryId>: { kind, team, author: Str, at: Timestamp, text: Text, alert: [Str] } }
//!   acks:     { "<user>:<EntryId>": Timestamp }
//!   merged_into: Str (optional: the DocumentId of the account this one was merged into)
//!   "follower:<user>": Timestamp (one flat root key per follower, set when they followed; they
//!                      are alerted by entries written from then on) }
//! ```
//! An account with `merged_into` stays a document of the workspace (replicas keep syncing it),
//! but lists, search and alerts show the account it was merged into, which holds copies of all
//! its items under the same keys; merges are followed to the end of a chain, and a loop ends at
//! its smallest id. A contact with `merged_into` stays in its account the same way, shown under
//! the contact that stands for it (followed likewise), not in lists, search or duplicates.
//! Workspace document (one per workspace):
//! ```text
//! { type: "workspace", schema: 1, name: Str,
//!   members:  { <user>: { team, role: Str } },
//!   accounts: { <DocumentId>: true },
//!   pipeline: [Str]
//!   "rule:<name>": { kind, tier, stage, team, alert: Str, created, removed: Timestamp }
//!                  (one flat root key per alert rule; it fires for entries written from
//!                  `created` until `removed`, and a removed rule stays for what it raised)
//!   "segment:<ULID>": Str (a segment's JSON, one flat root key per saved segment)
//!   "field:<name>": { label, type: Str, options: Str (a choice's, comma separated),
//!                     defined: Timestamp } (one flat root key per custom field definition) }
//! ```
//! Collections are maps keyed by unique ids, never lists, so concurrent additions never
//! interleave or collide. Every collection is created with the document, so that two replicas
//! never create the same collection concurrently (which would hide one side's content). Data
//! added since (followers, alert rules, segments, custom field definitions) lives under flat root keys with a prefix, one key per
//! follower, rule, segment or definition, so that existing documents need no new collection and concurrent follows or
//! rules from two replicas never hide each other; two writes of the same key (one user following
//! twice, one rule name written twice) keep one value, as any field does.

pub(crate) const TYPE: &str = "type";
pub(crate) const SCHEMA: &str = "schema";
pub(crate) const SCHEMA_VERSION: u64 = 1;
pub(crate) const CREATED: &str = "created";
pub(crate) const CREATED_BY: &str = "created_by";
/// When a rule was removed (it stays, for the alerts it raised).
pub(crate) const REMOVED: &str = "removed";

pub(crate) const ACCOUNT_TYPE: &str = "account";
pub(crate) const TAGS: &str = "tags";
pub(crate) const CUSTOM: &str = "custom";
pub(crate) const CONTACTS: &str = "contacts";
pub(crate) const DEALS: &str = "deals";
pub(crate) const TASKS: &str = "tasks";
pub(crate) const TIMELINE: &str = "timeline";
pub(crate) const ACKS: &str = "acks";
pub(crate) const MERGED_INTO: &str = "merged_into";
/// The prefix of a follower's root key: `follower:<user>`.
pub(crate) const FOLLOWER_PREFIX: &str = "follower:";
/// The account's collections, created with the document.
pub(crate) const ACCOUNT_COLLECTIONS: [&str; 7] =
    [TAGS, CUSTOM, CONTACTS, DEALS, TASKS, TIMELINE, ACKS];

pub(crate) const WORKSPACE_TYPE: &str = "workspace";
pub(crate) const MEMBERS: &str = "members";
pub(crate) const ACCOUNTS: &str = "accounts";
pub(crate) const PIPELINE: &str = "pipeline";
/// The prefix of an alert rule's root key: `rule:<name>`.
pub(crate) const RULE_PREFIX: &str = "rule:";
/// The prefix of a custom field definition's root key: `field:<name>`.
pub(crate) const FIELD_PREFIX: &str = "field:";
