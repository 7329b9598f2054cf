//! The relay on a disk that fills up: a change it cannot make durable is refused, never
//! acknowledged or forwarded; what it held stays; once there is room it goes on by itself,
//! without a restart.

use rapport_client::link;
use rapport_model::{Role, Team};
use rapport_relay::{Relay, RelayConfig};
use rapport_store::faults::FaultyDisk;
use rapport_store::{RelayStore, Replica};
use tempfile::TempDir;
use tokio::time::timeout;

use crate::{RunningRelay, SYNC, WAIT, add_account, add_note, has, join, sync, timeline};

/// A relay whose store is written through `disk`.
async fn relay_on(dir: &TempDir, disk: &FaultyDisk) -> RunningRelay {
    let store = RelayStore::open_on(dir.path(), disk).unwrap();
    RunningRelay::serve(
        Relay::with_store(store, RelayConfig::default()),
        "127.0.0.1:0",
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_changes_keeps_what_it_had_and_the_relay_recovers_when_freed() {
    let data = TempDir::new().unwrap();
    let disk = FaultyDisk::new();
    let relay = relay_on(&data, &disk).await;
    let ana_token = relay.invite("Acme", "ana", Team::Support, Role::Admin);
    let bo_token = relay.invite("Acme", "bo", Team::Sales, Role::Member);
    let (ana_dir, mut ana) = join(&relay, &ana_token).await;
    let account = add_account(&mut ana, "Globex");
    add_note(&mut ana, account, "written before the disk filled", &[]);
    let ana = sync(ana).await;
    drop(ana);

    disk.fill();
    let mut ana = Replica::open(ana_dir.path()).unwrap();
    add_note(&mut ana, account, "written while the disk is full", &[]);
    let refused = timeout(WAIT, link::sync_once(ana, SYNC))
        .await
        .expect("the sync ends in time");
    let error = refused.expect_err("a change the relay cannot store is not acknowledged");
    let message = error.to_string();
    assert!(
        message.contains("storage failed while committing a change"),
        "{message}"
    );
    assert!(disk.refused() > 0, "the relay tried to write");
    let mut ana = Replica::open(ana_dir.path()).unwrap();
    assert!(
        !ana.unsynced().unwrap().is_empty(),
        "the note is still waiting to be sent"
    );
    assert!(has(
        &timeline(&mut ana, account),
        "written while the disk is full"
    ));

    // redb needs room to open its file again after a failed write, so until there is some
    // the relay refuses everyone, with a clear answer, and stores nothing.
    let bo_dir = TempDir::new().unwrap();
    let refused = timeout(WAIT, link::join(bo_dir.path(), &relay.url, &bo_token, SYNC))
        .await
        .expect("the join ends in time")
        .expect_err("a relay that cannot open its store serves no one");
    assert!(
        refused.to_string().contains("503") && refused.to_string().contains("storage"),
        "{refused}"
    );

    // Room again: the same relay, not restarted, takes the note on the member's next sync.
    disk.free();
    let ana = sync_until_accepted(ana).await;
    assert!(ana.unsynced().unwrap().is_empty());
    let (_bo_dir, mut bo) = join(&relay, &bo_token).await;
    let seen = timeline(&mut bo, account);
    assert!(has(&seen, "written before the disk filled"), "{seen:?}");
    assert!(has(&seen, "written while the disk is full"), "{seen:?}");

    // And a restart finds the store whole, with both notes.
    relay.stop().await;
    let store = RelayStore::open(data.path()).expect("the store reopens after the disk errors");
    drop(store);
    let relay = RunningRelay::start(data.path(), RelayConfig::default()).await;
    let (_fresh_dir, mut fresh) = join(&relay, &bo_token).await;
    let seen = timeline(&mut fresh, account);
    assert!(has(&seen, "written before the disk filled"), "{seen:?}");
    assert!(has(&seen, "written while the disk is full"), "{seen:?}");
    relay.stop().await;
}

/// Syncs until the relay takes the replica's changes: the first try after the disk frees may
/// still meet the store closed, until it reopens.
async fn sync_until_accepted(mut replica: Replica) -> Replica {
    let dir = replica.path().parent().unwrap().to_owned();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match timeout(WAIT, link::sync_once(replica, SYNC)).await {
            Ok(Ok((synced, _))) => return synced,
            Ok(Err(error)) if tokio::time::Instant::now() < deadline => {
                eprintln!("sync refused, trying again: {error}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                replica = Replica::open(&dir).unwrap();
            }
            other => panic!("the relay never took the change back: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_document_never_stops_a_sync_and_is_restored_from_a_members_copy() {
    let data = TempDir::new().unwrap();
    let relay = RunningRelay::start(data.path(), RelayConfig::default()).await;
    let ana_token = relay.invite("Acme", "ana", Team::Support, Role::Admin);
    let bo_token = relay.invite("Acme", "bo", Team::Sales, Role::Member);
    let (_ana_dir, mut ana) = join(&relay, &ana_token).await;
    let damaged = add_account(&mut ana, "Damaged Inc");
    let healthy = add_account(&mut ana, "Healthy Ltd");
    add_note(&mut ana, healthy, "still here", &[]);
    let ana = sync(ana).await;
    let workspace = ana.workspace_id();
    let address = relay.address.to_string();
    relay.stop().await;

    // The damaged account's snapshot loses its second half, as a bad disk or tool might leave it.
    let store = RelayStore::open(data.path()).unwrap();
    let saved = store.saved(workspace, damaged).unwrap().unwrap();
    let cut = saved.data[..saved.data.len() / 2].to_vec();
    store
        .import(workspace, &[(damaged, &cut, saved.heads.clone())])
        .unwrap();
    drop(store);

    let relay = RunningRelay::start_on(data.path(), RelayConfig::default(), &address).await;
    // A member joining now gets every other document; the damaged one does not load on their
    // side either, so it is left out until the relay has it whole again.
    let (bo_dir, mut bo) = join(&relay, &bo_token).await;
    assert!(has(&timeline(&mut bo, healthy), "still here"));
    assert!(bo.account(damaged).is_err());

    // The author of the damaged account syncs, edits to both accounts included: nothing stops
    // on the damaged document, and the relay takes the member's copy in its place.
    let mut ana = ana;
    add_note(&mut ana, damaged, "a note on the damaged account", &[]);
    add_note(&mut ana, healthy, "a second note", &[]);
    let mut ana = sync(ana).await;
    assert!(ana.unsynced().unwrap().is_empty());
    assert!(has(&timeline(&mut ana, healthy), "a second note"));

    let mut bo = sync(bo).await;
    assert!(has(&timeline(&mut bo, healthy), "a second note"));
    let restored = bo
        .account(damaged)
        .expect("the damaged account is whole again");
    assert_eq!(restored.name, "Damaged Inc");
    assert!(has(
        &timeline(&mut bo, damaged),
        "a note on the damaged account"
    ));
    relay.stop().await;
    drop(bo_dir);

    // The damaged bytes were kept aside, and the store reopens whole.
    let store = RelayStore::open(data.path()).unwrap();
    let kept = store.saved(workspace, damaged).unwrap().unwrap();
    assert_ne!(kept.data, cut);
    let mut heads = ana.heads(damaged).unwrap();
    heads.sort();
    assert_eq!(kept.heads, heads);
}
