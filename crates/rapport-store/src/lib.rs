//! Rapport's durable local replica: Automerge documents and derived indexes in redb.
//!
//! [`Replica`] is the one type: it opens (or creates) `replica.redb` in a data directory and
//! - keeps every document as a compacted snapshot plus incremental chunks, committing each change
//!   durably before returning ([`Replica::change_account`], [`Replica::create_account`]), or
//!   many at once in one commit ([`Replica::batch`], an [`AccountBatch`]);
//! - keeps derived tables (account list, search terms, alert inbox, item locations, pipeline
//!   deals, timeline activity) in step from each change's patches, in the same transaction, so
//!   listing 10,000 accounts, their deals ([`Replica::deals`]) or their activity per week
//!   ([`Replica::activity_by_week`]) loads no document;
//! - serves the reports (open pipeline, win rate, interactions per team, accounts needing
//!   attention) from derived tables only ([`Replica::pipeline_report`], ...);
//! - keeps each user's open tasks by due date ([`Replica::reminders`], [`Replica::open_tasks`])
//!   and gives each team's view of the account list ([`Replica::team_accounts`]) from derived
//!   tables only;
//! - refuses foreign or damaged files with [`OpenError`] without writing to them.
//!
//! redb appears in this crate only. `docs/storage.md` describes the tables.

mod accounts;
mod boards;
mod custom_fields;
mod documents;
mod error;
#[cfg(feature = "faults")]
pub mod faults;
mod history;
mod index;
mod merge;
mod relay;
mod reminders;
mod replica;
mod reports;
mod rows;
mod scores;
mod tables;
mod team_views;

pub use boards::{DealRow, MAX_ACTIVITY_WEEKS, WeekActivity};
pub use documents::AccountBatch;
pub use error::{OpenError, StoreError};
pub use index::{AlertRecord, ItemKind};
pub use merge::{ContactMerge, Duplicates};
pub use relay::{
    Checked, DocumentCommit, DueEvents, OUTBOX_PER_WORKSPACE, OutboxEvent, PendingEvent,
    RELAY_FILE, RelayStore, StoredDocument, TokenRecord, WebhookRecord,
};
pub use reminders::{OpenTask, today};
pub use replica::{Identity, REPLICA_FILE, Remote, Replica, Summary};
pub use reports::{
    AccountScope, AttentionReport, CurrencyTotal, DEFAULT_REPORT_DAYS, DealCount,
    InteractionsReport, LOST_STAGE, MAX_REPORT_DAYS, Outcome, OwnedDeal, OwnerPipeline,
    OwnerWinRate, PipelineReport, StagePipeline, TeamInteractions, TicketOnOpenDeal,
    UntouchedAccount, WON_STAGE, WinRate, WinRateReport, interactions_of, pipeline_of, win_rate_of,
};
pub use rows::SavedBytes;
pub use team_views::{RecentEntry, TeamAccount};
