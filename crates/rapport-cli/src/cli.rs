//! The command line, as clap parses it. Values are parsed into model types here, at the edge.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use rapport_model::alert::rule::RuleName;
use rapport_model::custom_field::{FieldName, FieldType};
use rapport_model::{AlertTarget, Currency, EntryKind, Stage, Team, UserName, ValueTier};
use rapport_transfer::{ColumnMap, Kind};

mod relay;
pub use relay::{RelayCommand, WebhookCommand};

/// Rapport: one customer record for sales, marketing and support, on every laptop, offline.
#[derive(Debug, Parser)]
#[command(name = "rapport", version, about, propagate_version = true)]
pub struct Cli {
    /// Data directory holding the replica [default: $RAPPORT_DATA, else the platform data dir]
    #[arg(long, global = true, value_name = "DIR", env = "RAPPORT_DATA")]
    pub data: Option<PathBuf>,
    /// Print machine-readable JSON on stdout
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// The top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new workspace and this user's replica of it
    Init(InitArgs),
    /// Accounts: add, list, show, set fields
    #[command(subcommand)]
    Account(AccountCommand),
    /// Segments: saved account filters the whole workspace shares
    #[command(subcommand)]
    Segment(SegmentCommand),
    /// Contacts of an account
    #[command(subcommand)]
    Contact(ContactCommand),
    /// Notes on an account's timeline
    #[command(subcommand)]
    Note(NoteCommand),
    /// Log an interaction (call, email, meeting, ticket, campaign) on an account's timeline
    Log(LogArgs),
    /// Who changed what on an account, when, and from which value, oldest first: read from the
    /// account document's own changes
    History(HistoryArgs),
    /// Deals of an account
    #[command(subcommand)]
    Deal(DealCommand),
    /// Tasks of an account
    #[command(subcommand)]
    Task(TaskCommand),
    /// Alerts for me or my team not yet acknowledged, and my reminders: my open tasks due today
    /// or overdue
    Alerts(AlertsArgs),
    /// Likely duplicate accounts (same domain, same or similar name) and contacts (same email,
    /// or same name within an account), each pair with its reasons
    Duplicates,
    /// Reports: open pipeline by stage and owner, win rate, interactions per team, accounts
    /// needing attention
    Report(ReportArgs),
    /// The workspace: members, pipeline, document URL
    #[command(subcommand)]
    Workspace(WorkspaceCommand),
    /// Import accounts, contacts or deals from a CSV file (HubSpot, Salesforce, Pipedrive or
    /// Rapport headers), or a whole JSON export, all rows or none
    Import(ImportArgs),
    /// Export the whole workspace as JSON, or its accounts, contacts or deals as CSV
    Export(ExportArgs),
    /// Make a new replica of a relay's workspace; who you are comes from the token
    Join(JoinArgs),
    /// Sync with the relay: once, or live with --watch
    Sync(SyncArgs),
    /// Run a relay, or invite and revoke its members
    #[command(subcommand)]
    Relay(RelayCommand),
    /// Run the local node: the web UI on this machine, kept live with the relay
    Ui(UiArgs),
    /// Start a relay and three replicas (sales, marketing, support) with sample data, and
    /// print their web UI addresses
    Demo(DemoArgs),
}

/// `rapport import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The CSV file (UTF-8; comma, semicolon or tab separated), or a JSON export of
    /// `rapport export --format json` (told by a .json extension or its content)
    pub file: PathBuf,
    /// What each row of a CSV file is [default: told from the headers]
    #[arg(long)]
    pub kind: Option<Kind>,
    /// Columns to map or override: 'Header=field,...' with fields such as account.name,
    /// account.domain, account.custom.NAME, contact.email, deal.amount, or ignore; repeatable
    #[arg(long, value_name = "HEADER=FIELD,...")]
    pub map: Vec<ColumnMap>,
    /// Report, row by row (account by account for JSON), what would be created, merged or
    /// rejected, and write nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// `rapport export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// json: everything (accounts with contacts, deals, tasks and timeline); csv: one kind of
    /// record per file, with headers `rapport import` reads back
    #[arg(long)]
    pub format: ExportFormat,
    /// With --format csv: which records
    #[arg(long, required_if_eq("format", "csv"))]
    pub kind: Option<Kind>,
    /// Write to this file instead of stdout
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// The formats `rapport export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// The whole workspace as one JSON document.
    Json,
    /// One kind of record as CSV.
    Csv,
}

/// `rapport ui`.
#[derive(Debug, Args)]
pub struct UiArgs {
    /// Loopback address to serve the web UI on
    #[arg(long, default_value = rapport_node::DEFAULT_LISTEN)]
    pub listen: std::net::SocketAddr,
}

/// `rapport demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// First of four loopback ports: the relay, then the sales, marketing and support pages
    #[arg(long, default_value_t = 7420)]
    pub port: u16,
    /// How many sample accounts to make
    #[arg(long, default_value_t = 300)]
    pub accounts: usize,
}

/// `rapport join`.
#[derive(Debug, Args)]
pub struct JoinArgs {
    /// The relay's websocket URL, e.g. ws://relay.example.com:7700 or wss://...
    pub url: String,
    /// Your member token, from `rapport relay invite`
    #[arg(long, env = "RAPPORT_TOKEN", hide_env_values = true)]
    pub token: String,
    /// For a wss:// relay whose certificate comes from a private or self-signed CA: that CA's
    /// certificate (PEM), trusted besides the system's and kept with the replica
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Give up after this many seconds
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
}

/// `rapport sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Stay connected, printing alerts as they arrive, and reconnect when the link drops
    #[arg(long)]
    pub watch: bool,
    /// Sync with this relay (or automerge-repo sync server) from now on
    #[arg(long, value_name = "URL")]
    pub relay: Option<String>,
    /// With --relay: the member token to present
    #[arg(
        long,
        requires = "relay",
        env = "RAPPORT_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
    /// Trust this CA certificate (PEM) for the relay's wss:// certificate from now on
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Give up a one-off sync after this many seconds
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
    /// With --watch: also print, on stderr, the id of each document that changes here as
    /// another replica's changes arrive
    #[arg(long, short, requires = "watch")]
    pub verbose: bool,
}

/// `rapport init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Workspace name
    #[arg(long)]
    pub workspace: String,
    /// Your user name
    #[arg(long)]
    pub user: UserName,
    /// Your team: sales, marketing or support
    #[arg(long)]
    pub team: Team,
}

/// `rapport account ...`.
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Add an account; prints its id
    Add {
        /// Account name
        name: String,
        /// Web domain
        #[arg(long)]
        domain: Option<String>,
        /// Tier or value segment
        #[arg(long)]
        tier: Option<String>,
        /// Lifecycle stage: lead, prospect, customer, churned
        #[arg(long)]
        stage: Option<Stage>,
        /// Owning user
        #[arg(long)]
        owner: Option<UserName>,
    },
    /// List accounts with their value score (0-100, tier low/medium/high), optionally those
    /// matching a search, a saved segment and the conditions given
    List {
        /// Words to find in names, fields, contacts and timeline text
        #[arg(long)]
        query: Option<String>,
        /// Show a team's columns: sales (owner, stage, open deals and their value), marketing
        /// (tier, stage, contacts, last touch), support (open ticket, last support touch,
        /// contacts)
        #[arg(long)]
        team: Option<Team>,
        /// Only the accounts of this saved segment
        #[arg(long, value_name = "NAME")]
        segment: Option<String>,
        /// Order: by name, or by value score, highest first
        #[arg(long, value_enum, default_value_t = AccountOrder::Name)]
        sort: AccountOrder,
        /// Conditions the accounts must also meet
        #[command(flatten)]
        filter: SegmentFilterArgs,
    },
    /// Show one account: fields, contacts, deals, tasks, timeline, conflicts
    Show {
        /// Account id, unique id prefix, or exact name
        account: String,
    },
    /// Set fields: name, domain, industry, tier, stage, owner, phone, website, tags, custom.NAME
    Set {
        /// Account id, unique id prefix, or exact name
        account: String,
        /// FIELD=VALUE (an empty VALUE clears the field)
        #[arg(required = true, value_name = "FIELD=VALUE")]
        assignments: Vec<String>,
    },
    /// Follow an account: its new timeline entries alert you (except your own)
    Follow {
        /// Account id, unique id prefix, or exact name
        account: String,
    },
    /// Stop following an account
    Unfollow {
        /// Account id, unique id prefix, or exact name
        account: String,
    },
    /// Merge an account into another: its contacts, deals, tasks, timeline and the fields the
    /// kept account lacks move over; the merged account then shows as the kept one
    Merge {
        /// The account to merge away: id, unique id prefix, or exact name
        other: String,
        /// The account to keep
        #[arg(long, value_name = "KEEP")]
        into: String,
    },
}

/// `rapport contact ...`.
#[derive(Debug, Subcommand)]
pub enum ContactCommand {
    /// Add a contact to an account; prints its id
    Add {
        /// Account id, unique id prefix, or exact name
        account: String,
        /// Full name
        #[arg(long)]
        name: String,
        /// Email
        #[arg(long)]
        email: Option<String>,
        /// Phone
        #[arg(long)]
        phone: Option<String>,
        /// Job title
        #[arg(long)]
        title: Option<String>,
    },
    /// Set fields of a contact: name, email, phone, title
    Set {
        /// Contact id or unique prefix
        contact: String,
        /// FIELD=VALUE (an empty VALUE clears the field)
        #[arg(required = true, value_name = "FIELD=VALUE")]
        assignments: Vec<String>,
    },
    /// Merge a contact into another of the same account: the kept one keeps its values and
    /// gets those it lacks; the merged one then shows under it
    Merge {
        /// The contact to merge away: id or unique prefix
        other: String,
        /// The contact to keep
        #[arg(long, value_name = "KEEP")]
        into: String,
    },
}

/// `rapport note ...`.
#[derive(Debug, Subcommand)]
pub enum NoteCommand {
    /// Add a note to an account's timeline; prints its id
    Add {
        /// Account id, unique id prefix, or exact name
        account: String,
        /// The note
        text: String,
        /// Alert a team (sales, marketing, support) or a user (@name); repeatable
        #[arg(long, value_name = "TEAM|@USER")]
        alert: Vec<AlertTarget>,
        /// Also give me a task to follow up, due in N days (3d) or on a date (YYYY-MM-DD)
        #[arg(long, value_name = "Nd|YYYY-MM-DD", allow_hyphen_values = true)]
        follow_up: Option<String>,
    },
}

/// `rapport log`.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Account id, unique id prefix, or exact name
    pub account: String,
    /// call, email, meeting, ticket or campaign
    #[arg(long)]
    pub kind: EntryKind,
    /// What happened
    pub text: String,
    /// Alert a team or a user (@name); repeatable
    #[arg(long, value_name = "TEAM|@USER")]
    pub alert: Vec<AlertTarget>,
}

/// `rapport history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Account id, unique id prefix, or exact name
    pub account: String,
    /// Only the latest N changes
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
}

/// `rapport deal ...`.
#[derive(Debug, Subcommand)]
pub enum DealCommand {
    /// Add a deal to an account; prints its id
    Add {
        /// Account id, unique id prefix, or exact name
        account: String,
        /// Title
        #[arg(long)]
        title: String,
        /// Amount in major units, e.g. 12000 or 99.50
        #[arg(long)]
        amount: String,
        /// Currency code [default: EUR]
        #[arg(long)]
        currency: Option<Currency>,
        /// Pipeline stage [default: the pipeline's first]
        #[arg(long)]
        stage: Option<String>,
        /// Expected close date, YYYY-MM-DD
        #[arg(long)]
        close: Option<String>,
    },
    /// Move a deal to another pipeline stage
    Move {
        /// Deal id or unique prefix
        deal: String,
        /// Pipeline stage
        stage: String,
    },
}

/// `rapport task ...`.
#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Add a task to an account; prints its id
    Add {
        /// Account id, unique id prefix, or exact name
        account: String,
        /// What to do
        title: String,
        /// Who does it
        #[arg(long)]
        assignee: Option<UserName>,
        /// Due date, YYYY-MM-DD
        #[arg(long)]
        due: Option<String>,
    },
    /// Mark a task done
    Done {
        /// Task id or unique prefix
        task: String,
    },
    /// List my open tasks, those due first
    List {
        /// Tasks assigned to me (the only list there is: others' tasks are on their accounts)
        #[arg(long, required = true)]
        mine: bool,
        /// Only those due today or overdue: my reminders
        #[arg(long)]
        due: bool,
    },
}

/// `rapport alerts [--all]` and `rapport alerts ack`.
#[derive(Debug, Args)]
pub struct AlertsArgs {
    /// Include alerts already acknowledged
    #[arg(long)]
    pub all: bool,
    #[command(subcommand)]
    pub action: Option<AlertsCommand>,
}

/// `rapport alerts ack ...`.
#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Acknowledge one alert, or all of them
    Ack {
        /// Alert id or unique prefix
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        alert: Option<String>,
        /// Acknowledge every open alert
        #[arg(long)]
        all: bool,
    },
}

/// `rapport report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Which report
    pub report: ReportKind,
    /// The window in days: for win-rate, deals whose close date is in the last N days [default:
    /// every closed deal]; for interactions and attention [default: 30]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=i64::from(rapport_store::MAX_REPORT_DAYS)))]
    pub days: Option<u32>,
    /// Count only the accounts of this saved segment
    #[arg(long, value_name = "NAME")]
    pub segment: Option<String>,
}

/// The reports `rapport report` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportKind {
    /// Open deals (not won or lost) per pipeline stage and per account owner, with their value
    /// per currency
    Pipeline,
    /// Deals won / (won + lost), overall and per account owner
    WinRate,
    /// Timeline entries per author team and kind in the last N days
    Interactions,
    /// Accounts without a timeline entry in the last N days, and accounts with an open ticket
    /// (no support entry since) and an open deal
    Attention,
}

/// `rapport workspace ...`.
#[derive(Debug, Subcommand)]
pub enum WorkspaceCommand {
    /// Show the workspace, its members and its document URL
    Show,
    /// Alert rules: entries that match a rule alert its targets, no mention needed
    #[command(subcommand)]
    Rule(RuleCommand),
    /// Custom fields: which `custom.NAME` fields every account has, with a label and a type
    /// their values are checked against
    #[command(subcommand)]
    Field(FieldCommand),
}

/// `rapport workspace field ...`.
#[derive(Debug, Subcommand)]
pub enum FieldCommand {
    /// Define a custom field: every account shows it, and `account set ACCOUNT
    /// custom.NAME=VALUE` and imports check values against its type
    Add(FieldAddArgs),
    /// List the workspace's custom fields, in the order they were defined
    List,
    /// Remove a custom field's definition (the values accounts hold stay)
    Remove {
        /// The field's name
        name: FieldName,
    },
}

/// `rapport workspace field add`.
#[derive(Debug, Args)]
pub struct FieldAddArgs {
    /// The field's name (letters, digits, '_' or '-'): values are `custom.NAME`
    pub name: FieldName,
    /// What its values are: text, number, date (YYYY-MM-DD), choice (one of --options), url,
    /// email
    #[arg(long = "type", value_name = "TYPE")]
    pub kind: FieldType,
    /// For a choice field: the values it offers, comma separated
    #[arg(long, value_name = "A,B,...")]
    pub options: Option<String>,
    /// What people see [default: the name]
    #[arg(long)]
    pub label: Option<String>,
}

/// `rapport workspace rule ...`.
#[derive(Debug, Subcommand)]
pub enum RuleCommand {
    /// Add a rule: entries added from now on that meet every --when-* condition alert the
    /// --alert targets
    Add(RuleAddArgs),
    /// List the workspace's alert rules
    List,
    /// Remove a rule (alerts it already raised stay)
    Remove {
        /// The rule's name
        name: RuleName,
    },
}

/// `rapport workspace rule add`.
#[derive(Debug, Args)]
pub struct RuleAddArgs {
    /// A name for the rule (letters, digits, '.', '_' or '-'), unique in the workspace
    pub name: RuleName,
    /// Only entries of this kind: note, call, email, meeting, ticket, campaign
    #[arg(long)]
    pub when_kind: Option<EntryKind>,
    /// Only entries on accounts of this tier (compared without case)
    #[arg(long)]
    pub when_tier: Option<String>,
    /// Only entries on accounts at this stage: lead, prospect, customer, churned
    #[arg(long)]
    pub when_stage: Option<Stage>,
    /// Only entries written by this team: sales, marketing, support
    #[arg(long)]
    pub when_team: Option<Team>,
    /// Whom to alert, comma separated: owner (the account's owner), followers, a team, @user
    #[arg(long, required = true, value_name = "TARGETS")]
    pub alert: String,
}

/// The order of `rapport account list`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AccountOrder {
    /// By name
    Name,
    /// By value score, highest first (ties by name)
    Score,
}

/// `rapport segment ...`.
#[derive(Debug, Subcommand)]
pub enum SegmentCommand {
    /// Save a filter under a name, for everyone in the workspace: `rapport account list
    /// --segment NAME` and `rapport report ... --segment NAME` use it
    Add {
        /// The segment's name
        name: String,
        /// What an account must meet (at least one condition)
        #[command(flatten)]
        filter: SegmentFilterArgs,
    },
    /// The saved segments and their conditions
    List,
    /// Remove a saved segment
    Remove {
        /// The segment's name
        name: String,
    },
}

/// The conditions of a segment: every one given must hold.
#[derive(Debug, Args)]
pub struct SegmentFilterArgs {
    /// Lifecycle stage: lead, prospect, customer, churned
    #[arg(long)]
    pub stage: Option<Stage>,
    /// The account's tier field
    #[arg(long)]
    pub tier: Option<String>,
    /// The account's owner
    #[arg(long)]
    pub owner: Option<UserName>,
    /// A tag the account holds
    #[arg(long)]
    pub tag: Option<String>,
    /// The team that wrote the account's latest timeline entry: sales, marketing or support
    #[arg(long)]
    pub last_team: Option<Team>,
    /// The value score's tier: low, medium or high
    #[arg(long)]
    pub value_tier: Option<ValueTier>,
    /// The lowest value score, 0 to 100
    #[arg(long, value_name = "SCORE", value_parser = clap::value_parser!(u8).range(0..=100))]
    pub min_score: Option<u8>,
    /// The highest value score, 0 to 100
    #[arg(long, value_name = "SCORE", value_parser = clap::value_parser!(u8).range(0..=100))]
    pub max_score: Option<u8>,
    /// No timeline entry in the last N days
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=i64::from(rapport_model::segment::MAX_UNTOUCHED_DAYS)))]
    pub untouched_days: Option<u32>,
    /// Has a deal that is neither won nor lost
    #[arg(long, conflicts_with = "no_open_deal")]
    pub open_deal: bool,
    /// Has no deal that is neither won nor lost
    #[arg(long)]
    pub no_open_deal: bool,
    /// A custom field holds exactly this value (repeatable)
    #[arg(long, value_name = "NAME=VALUE", value_parser = parse_custom_condition)]
    pub custom: Vec<(String, String)>,
}

fn parse_custom_condition(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.to_owned()))
        }
        _ => Err(format!("expected NAME=VALUE, got '{text}'")),
    }
}
