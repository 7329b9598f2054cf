//! The real `rapport` binary syncing through the real relay: each test runs `relay serve` on
//! port 0 over a data directory of its own, members join with their own tokens, and every
//! wait on another process has a deadline (a process still running when its test ends is
//! killed).

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use rapport_model::account::NewAccount;
use rapport_store::Replica;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::processes::{PATIENCE, RelayServer, Rng, SYNC_TIMEOUT};
use crate::support::{Data, array, ids, str_at, tmp};

/// One member of the relay's workspace: their replica and the token they joined with.
struct Member {
    data: Data,
    token: String,
}

/// Invites each `(user, team, role)` to workspace "Acme" while the relay is stopped, starts the
/// relay, and joins each member in a directory named after them. Returns the relay's data
/// directory, the running relay and the members.
fn relay_with<const N: usize>(
    tmp: &TempDir,
    members: [(&str, &str, &str); N],
) -> (Data, RelayServer, [Member; N]) {
    let store = Data::at(tmp.path().join("relay"));
    let tokens = members.map(|(user, team, role)| (user, store.invite(user, team, role)));
    let relay = RelayServer::start(&store);
    let members = tokens.map(|(user, token)| Member {
        data: Data::join_relay(tmp.path().join(user), &relay.url, &token),
        token,
    });
    (store, relay, members)
}

/// The ids of an account's timeline entries, sorted.
fn timeline_ids(account: &Value) -> Vec<String> {
    let mut ids = ids(&account["timeline"]);
    ids.sort_unstable();
    ids
}

/// `ids`, sorted.
fn sorted(ids: &[&str]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(|&id| id.to_owned()).collect();
    ids.sort_unstable();
    ids
}

#[test]
fn three_teams_offline_notes_an_alert_and_a_phone_conflict_converge_through_the_relay() {
    let tmp = tmp();
    let (_store, _relay, [sam, mia, sue]) = relay_with(
        &tmp,
        [
            ("sam", "sales", "member"),
            ("mia", "marketing", "member"),
            ("sue", "support", "member"),
        ],
    );
    let account = sam.data.add_account("Globex", &["--domain", "globex.com"]);
    sam.data.sync().ok();
    mia.data.sync().ok();
    sue.data.sync().ok();
    let created = sam.data.show(&account);
    assert_eq!(mia.data.show(&account), created);
    assert_eq!(sue.data.show(&account), created);

    // Offline: the relay keeps running, but nobody syncs.
    let from_sam = sam
        .data
        .id_of(["note", "add", &account, "Renewal call booked for March"]);
    let from_mia = mia
        .data
        .id_of(["note", "add", &account, "Invited to the spring webinar"]);
    let alert_text = "Customer asked about the enterprise plan";
    let from_sue = sue
        .data
        .id_of(["note", "add", &account, alert_text, "--alert", "sales"]);
    sam.data
        .run(["account", "set", &account, "phone=+1-555-0100"])
        .ok();
    sue.data
        .run(["account", "set", &account, "phone=+1-555-0199"])
        .ok();

    for member in [&sam, &mia, &sue, &sam, &mia] {
        member.data.sync().ok();
    }

    let shown = sam.data.show(&account);
    assert_eq!(
        mia.data.show(&account),
        shown,
        "marketing sees what sales sees"
    );
    assert_eq!(
        sue.data.show(&account),
        shown,
        "support sees what sales sees"
    );
    assert_eq!(mia.data.list(), sam.data.list());
    assert_eq!(sue.data.list(), sam.data.list());
    let workspace = sam.data.json(["workspace", "show"]);
    assert_eq!(mia.data.json(["workspace", "show"]), workspace);
    assert_eq!(sue.data.json(["workspace", "show"]), workspace);
    let mut members: Vec<(&str, &str)> = array(&workspace["members"])
        .iter()
        .map(|m| (str_at(m, "user"), str_at(m, "team")))
        .collect();
    members.sort_unstable();
    assert_eq!(
        members,
        [("mia", "marketing"), ("sam", "sales"), ("sue", "support")]
    );
    assert_eq!(
        timeline_ids(&shown),
        sorted(&[&from_sam, &from_mia, &from_sue]),
        "every team's offline note survives"
    );
    let winner = str_at(&shown, "phone");
    let loser = match winner {
        "+1-555-0100" => "+1-555-0199",
        "+1-555-0199" => "+1-555-0100",
        other => panic!("the phone should be one of the two set, got {other}"),
    };
    assert_eq!(
        shown["conflicts"],
        json!([{ "field": "phone", "value": winner, "others": [loser] }])
    );

    let inbox = sam.data.alerts(false);
    assert_eq!(
        ids(&inbox),
        [from_sue.as_str()],
        "sales gets support's alert"
    );
    let alert = &inbox[0];
    assert_eq!(alert["author"], "sue");
    assert_eq!(alert["team"], "support");
    assert_eq!(alert["account"], account.as_str());
    assert_eq!(alert["alert"], json!(["sales"]));
    assert_eq!(alert["text"], alert_text);
    assert_eq!(
        mia.data.alerts(true),
        json!([]),
        "the alert was not for marketing"
    );
    assert_eq!(sue.data.alerts(true), json!([]), "the author gets no alert");
}

/// Adds `count` accounts to `data`'s replica through the store (quicker than `count` runs of
/// the binary), as a member would while offline; returns their ids.
fn add_accounts_offline(data: &Data, count: usize) -> Vec<String> {
    let mut replica = Replica::open(&data.dir).expect("the replica opens");
    let edit = replica.edit_now();
    (0..count)
        .map(|i| {
            let new = NewAccount {
                name: format!("Offline {i:03}"),
                domain: Some(format!("offline{i:03}.example")),
                tier: None,
                stage: None,
                owner: None,
            };
            replica
                .create_account(&edit, &new)
                .expect("the account is created")
                .to_string()
        })
        .collect()
}

#[test]
fn a_relay_killed_mid_sync_restarts_and_every_replica_converges_with_nothing_lost() {
    let mut rng = Rng::from_env_or_clock();
    let tmp = tmp();
    let (store, relay, [sam, mia]) = relay_with(
        &tmp,
        [("sam", "sales", "member"), ("mia", "marketing", "member")],
    );
    let shared = sam.data.add_account("Globex", &[]);
    sam.data.sync().ok();
    mia.data.sync().ok();

    // Offline: sam adds many accounts, mia a few, and both note the shared one.
    let from_sam = add_accounts_offline(&sam.data, 200);
    let sam_note = sam.data.id_of(["note", "add", &shared, "Quote sent"]);
    let from_mia: Vec<String> = (0..3)
        .map(|i| mia.data.add_account(&format!("Campaign lead {i}"), &[]))
        .collect();
    let mia_note = mia
        .data
        .id_of(["note", "add", &shared, "Opened the newsletter"]);
    let sampled: Vec<&String> = (0..5)
        .map(|_| &from_sam[rng.below(from_sam.len() as u64) as usize])
        .collect();
    let shown_before: Vec<Value> = sampled.iter().map(|id| sam.data.show(id)).collect();
    let sam_list = sam.data.list();

    let connections = relay.connections();
    let mut syncing = sam.data.spawn_sync(&["--timeout", SYNC_TIMEOUT]);
    relay.wait_for_connections(connections + 1);
    let delay = rng.below(500);
    thread::sleep(Duration::from_millis(delay));
    let mid_sync = syncing.running();
    println!(
        "SIGKILL to the relay {delay} ms after sam connected; sam's sync was {}",
        if mid_sync { "still running" } else { "done" }
    );
    relay.crash();
    let run = syncing.finish(PATIENCE);
    if run.code != Some(0) {
        run.fails_with(&["relay"]);
    }
    assert_eq!(
        sam.data.list(),
        sam_list,
        "a broken sync loses nothing here"
    );
    // The crashed relay left its admin file behind; inviting works on the store directly.
    let sue_token = store.invite("sue", "support", "member");

    let relay = RelayServer::start(&store);
    sam.data.sync_with(&relay.url, &sam.token).ok();
    mia.data.sync_with(&relay.url, &mia.token).ok();
    sam.data.sync().ok();
    // A member who joins now gets everything from the relay's store alone.
    let sue = Data::join_relay(tmp.path().join("sue"), &relay.url, &sue_token);

    let list = sam.data.list();
    assert_eq!(mia.data.list(), list);
    assert_eq!(sue.list(), list);
    let expected: BTreeSet<String> = from_sam
        .iter()
        .chain(&from_mia)
        .chain([&shared])
        .cloned()
        .collect();
    let listed: BTreeSet<String> = ids(&list).into_iter().collect();
    assert_eq!(listed, expected, "every account of every replica is there");
    for (id, before) in sampled.iter().zip(&shown_before) {
        for replica in [&sam.data, &mia.data, &sue] {
            assert_eq!(
                &replica.show(id),
                before,
                "account {id} on {:?}",
                replica.dir
            );
        }
    }
    for id in from_mia.iter().chain([&shared]) {
        let shown = sam.data.show(id);
        assert_eq!(mia.data.show(id), shown);
        assert_eq!(sue.show(id), shown);
    }
    assert_eq!(
        timeline_ids(&sam.data.show(&shared)),
        sorted(&[&sam_note, &mia_note]),
        "both offline notes on the shared account survive"
    );
}

#[test]
fn sync_with_an_unreachable_relay_fails_on_one_line_naming_it_and_changes_nothing() {
    let tmp = tmp();
    let (_store, relay, [sam]) = relay_with(&tmp, [("sam", "sales", "member")]);
    let account = sam.data.add_account("Globex", &[]);
    sam.data
        .id_of(["note", "add", &account, "Synced before the outage"]);
    sam.data.sync().ok();
    let url = relay.url.clone();
    relay.terminate(PATIENCE).ok();

    sam.data.add_account("Initech", &[]);
    sam.data
        .id_of(["note", "add", &account, "Written during the outage"]);
    let before = sam.data.snapshot();
    sam.data
        .sync()
        .fails_with(&["cannot reach the relay at", &url]);
    assert_eq!(sam.data.snapshot(), before);
}

#[test]
fn a_join_with_a_wrong_token_fails_and_leaves_no_replica_behind() {
    let tmp = tmp();
    let (_store, relay, _members) = relay_with(&tmp, [("sam", "sales", "member")]);
    let stranger = Data::at(tmp.path().join("stranger"));
    for token in ["rpt_forged_token", "not-a-token-at-all"] {
        stranger
            .run(["join", &relay.url, "--token", token])
            .fails_with(&["refused the token", &relay.url]);
        assert!(!stranger.replica_file().exists(), "{token}");
        stranger
            .run(["account", "list"])
            .fails_with(&["no replica in", "rapport init"]);
    }
}

#[test]
fn a_refused_join_into_a_directory_with_a_replica_leaves_that_replica_alone() {
    let tmp = tmp();
    let (_store, relay, [sam]) = relay_with(&tmp, [("sam", "sales", "member")]);
    let account = sam.data.add_account("Globex", &[]);
    sam.data
        .id_of(["note", "add", &account, "Only on this laptop"]);
    let before = sam.data.snapshot();

    // Refused before a word goes to the relay, whatever the token.
    sam.data
        .run(["join", &relay.url, "--token", "rpt_forged_token"])
        .fails_with(&["a replica already exists in"]);
    assert_eq!(sam.data.snapshot(), before);
    sam.data
        .run(["join", &relay.url, "--token", &sam.token])
        .fails_with(&["a replica already exists in"]);
    assert_eq!(sam.data.snapshot(), before);
}

#[test]
fn a_join_of_a_large_workspace_leaves_some_indexing_and_the_next_command_does_it_first() {
    let tmp = tmp();
    let (_store, relay, [sam, sue]) = relay_with(
        &tmp,
        [("sam", "sales", "member"), ("sue", "support", "member")],
    );
    let accounts = add_accounts_offline(&sue.data, 400);
    let text = "Renewal at risk, call them";
    let note = sue
        .data
        .id_of(["note", "add", &accounts[399], text, "--alert", "sales"]);
    sue.data.sync().ok();

    // Sam's second laptop: a replica of its own, joined with the same token.
    let laptop = Data::at(tmp.path().join("sam-laptop"));
    let joined = laptop
        .run_json(["join", &relay.url, "--token", &sam.token])
        .ok()
        .json();
    assert_eq!(joined["documents_received"], 401, "{joined}");
    let left = joined["unindexed"].as_u64().expect("how many are left");
    assert!(left > 0 && left < 401, "{joined}");

    // Any command indexes what is left first (a pipe, so no progress bar).
    let listed = laptop.run(["account", "list", "--json"]).ok();
    assert_eq!(listed.stderr, "", "nothing said through a pipe");
    assert_eq!(array(&listed.json()).len(), 400);
    assert_eq!(ids(&laptop.alerts(false)), [note.as_str()]);
    sam.data.sync().ok();
    assert_eq!(
        laptop.list(),
        sam.data.list(),
        "the same list as a replica that synced them whole"
    );

    // On a terminal, the indexing draws a bar and clears it.
    let other = Data::at(tmp.path().join("sam-desktop"));
    other.run(["join", &relay.url, "--token", &sam.token]).ok();
    let (succeeded, screen) = other.on_terminal(&[Path::new("alerts")]);
    assert!(succeeded, "{screen}");
    assert!(screen.contains("\rindexing [##"), "{screen:?}");
    assert!(screen.contains("\r\x1b[2K"), "{screen:?}");
    assert!(screen.contains(text), "{screen:?}");
}

#[test]
fn sync_watch_prints_an_alert_line_when_a_note_for_its_team_arrives() {
    let tmp = tmp();
    let (_store, relay, [sam, sue]) = relay_with(
        &tmp,
        [("sam", "sales", "member"), ("sue", "support", "member")],
    );
    let account = sue.data.add_account("Globex", &[]);
    sue.data.sync().ok();
    sam.data.sync().ok();

    let watch = sam.data.spawn_sync(&["--watch"]);
    watch.wait_for_stderr(&format!("{}: connected", relay.url));
    sue.data.id_of([
        "note",
        "add",
        &account,
        "Webinar follow-up",
        "--alert",
        "marketing",
    ]);
    sue.data.sync().ok();
    let text = "Customer asked about the enterprise plan";
    let note = sue
        .data
        .id_of(["note", "add", &account, text, "--alert", "sales"]);
    sue.data.sync().ok();

    assert_eq!(
        watch.next_line(PATIENCE),
        format!("alert {note}: sue (support) on {account}: {text}"),
        "the first line is the alert for sales, not the one for marketing"
    );
    watch.signal("TERM");
    let run = watch.finish(PATIENCE).ok();
    assert_eq!(run.stdout, "", "one alert, one line");
    assert_eq!(ids(&sam.data.alerts(false)), [note.as_str()]);
}

#[test]
fn an_invitation_made_while_the_relay_runs_works_and_revoking_it_refuses_the_next_sync() {
    let tmp = tmp();
    let (store, mut relay, [sam]) = relay_with(&tmp, [("sam", "sales", "member")]);
    let account = sam.data.add_account("Globex", &[]);
    sam.data.sync().ok();

    let token = store.invite("mia", "marketing", "member");
    relay.process().wait_for_stderr("admin request");
    let mia = Data::join_relay(tmp.path().join("mia"), &relay.url, &token);
    assert_eq!(mia.list(), sam.data.list());
    let note = mia.id_of(["note", "add", &account, "Added to the spring campaign"]);
    mia.sync().ok();
    sam.data.sync().ok();
    assert_eq!(timeline_ids(&sam.data.show(&account)), [note]);

    let watch = mia.spawn_sync(&["--watch"]);
    watch.wait_for_stderr(&format!("{}: connected", relay.url));
    let revoked = store
        .run(["relay", "revoke", "--workspace", "Acme", "--user", "mia"])
        .ok();
    assert_eq!(revoked.stdout, "revoked 1 token(s) of mia\n");
    let refused = format!(
        "error: the relay at {} refused the token (invalid or revoked)",
        relay.url
    );
    let ended = watch.finish(PATIENCE);
    assert_eq!(ended.code, Some(1), "a revoked watch stops: {ended:?}");
    assert_eq!(ended.stderr.lines().last(), Some(refused.as_str()));
    mia.sync().fails_with(&["refused the token", &relay.url]);
    sam.data.sync().ok();
}

#[test]
fn a_viewer_cannot_write_and_still_receives_members_notes() {
    let tmp = tmp();
    let (_store, _relay, [sam, vic]) = relay_with(
        &tmp,
        [("sam", "sales", "member"), ("vic", "support", "viewer")],
    );
    let account = sam.data.add_account("Globex", &[]);
    sam.data.sync().ok();
    vic.data.sync().ok();

    // The relay would refuse a viewer's changes (the relay tests forge some): the replica
    // refuses them first, so nothing waits for a sync that can never happen.
    vic.data
        .run(["note", "add", &account, "A viewer's opinion"])
        .fails_with(&["vic", "viewer"]);
    vic.data
        .run(["account", "add", "Viewer's own account"])
        .fails_with(&["viewer"]);
    assert_eq!(ids(&vic.data.list()), [account.as_str()]);
    assert_eq!(
        array(&vic.data.show(&account)["timeline"]),
        &Vec::<Value>::new()
    );

    let from_sam = sam
        .data
        .id_of(["note", "add", &account, "Renewal call booked"]);
    sam.data.sync().ok();
    vic.data.sync().ok();
    assert_eq!(
        timeline_ids(&vic.data.show(&account)),
        [from_sam.as_str()],
        "the viewer gets the member's note"
    );
    assert_eq!(timeline_ids(&sam.data.show(&account)), [from_sam]);
}

#[test]
fn sigterm_stops_the_relay_with_status_zero_within_seconds_even_with_a_watcher_connected() {
    let tmp = tmp();
    let (_store, relay, [sam]) = relay_with(&tmp, [("sam", "sales", "member")]);
    let connections = relay.connections();
    let mut watch = sam.data.spawn_sync(&["--watch"]);
    relay.wait_for_connections(connections + 1);
    watch.wait_for_stderr(&format!("{}: connected", relay.url));

    let url = relay.url.clone();
    let started = Instant::now();
    let stopped = relay.terminate(Duration::from_secs(10));
    println!("the relay stopped {:?} after SIGTERM", started.elapsed());
    assert_eq!(stopped.code, Some(0), "{stopped:?}");
    assert!(
        stopped.stderr.contains("relay stopped"),
        "{}",
        stopped.stderr
    );
    watch.wait_for_stderr(&format!("{url}: disconnected"));
    assert!(
        watch.running(),
        "the watcher outlives the relay, to reconnect"
    );
    watch.signal("TERM");
    watch.finish(PATIENCE).ok();
}

#[test]
fn a_member_over_the_relays_connection_limit_is_told_why() {
    let tmp = tmp();
    let store = Data::at(tmp.path().join("relay"));
    let token = store.invite("sam", "sales", "member");
    let relay =
        RelayServer::start_with(&store, "127.0.0.1:0", &["--max-connections-per-token", "1"]);
    let laptop = Data::join_relay(tmp.path().join("laptop"), &relay.url, &token);
    let desktop = Data::join_relay(tmp.path().join("desktop"), &relay.url, &token);
    // Two joins came and went; the watch is the third connection, and stays.
    let joined = relay.connections();
    let _watch = laptop.spawn_sync(&["--watch"]);
    relay.wait_for_connections(joined + 1);
    desktop
        .run(["sync"])
        .fails_with(&["429", "already has 1 connections open"]);
}

#[test]
fn a_relay_refuses_to_start_on_a_data_directory_it_cannot_use_and_changes_nothing() {
    let tmp = tmp();
    let file = tmp.path().join("file");
    std::fs::write(&file, b"not a directory").unwrap();
    let inside_file = file.join("relay");
    crate::support::run_with_env(
        [
            "relay".as_ref(),
            "serve".as_ref(),
            "--listen".as_ref(),
            "127.0.0.1:0".as_ref(),
            "--data".as_ref(),
            inside_file.as_os_str(),
        ],
        &[],
    )
    .fails_with(&["cannot use data directory", &inside_file.to_string_lossy()]);
    assert_eq!(std::fs::read(&file).unwrap(), b"not a directory");

    let damaged = tmp.path().join("damaged");
    std::fs::create_dir(&damaged).unwrap();
    let store = damaged.join(rapport_store::RELAY_FILE);
    std::fs::write(&store, b"redb? no: half a page of something else").unwrap();
    crate::support::run_with_env(
        [
            "relay".as_ref(),
            "serve".as_ref(),
            "--listen".as_ref(),
            "127.0.0.1:0".as_ref(),
            "--data".as_ref(),
            damaged.as_os_str(),
        ],
        &[],
    )
    .fails_with(&["not a rapport", "left untouched"]);
    assert_eq!(
        std::fs::read(&store).unwrap(),
        b"redb? no: half a page of something else"
    );
}

/// A loopback proxy to `target` that passes a client's HTTP upgrade at once and holds what it
/// sends after (its `join`) until `release` is set; `holding` says when it holds. Returns its
/// address.
fn join_holding_proxy(
    target: String,
    release: Arc<AtomicBool>,
    holding: Arc<AtomicBool>,
) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { return };
            let mut server = std::net::TcpStream::connect(&target).unwrap();
            let (mut from_server, mut to_client) =
                (server.try_clone().unwrap(), client.try_clone().unwrap());
            thread::spawn(move || {
                let _ = std::io::copy(&mut from_server, &mut to_client);
                let _ = to_client.shutdown(std::net::Shutdown::Both);
            });
            let (release, holding) = (release.clone(), holding.clone());
            thread::spawn(move || {
                let (mut seen, mut buffer, mut upgraded) = (Vec::new(), [0u8; 65536], false);
                loop {
                    let read = match client.read(&mut buffer) {
                        Ok(0) | Err(_) => break,
                        Ok(read) => read,
                    };
                    if upgraded {
                        holding.store(true, Ordering::SeqCst);
                        while !release.load(Ordering::SeqCst) {
                            thread::sleep(Duration::from_millis(10));
                        }
                    } else {
                        seen.extend_from_slice(&buffer[..read]);
                        upgraded = seen.windows(4).any(|w| w == b"\r\n\r\n");
                    }
                    if server.write_all(&buffer[..read]).is_err() {
                        break;
                    }
                }
                let _ = server.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    address
}

#[test]
fn a_note_committed_between_a_watchers_upgrade_and_its_join_reaches_it_live() {
    // The relay answers a `join` with its workspace digest; one read at the upgrade instead
    // would miss this note, and the watcher would settle without it until its next reconnect.
    let tmp = tmp();
    let (_store, relay, [sam, mia]) = relay_with(
        &tmp,
        [("sam", "sales", "member"), ("mia", "marketing", "member")],
    );
    let account = sam.data.add_account("Globex", &[]);
    sam.data.sync().ok();
    mia.data.sync().ok();

    let (release, holding) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let proxy = join_holding_proxy(relay.address().to_owned(), release.clone(), holding.clone());
    let proxy_url = format!("ws://{proxy}");
    let watch = mia
        .data
        .spawn_sync(&["--watch", "--relay", &proxy_url, "--token", &mia.token]);
    crate::processes::wait_until("the proxy holds mia's join", PATIENCE, || {
        holding.load(Ordering::SeqCst)
    });
    let text = "Written while mia joins";
    let note = sam
        .data
        .id_of(["note", "add", &account, text, "--alert", "marketing"]);
    sam.data.sync().ok();
    release.store(true, Ordering::SeqCst);
    assert_eq!(
        watch.next_line(PATIENCE),
        format!("alert {note}: sam (sales) on {account}: {text}"),
    );
    watch.signal("TERM");
    watch.finish(PATIENCE).ok();
}
