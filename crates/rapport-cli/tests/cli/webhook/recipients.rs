//! Whom a posted alert names, and why: explicit alert lists, mentions of members and workspace
//! rules fire the relay's webhook, each event listing its recipients with their reasons;
//! following alone fires nothing, and an entry brought by many replicas fires once.

use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};
use tempfile::TempDir;

use super::{Post, SECRET, receiver};
use crate::processes::{PATIENCE, RelayServer};
use crate::support::{Data, copy_documents, tmp};

/// How long to listen to be sure nothing more is posted.
const QUIET: Duration = Duration::from_millis(1500);

/// A relay whose workspace "Acme" has a webhook posting to a receiver of the test, with each
/// `(user, team)` invited and joined in a directory named after them.
struct Hooked<const N: usize> {
    relay: Option<RelayServer>,
    store: Data,
    members: [Data; N],
    posts: mpsc::Receiver<Post>,
}

impl<const N: usize> Hooked<N> {
    fn start(tmp: &TempDir, members: [(&str, &str); N]) -> Self {
        let store = Data::at(tmp.path().join("relay"));
        let tokens = members.map(|(user, team)| (user, store.invite(user, team, "member")));
        let relay = RelayServer::start(&store);
        let (url, posts) = receiver();
        let secret_file = tmp.path().join("secret");
        std::fs::write(&secret_file, SECRET).unwrap();
        store
            .run([
                "relay",
                "webhook",
                "set",
                "--workspace",
                "Acme",
                "--url",
                &url,
                "--secret-file",
                secret_file.to_str().unwrap(),
            ])
            .ok();
        let members =
            tokens.map(|(user, token)| Data::join_relay(tmp.path().join(user), &relay.url, &token));
        Self {
            relay: Some(relay),
            store,
            members,
            posts,
        }
    }

    /// Stops the relay and starts it again where its members look for it.
    fn restart_relay(&mut self) {
        let relay = self.relay.take().expect("the relay runs");
        let address = relay.address().to_owned();
        let _ = relay.terminate(PATIENCE);
        self.relay = Some(RelayServer::restart_on(&self.store, &address));
    }

    /// Syncs every member twice over, in order: afterwards each holds what any wrote.
    fn sync_all(&self) {
        for _ in 0..2 {
            for member in &self.members {
                member.sync().ok();
            }
        }
    }

    /// The next event posted, as JSON.
    #[track_caller]
    fn next(&self) -> Value {
        let post = self
            .posts
            .recv_timeout(PATIENCE)
            .expect("an event is posted");
        serde_json::from_str(&post.body).unwrap()
    }

    /// Asserts that nothing (more) is posted.
    #[track_caller]
    fn assert_quiet(&self) {
        if let Ok(post) = self.posts.recv_timeout(QUIET) {
            panic!("nothing more is posted, but got {}", post.body);
        }
    }
}

#[test]
fn a_mention_of_a_member_is_posted_naming_them_with_the_reason_mentioned() {
    let tmp = tmp();
    let hooked = Hooked::start(&tmp, [("sam", "sales"), ("mia", "marketing")]);
    let [sam, _mia] = &hooked.members;
    let account = sam.add_account("Globex", &[]);
    let note = sam.id_of([
        "note",
        "add",
        &account,
        "@mia can you send the deck? cc @zed, who is not a member",
    ]);
    sam.sync().ok();

    let body = hooked.next();
    assert_eq!(body["entry"]["id"], note.as_str());
    assert_eq!(body["entry"]["alert"], json!([]), "no alert list was given");
    assert_eq!(body["account"]["name"], "Globex");
    assert_eq!(
        body["recipients"],
        json!([{ "user": "mia", "reasons": ["mentioned"] }])
    );
    hooked.assert_quiet();
}

#[test]
fn a_rule_on_a_gold_tier_ticket_is_posted_for_the_accounts_owner_after_the_relay_restarts() {
    let tmp = tmp();
    let mut hooked = Hooked::start(&tmp, [("sam", "sales"), ("sue", "support")]);
    let [sam, sue] = &hooked.members;
    let gold = sam.add_account("Globex", &["--tier", "Gold", "--owner", "sam"]);
    let silver = sam.add_account("Initech", &["--tier", "silver", "--owner", "sam"]);
    sue.add_rule(
        "gold-tickets",
        &["--when-kind", "ticket", "--when-tier", "gold"],
        "owner",
    );
    hooked.sync_all();

    let ticket = sue.id_of(["log", &gold, "--kind", "ticket", "Outage in EU region"]);
    sue.id_of(["log", &silver, "--kind", "ticket", "Password reset"]);
    sue.id_of(["note", "add", &gold, "Renewal is in March"]);
    sue.sync().ok();
    let body = hooked.next();
    assert_eq!(body["entry"]["id"], ticket.as_str());
    assert_eq!(body["entry"]["kind"], "ticket");
    assert_eq!(
        body["recipients"],
        json!([{ "user": "sam", "reasons": ["rule gold-tickets"] }])
    );
    hooked.assert_quiet();

    // A restarted relay reads the rules from the stored workspace document.
    hooked.restart_relay();
    let sue = &hooked.members[1];
    let again = sue.id_of(["log", &gold, "--kind", "ticket", "Outage again"]);
    sue.sync().ok();
    let body = hooked.next();
    assert_eq!(body["entry"]["id"], again.as_str());
    assert_eq!(
        body["recipients"],
        json!([{ "user": "sam", "reasons": ["rule gold-tickets"] }])
    );
}

#[test]
fn a_plain_note_and_a_note_on_a_followed_account_post_nothing() {
    let tmp = tmp();
    let hooked = Hooked::start(&tmp, [("sam", "sales"), ("mia", "marketing")]);
    let [sam, mia] = &hooked.members;
    let account = sam.add_account("Globex", &[]);
    hooked.sync_all();
    mia.json(["account", "follow", &account]);
    hooked.sync_all();

    sam.id_of(["note", "add", &account, "Met them at the fair"]);
    sam.sync().ok();
    hooked.assert_quiet();
    mia.sync().ok();
    assert_eq!(
        mia.alerts(false)[0]["reasons"],
        json!(["following"]),
        "mia's own inbox has it, by following"
    );

    // The same note with a mention is posted, naming both of mia's reasons.
    let mention = sam.id_of(["note", "add", &account, "@mia the fair went well"]);
    sam.sync().ok();
    let body = hooked.next();
    assert_eq!(body["entry"]["id"], mention.as_str());
    assert_eq!(
        body["recipients"],
        json!([{ "user": "mia", "reasons": ["mentioned", "following"] }])
    );
    hooked.assert_quiet();
}

#[test]
fn an_entry_several_replicas_bring_to_the_relay_is_posted_once() {
    let tmp = tmp();
    let hooked = Hooked::start(
        &tmp,
        [("sam", "sales"), ("mia", "marketing"), ("sue", "support")],
    );
    let [sam, mia, sue] = &hooked.members;
    let account = sam.add_account("Globex", &[]);
    hooked.sync_all();

    let note = sam.id_of(["note", "add", &account, "@sue @mia the contract is signed"]);
    // Every replica holds the entry before any brings it to the relay.
    copy_documents(sam, mia);
    copy_documents(sam, sue);
    mia.sync().ok();
    sue.sync().ok();
    sam.sync().ok();
    hooked.sync_all();

    let body = hooked.next();
    assert_eq!(body["entry"]["id"], note.as_str());
    assert_eq!(
        body["recipients"],
        json!([
            { "user": "mia", "reasons": ["mentioned"] },
            { "user": "sue", "reasons": ["mentioned"] },
        ])
    );
    hooked.assert_quiet();
}
