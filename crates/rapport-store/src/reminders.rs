//! Open tasks and reminders from the `open_tasks` table: a user's tasks not done, by due date,
//! read as one key range without loading a document. A task is a reminder from its due date
//! on (`rapport_model::reminder`); "today" is the caller's, read from its clock.

use jiff::civil::Date;
use rapport_model::account::TaskView;
use rapport_model::{DocumentId, TaskId, parse_date, reminder};
use redb::{ReadableDatabase, Table};
use serde::Serialize;

use crate::error::{StorageContext, StoreError};
use crate::index::Derived;
use crate::replica::Replica;
use crate::tables::{ACCOUNTS, OPEN_TASKS};

const WRITING: &str = "updating the open tasks";
const READING: &str = "reading the open tasks";
/// Above every id and date in a key.
const LAST: &str = "\u{10FFFF}";

/// The `open_tasks` table, open in a write transaction.
pub(crate) type OpenTasksTable<'t> =
    Table<'t, (&'static str, &'static str, &'static str, &'static str), &'static str>;
/// The `open_task_keys` table, open in a write transaction.
pub(crate) type OpenTaskKeysTable<'t> =
    Table<'t, (&'static str, &'static str), (&'static str, &'static str)>;

/// Today's date in UTC, as the reminders count days (the reports' days are UTC too).
pub fn today() -> Date {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
}

/// A task not done, assigned to this replica's user.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct OpenTask {
    /// The task's id.
    pub id: TaskId,
    /// The account it is on.
    pub account: DocumentId,
    /// That account's name.
    pub account_name: String,
    /// What to do.
    pub title: String,
    /// Its due date, if it has one.
    pub due: Option<Date>,
    /// How many days past its due date it is today (0: due today); `None` when not due yet.
    pub days_overdue: Option<i64>,
}

impl OpenTask {
    /// Whether it is due today or overdue: a reminder.
    pub fn is_reminder(&self) -> bool {
        self.days_overdue.is_some()
    }
}

impl Replica {
    /// This user's open tasks: those due first, by due date (the most overdue first), then
    /// those without a due date.
    pub fn open_tasks(&self, today: Date) -> Result<Vec<OpenTask>, StoreError> {
        let user = self.user.as_str();
        let mut tasks = self.open_tasks_in((user, "", "", "")..=(user, LAST, LAST, LAST), today)?;
        // Rows without a due date sort first in the table ("" before any date).
        tasks.sort_by_key(|task| (task.due.is_none(), task.due));
        Ok(tasks)
    }

    /// This user's reminders: open tasks due today or earlier, the most overdue first.
    pub fn reminders(&self, today: Date) -> Result<Vec<OpenTask>, StoreError> {
        let user = self.user.as_str();
        let today_key = today.to_string();
        // "0" is above the "" of tasks without a due date and below every date.
        self.open_tasks_in(
            (user, "0", "", "")..=(user, today_key.as_str(), LAST, LAST),
            today,
        )
    }

    fn open_tasks_in<'a>(
        &self,
        range: std::ops::RangeInclusive<(&'a str, &'a str, &'a str, &'a str)>,
        today: Date,
    ) -> Result<Vec<OpenTask>, StoreError> {
        let txn = self.db.begin_read().doing(READING)?;
        let table = match txn.open_table(OPEN_TASKS) {
            Ok(table) => table,
            // A replica whose index predates the table has it rebuilt when it opens; until
            // then it has no open tasks to show.
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(other) => return Err(other).doing(READING),
        };
        let accounts = txn.open_table(ACCOUNTS).doing(READING)?;
        let mut out = Vec::new();
        for row in table.range(range).doing(READING)? {
            let (key, title) = row.doing(READING)?;
            let (_, due, account, task) = key.value();
            let (Ok(account), Ok(id)) = (account.parse::<DocumentId>(), task.parse::<TaskId>())
            else {
                continue;
            };
            let account_name = match accounts.get(key.value().2).doing(READING)? {
                Some(json) => summary_name(json.value())?,
                None => continue,
            };
            let due = parse_date(due).ok();
            out.push(OpenTask {
                id,
                account,
                account_name,
                title: title.value().to_owned(),
                due,
                days_overdue: due.and_then(|due| reminder::days_overdue(due, today)),
            });
        }
        Ok(out)
    }
}

fn summary_name(json: &[u8]) -> Result<String, StoreError> {
    #[derive(serde::Deserialize)]
    struct Named {
        name: String,
    }
    serde_json::from_slice::<Named>(json)
        .map(|named| named.name)
        .map_err(|e| StoreError::DamagedIndex {
            table: "accounts",
            reason: e.to_string(),
        })
}

/// Rewrites the `open_tasks` row of task `task_key` as it now reads (`None`: gone, or not
/// readable): a task done or without an assignee has none.
pub(crate) fn set_task(
    derived: &mut Derived<'_>,
    account_key: &str,
    task_key: &str,
    task: Option<&TaskView>,
) -> Result<(), StoreError> {
    let old = derived
        .open_task_keys
        .remove((account_key, task_key))
        .doing(WRITING)?
        .map(|row| {
            let (assignee, due) = row.value();
            (assignee.to_owned(), due.to_owned())
        });
    if let Some((assignee, due)) = &old {
        derived
            .open_tasks
            .remove((assignee.as_str(), due.as_str(), account_key, task_key))
            .doing(WRITING)?;
    }
    let Some(task) = task.filter(|task| !task.done) else {
        return Ok(());
    };
    let Some(assignee) = task
        .assignee
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
    else {
        return Ok(());
    };
    // A due date that does not read (a foreign peer's) is kept as none, not guessed at.
    let due = task
        .due
        .as_deref()
        .and_then(|due| parse_date(due.trim()).ok())
        .map(|due| due.to_string())
        .unwrap_or_default();
    derived
        .open_tasks
        .insert(
            (assignee, due.as_str(), account_key, task_key),
            task.title.as_str(),
        )
        .doing(WRITING)?;
    derived
        .open_task_keys
        .insert((account_key, task_key), (assignee, due.as_str()))
        .doing(WRITING)?;
    Ok(())
}

/// Drops the `open_tasks` rows of one account.
pub(crate) fn clear_account(
    derived: &mut Derived<'_>,
    account_key: &str,
) -> Result<(), StoreError> {
    let whole_account = (account_key, "")..=(account_key, LAST);
    let mut keys = Vec::new();
    for row in derived
        .open_task_keys
        .extract_from_if(whole_account, |_, _| true)
        .doing(WRITING)?
    {
        let (key, value) = row.doing(WRITING)?;
        let (assignee, due) = value.value();
        keys.push((
            assignee.to_owned(),
            due.to_owned(),
            key.value().1.to_owned(),
        ));
    }
    for (assignee, due, task) in keys {
        derived
            .open_tasks
            .remove((assignee.as_str(), due.as_str(), account_key, task.as_str()))
            .doing(WRITING)?;
    }
    Ok(())
}
