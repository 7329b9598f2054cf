//! Rapport's import and export files, read and written in memory: no files, no clock, no
//! store. The CLI reads the bytes, this crate decides, the store writes.
//!
//! An import goes bytes → [`parse_file`] (a [`Table`] of text cells, each column given a
//! [`Field`] by its header or by `--map`, each row read into a [`Record`] or a [`Reject`]) →
//! [`plan`] against what the workspace holds ([`Existing`]) → a [`Plan`]: every row
//! created, merged or rejected ([`RowPlan`]), and one [`AccountChange`] per account, which the
//! caller writes in one batch. [`parse_file`] is the pure entry point: any bytes give a parsed
//! file or an error, never a panic.
//!
//! An export goes the other way: [`export_csv`] writes the accounts, contacts or deals of a
//! workspace under the headers [`parse_file`] reads back (`account.name`, `contact.email`,
//! `deal.amount`, ...), and [`JsonExport`] is the whole workspace as JSON.
//!
//! The JSON export reads back too: [`parse_json`] (any bytes give a [`JsonFile`] or a
//! [`JsonError`], never a panic) → [`plan_json`] against [`Existing`] → a [`JsonPlan`]: every
//! account created, merged or rejected ([`AccountPlan`]), and one [`AccountChange`] per account
//! that changes; before them, the workspace's field definitions, alert rules and segments the
//! file carries ([`FileSettings`]), each created, unchanged or kept as the workspace has it
//! ([`SettingPlan`]), and one [`WorkspaceChange`] creating those it lacks. Items keep their ids
//! and timeline entries their authors, teams and times, so importing the same file twice
//! changes nothing the second time. Both imports write the same [`AccountChange`]: a CSV row's
//! items get new ids when planned.
//!
//! ```
//! use rapport_transfer::{ColumnMap, Existing, Outcome, parse_file, plan};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let csv = b"First Name,Last Name,Email,Associated Company\nHank,Scorpio,hank@globex.com,Globex\n";
//! let file = parse_file(csv, None, &ColumnMap::default())?;
//! let plan = plan(&file, &Existing::new(Vec::new()));
//! assert_eq!(plan.rows[0].outcome, Outcome::Created);
//! assert_eq!(plan.changes[0].contacts[0].1.name, "Hank Scorpio");
//! # Ok(())
//! # }
//! ```

mod error;
mod export;
mod json_file;
mod json_plan;
mod json_settings;
mod mapping;
mod plan;
mod record;
mod table;

pub use error::{JsonError, MappingError, ReadError};
pub use export::{ExportSettings, FORMULA_STARTS, JsonExport, defuse, export_csv};
pub use json_file::{FileAccount, FileDeal, JSON_FORMAT, JsonFile, looks_like_json, parse_json};
pub use json_plan::{AccountPlan, ItemCounts, JsonPlan, MatchedBy, plan_json};
pub use json_settings::{FileSettings, SettingKind, SettingOutcome, SettingPlan, WorkspaceChange};
pub use mapping::{ColumnMap, Field, Kind, Mapping, export_headers, map_columns};
pub use plan::{
    AccountChange, AccountRef, Existing, Outcome, ParsedFile, ParsedRow, Plan, RowPlan, Target,
    parse_file, plan,
};
pub use record::{
    AccountRecord, ContactRecord, DealRecord, Item, Record, Reject, domain_of, read_record,
};
pub use table::{MAX_CELL_BYTES, MAX_COLUMNS, Row, Table, read_table};
