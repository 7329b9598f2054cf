//! What a replica holds, as `rapport` shows it and as its store keeps it, to compare replicas.

use std::collections::{BTreeMap, BTreeSet};

use rapport_store::Replica;
use serde_json::Value;

use super::Client;
use crate::support::{Data, array, str_at};

/// What `rapport` shows of a replica: every account, and the workspace.
pub struct View {
    pub list: Vec<Value>,
    pub accounts: BTreeMap<String, Value>,
    pub workspace: Value,
}

impl View {
    /// `account list`, `account show` of every account listed, and `workspace show`.
    #[track_caller]
    pub fn of(data: &Data) -> Self {
        let list = array(&data.list()).clone();
        let accounts = list
            .iter()
            .map(|a| {
                let id = str_at(a, "id");
                (id.to_owned(), data.show(id))
            })
            .collect();
        Self {
            list,
            accounts,
            workspace: data.json(["workspace", "show"]),
        }
    }

    /// The same as `other`, or a panic that names what differs.
    #[track_caller]
    pub fn assert_same(&self, other: &View, user: &str, other_user: &str) {
        let ids = |view: &View| view.accounts.keys().cloned().collect::<Vec<_>>();
        assert_eq!(
            ids(self),
            ids(other),
            "{user} and {other_user} list different accounts"
        );
        for (id, account) in &self.accounts {
            let theirs = &other.accounts[id];
            let differing: Vec<&String> = account
                .as_object()
                .expect("an account object")
                .iter()
                .filter(|(key, value)| theirs.get(key.as_str()) != Some(value))
                .map(|(key, _)| key)
                .collect();
            assert!(
                differing.is_empty(),
                "account {id} differs between {user} and {other_user} in {differing:?}: \
                 {} vs {} timeline entries",
                array(&account["timeline"]).len(),
                array(&theirs["timeline"]).len()
            );
        }
        assert_eq!(
            self.list, other.list,
            "{user} and {other_user}: account list"
        );
        assert_eq!(
            self.workspace, other.workspace,
            "{user} and {other_user}: workspace"
        );
    }
}

/// Every document of a replica with its heads, as its store holds them.
pub type Summary = Vec<(String, Vec<String>)>;

#[track_caller]
pub fn summary(data: &Data) -> Summary {
    let replica = Replica::open(&data.dir).expect("the replica opens");
    let mut summary: Summary = replica
        .summary()
        .expect("the replica's summary")
        .into_iter()
        .map(|(id, heads)| {
            let mut heads: Vec<String> = heads.iter().map(ToString::to_string).collect();
            heads.sort_unstable();
            (id.to_string(), heads)
        })
        .collect();
    summary.sort_unstable();
    summary
}

/// Which documents the replicas hold differently, for a failure message.
pub fn describe_differences(clients: &[Client], summaries: &[Summary]) -> String {
    let mut text = String::new();
    let all: BTreeSet<&String> = summaries.iter().flatten().map(|(id, _)| id).collect();
    for id in all {
        let heads: Vec<Option<&Vec<String>>> = summaries
            .iter()
            .map(|s| s.iter().find(|(doc, _)| doc == id).map(|(_, h)| h))
            .collect();
        if heads.iter().all(|h| *h == heads[0]) {
            continue;
        }
        text.push_str(&format!("document {id}:\n"));
        for (client, heads) in clients.iter().zip(heads) {
            text.push_str(&format!("  {}: {heads:?}\n", client.user));
        }
    }
    text
}
