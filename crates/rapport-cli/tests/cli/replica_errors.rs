//! Refusals about the replica itself: none yet, one already there, a directory that cannot be
//! written, a damaged file, a replica another process holds, a blank workspace name.

use rapport_store::Replica;
use serde_json::json;

use crate::errors::{fixture, rejected};
use crate::support::{Data, Run, str_at, tmp};

#[test]
fn commands_without_a_replica_say_to_run_init_first() {
    let tmp = tmp();
    for dir in [tmp.path().to_owned(), tmp.path().join("not-there")] {
        let data = Data::at(&dir);
        for args in [
            &["account", "list"][..],
            &["account", "add", "Globex"],
            &["account", "show", "Globex"],
            &["note", "add", "Globex", "text"],
            &["task", "done", "01ARZ3NDEKTSV4RRFFQ69G5FAV"],
            &["alerts"],
            &["alerts", "ack", "--all"],
            &["workspace", "show"],
        ] {
            let expected = data.replica_file();
            let expected = expected.to_string_lossy();
            data.run(args)
                .fails_with(&["no replica in", &expected, "rapport init"]);
            data.run_json(args)
                .fails_with(&["no replica in", &expected, "rapport init"]);
            assert!(!data.replica_file().exists(), "{args:?} created a replica");
        }
    }
    assert!(!tmp.path().join("not-there").exists(), "no directory made");
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn init_twice_is_refused_and_keeps_the_workspace() {
    let tmp = tmp();
    let f = fixture(&tmp);
    let replica = f.data.replica_file();
    let replica = replica.to_string_lossy();
    rejected(
        &f.data,
        &[
            "init",
            "--workspace",
            "Acme",
            "--user",
            "ana",
            "--team",
            "support",
        ],
        &["a replica already exists", &replica],
    );
    rejected(
        &f.data,
        &[
            "init",
            "--workspace",
            "Other",
            "--user",
            "bo",
            "--team",
            "sales",
        ],
        &["a replica already exists", &replica],
    );
    let workspace = f.data.json(["workspace", "show"]);
    assert_eq!(workspace["name"], "Acme");
    assert_eq!(
        workspace["members"],
        json!([{ "user": "ana", "team": "support", "role": "admin" }])
    );
}

#[test]
fn an_unwritable_data_directory_is_refused() {
    let tmp = tmp();
    let file = tmp.path().join("file");
    std::fs::write(&file, b"not a directory").unwrap();
    let data = Data::at(file.join("sub"));
    let dir = data.dir.to_string_lossy().into_owned();
    for run in [
        data.run([
            "init",
            "--workspace",
            "Acme",
            "--user",
            "ana",
            "--team",
            "support",
        ]),
        data.run_json([
            "init",
            "--workspace",
            "Acme",
            "--user",
            "ana",
            "--team",
            "support",
        ]),
    ] {
        run.fails_with(&["cannot use data directory", &dir]);
    }
    let listed = data.run(["account", "list"]);
    listed.fails_with(&["no replica", &dir]);
    assert_eq!(std::fs::read(&file).unwrap(), b"not a directory");
    assert!(file.is_file());
}

#[test]
fn a_corrupt_replica_is_named_and_left_untouched() {
    let tmp = tmp();
    let mut garbage: Vec<u8> = (0..20_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut redb_header = b"redb\x1a\x0a\xa9\x0d\x0a".to_vec();
    redb_header.extend_from_slice(&garbage[..4096]);
    garbage[0] = b'X';
    for (name, bytes) in [
        ("garbage", garbage.clone()),
        ("redb-header", redb_header),
        ("empty", Vec::new()),
        ("short", b"hello".to_vec()),
    ] {
        let data = Data::at(tmp.path().join(name));
        std::fs::create_dir_all(&data.dir).unwrap();
        std::fs::write(data.replica_file(), &bytes).unwrap();
        let file = data.replica_file();
        let file = file.to_string_lossy();
        for args in [
            &["account", "list"][..],
            &["account", "add", "Globex"],
            &["account", "show", "Globex"],
            &["note", "add", "Globex", "text"],
            &["alerts"],
            &["alerts", "ack", "--all"],
            &["workspace", "show"],
        ] {
            let run: Run = data.run_json(args);
            run.fails_with(&[&file, "is not a rapport replica"]);
            data.run(args)
                .fails_with(&[&file, "is not a rapport replica"]);
            assert_eq!(
                std::fs::read(data.replica_file()).unwrap(),
                bytes,
                "{name}: rapport {args:?} changed the file"
            );
        }
        data.run([
            "init",
            "--workspace",
            "Acme",
            "--user",
            "ana",
            "--team",
            "support",
        ])
        .fails_with(&[&file, "already exists"]);
        assert_eq!(std::fs::read(data.replica_file()).unwrap(), bytes, "{name}");
        assert_eq!(std::fs::read_dir(&data.dir).unwrap().count(), 1, "{name}");
    }
}

#[test]
fn a_replica_held_by_another_process_is_refused() {
    let tmp = tmp();
    let f = fixture(&tmp);
    let before = f.data.snapshot();
    let file = f.data.replica_file();
    let file = file.to_string_lossy();
    {
        let _held = Replica::open(&f.data.dir).unwrap();
        for args in [
            &["account", "list"][..],
            &["account", "set", &f.account, "phone=1"],
            &["note", "add", &f.account, "text"],
        ] {
            f.data
                .run(args)
                .fails_with(&[&file, "in use by another rapport process"]);
        }
    }
    assert_eq!(f.data.snapshot(), before);
    assert_eq!(str_at(&f.data.show(&f.account), "phone"), "+1-555-0100");
}

/// "Errors go to stderr as one line" (README): that holds for values clap parses too.
#[test]
fn usage_errors_are_one_line() {
    let tmp = tmp();
    let f = fixture(&tmp);
    for args in [
        &["account", "add", "Initech", "--stage", "vip"][..],
        &["note", "add", &f.account, "text", "--alert", "hr"],
        &["log", &f.account, "--kind", "fax", "text"],
    ] {
        f.data.run(args).fails_with(&["invalid"]);
    }
}

/// Every other name (account, contact, deal, task) must not be blank; a workspace's neither.
#[test]
fn init_refuses_a_blank_workspace_name() {
    let tmp = tmp();
    let data = Data::at(tmp.path());
    data.run([
        "init",
        "--workspace",
        "  ",
        "--user",
        "ana",
        "--team",
        "support",
    ])
    .fails_with(&["workspace name must not be empty"]);
    assert!(!data.replica_file().exists());
}
