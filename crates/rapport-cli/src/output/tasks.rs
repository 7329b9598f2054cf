//! Open tasks and reminders, as `rapport task list` and the inbox print them.

use rapport_store::OpenTask;

use super::Output;

impl Output {
    /// My open tasks (or reminders): one line each, or JSON rows.
    pub fn open_tasks(&self, tasks: &[OpenTask]) -> anyhow::Result<()> {
        if self.json {
            return self.print_json(tasks);
        }
        if tasks.is_empty() {
            return self.print("no open tasks");
        }
        self.print(task_lines(tasks).trim_end())
    }
}

/// `ID  DUE (WHEN)  ACCOUNT: TITLE`, one line per task.
pub(super) fn task_lines(tasks: &[OpenTask]) -> String {
    let mut text = String::new();
    for task in tasks {
        let due = task
            .due
            .map_or_else(|| "no due date".to_owned(), |due| due.to_string());
        text.push_str(&format!(
            "{}  {due} ({})  {}: {}\n",
            task.id,
            when(task),
            task.account_name,
            task.title
        ));
    }
    text
}

fn when(task: &OpenTask) -> String {
    match (task.due, task.days_overdue) {
        (None, _) => "open".to_owned(),
        (Some(_), None) => "upcoming".to_owned(),
        (Some(_), Some(0)) => "due today".to_owned(),
        (Some(_), Some(1)) => "1 day overdue".to_owned(),
        (Some(_), Some(days)) => format!("{days} days overdue"),
    }
}
