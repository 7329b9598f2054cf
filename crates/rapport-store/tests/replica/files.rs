//! The replica's file: what is written stays, and files it did not make are refused and left untouched.

use std::fs;

use rapport_model::{EntryId, Team};
use rapport_store::{OpenError, RELAY_FILE, REPLICA_FILE, RelayStore, Replica};
use tempfile::TempDir;

use crate::{new_account, note, workspace};

#[test]
fn everything_written_is_there_after_reopen() {
    let dir = TempDir::new().unwrap();
    let mut replica = workspace(&dir, "ana", Team::Support);
    let id = new_account(&mut replica, "Globex");
    let notes: Vec<EntryId> = (0..80)
        .map(|i| note(&mut replica, id, &format!("note number {i}"), &[]))
        .collect();
    let before = replica.account(id).unwrap();
    drop(replica);

    let mut reopened = Replica::open(dir.path()).unwrap();
    let after = reopened.account(id).unwrap();
    assert_eq!(before, after);
    let ids: Vec<EntryId> = after.timeline.iter().map(|e| e.id).collect();
    assert_eq!(
        ids, notes,
        "80 notes, in order, across more than two compactions"
    );
    assert_eq!(reopened.accounts().unwrap()[0].entries, 80);
    assert_eq!(reopened.workspace().unwrap().accounts, 1);
}

#[test]
fn garbage_truncated_and_foreign_files_are_refused_and_left_untouched() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join(REPLICA_FILE);
    let foreign_redb = {
        let other = TempDir::new().unwrap();
        let db = redb::Database::create(other.path().join("x.redb")).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(redb::TableDefinition::<&str, u64>::new("stuff"))
            .unwrap()
            .insert("a", 1)
            .unwrap();
        txn.commit().unwrap();
        drop(db);
        fs::read(other.path().join("x.redb")).unwrap()
    };
    let healthy = {
        let good = TempDir::new().unwrap();
        drop(workspace(&good, "ana", Team::Sales));
        fs::read(good.path().join(REPLICA_FILE)).unwrap()
    };
    let cases: [(&str, Vec<u8>); 4] = [
        (
            "garbage",
            b"this is not a database at all, just text".repeat(100),
        ),
        ("truncated", healthy[..5].to_vec()),
        ("foreign redb", foreign_redb),
        ("empty", Vec::new()),
    ];
    for (what, bytes) in cases {
        fs::write(&path, &bytes).unwrap();
        let err = Replica::open(dir.path()).unwrap_err();
        assert!(
            matches!(err, OpenError::NotAReplica { .. }),
            "{what}: {err}"
        );
        assert!(
            err.to_string().contains(REPLICA_FILE),
            "{what}: the error names the file: {err}"
        );
        assert!(
            fs::read(&path).unwrap() == bytes,
            "{what}: the file was changed"
        );
    }
}

#[test]
fn missing_existing_and_busy_replicas_get_clear_errors() {
    let dir = TempDir::new().unwrap();
    assert!(matches!(
        Replica::open(dir.path()),
        Err(OpenError::Missing { .. })
    ));
    let replica = workspace(&dir, "ana", Team::Sales);
    let again = Replica::create_workspace(dir.path(), "Other", "bo".parse().unwrap(), Team::Sales);
    assert!(matches!(again, Err(OpenError::AlreadyExists { .. })));
    assert!(matches!(
        Replica::open(dir.path()),
        Err(OpenError::InUse { .. })
    ));
    drop(replica);
    assert!(Replica::open(dir.path()).is_ok());
}

#[test]
fn an_unwritable_directory_is_an_error_not_a_panic() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("file");
    fs::write(&file, b"x").unwrap();
    let err =
        Replica::create_workspace(&file.join("sub"), "W", "ana".parse().unwrap(), Team::Sales)
            .unwrap_err();
    assert!(matches!(err, OpenError::Directory { .. }), "{err}");
}

#[test]
fn damaged_pages_give_errors_never_a_panic_and_the_file_is_left_as_it_was() {
    use rand::{Rng, SeedableRng};
    let healthy = TempDir::new().unwrap();
    let mut replica = workspace(&healthy, "ana", Team::Support);
    let ids: Vec<_> = (0..30)
        .map(|i| new_account(&mut replica, &format!("Account {i}")))
        .collect();
    note(
        &mut replica,
        ids[3],
        "customer asked about pricing",
        &["sales"],
    );
    drop(replica);
    let bytes = fs::read(healthy.path().join(REPLICA_FILE)).unwrap();
    let seed: u64 = rand::random();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    for round in 0..20 {
        let mut damaged = bytes.clone();
        for _ in 0..rng.random_range(1..200) {
            let at = rng.random_range(4096..damaged.len());
            damaged[at] ^= rng.random_range(1..=255u8);
        }
        let dir = TempDir::new().unwrap();
        let path = dir.path().join(REPLICA_FILE);
        fs::write(&path, &damaged).unwrap();
        // Opening or reading may fail, with an error; it must not panic, whatever was damaged,
        // and a file that is refused is left as it was.
        match Replica::open(dir.path()) {
            Err(err) => {
                assert!(
                    err.to_string().contains(REPLICA_FILE),
                    "seed {seed} round {round}: {err}"
                );
                assert!(
                    fs::read(&path).unwrap() == damaged,
                    "seed {seed} round {round}: a refused file was changed"
                );
            }
            Ok(mut replica) => {
                let _ = replica.accounts();
                let _ = replica.search("pricing");
                let _ = replica.alerts(true);
                for id in &ids {
                    let _ = replica.account(*id);
                }
            }
        }
    }
}

#[test]
fn a_relay_store_refuses_a_file_it_did_not_make() {
    let foreign = TempDir::new().unwrap();
    let db = redb::Database::create(foreign.path().join("x.redb")).unwrap();
    let txn = db.begin_write().unwrap();
    txn.open_table(redb::TableDefinition::<&str, u64>::new("stuff"))
        .unwrap()
        .insert("a", 1)
        .unwrap();
    txn.commit().unwrap();
    drop(db);
    let replica = TempDir::new().unwrap();
    drop(workspace(&replica, "ana", Team::Sales));
    let cases = [
        ("foreign redb", foreign.path().join("x.redb")),
        ("a replica", replica.path().join(REPLICA_FILE)),
    ];
    for (what, source) in cases {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join(RELAY_FILE);
        fs::copy(&source, &path).unwrap();
        let err = RelayStore::open(dir.path()).unwrap_err();
        assert!(
            matches!(err, OpenError::NotAReplica { .. }),
            "{what}: {err}"
        );
        assert!(
            fs::read(&path).unwrap() == fs::read(&source).unwrap(),
            "{what}: the file was changed"
        );
    }
    let fresh = TempDir::new().unwrap();
    drop(RelayStore::open(fresh.path()).unwrap());
    RelayStore::open(fresh.path()).expect("a relay store reopens");
}
