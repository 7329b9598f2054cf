//! `duplicates` and `account merge`: likely duplicates found with their reasons, merges that
//! lose nothing, and merges that converge on every replica through the real relay, whatever
//! was written offline meanwhile and whichever way two replicas merged at once.

use rapport_model::Team;
use serde_json::{Value, json};

use crate::processes::{PATIENCE, relay_with, sync_all, wait_until};
use crate::support::{Data, array, ids, join, str_at, tmp};

/// The pairs of `duplicates --json` of one kind, as sorted pairs of names, with their reasons.
pub(crate) fn pairs(found: &Value, kind: &str) -> Vec<(String, String, Value)> {
    let mut pairs: Vec<(String, String, Value)> = array(&found[kind])
        .iter()
        .map(|pair| {
            let mut names = [
                str_at(&pair["a"], "name").to_owned(),
                str_at(&pair["b"], "name").to_owned(),
            ];
            names.sort();
            let [a, b] = names;
            (a, b, pair["reasons"].clone())
        })
        .collect();
    pairs.sort_by(|x, y| (&x.0, &x.1).cmp(&(&y.0, &y.1)));
    pairs
}

fn sorted_ids(values: &Value) -> Vec<String> {
    let mut ids = ids(values);
    ids.sort_unstable();
    ids
}

#[test]
fn duplicates_pairs_same_domains_similar_names_and_same_emails_but_not_unrelated_records() {
    let tmp = tmp();
    let ana = Data::init(tmp.path().join("ana"), "ana", "sales");
    let acme = ana.add_account("Acme", &["--domain", "acme.com"]);
    let acme_web = ana.add_account("Acme Holdings", &["--domain", "https://www.ACME.com/about"]);
    ana.add_account("ACME, Inc.", &[]);
    let globex = ana.add_account("Globex Corporation", &[]);
    ana.add_account("Glowbex Corp", &[]);
    let initech = ana.add_account("Initech", &["--domain", "initech.com"]);
    ana.add_account("Umbrella", &["--domain", "umbrella.org"]);
    let hank = ["--name", "Hank Scorpio", "--email", "hank@globex.com"];
    ana.id_of([&["contact", "add", &globex][..], &hank].concat());
    ana.id_of([
        "contact",
        "add",
        &initech,
        "--name",
        "H. Scorpio",
        "--email",
        "HANK@Globex.com",
    ]);
    ana.id_of(["contact", "add", &acme, "--name", "Dana Lee"]);
    ana.id_of([
        "contact",
        "add",
        &acme,
        "--name",
        "dana lee",
        "--email",
        "dana@acme.com",
    ]);
    ana.id_of(["contact", "add", &acme_web, "--name", "Dana Lee"]);
    ana.id_of([
        "contact",
        "add",
        &initech,
        "--name",
        "Sam Roe",
        "--email",
        "sam@initech.com",
    ]);

    let found = ana.json(["duplicates"]);
    assert_eq!(
        pairs(&found, "accounts"),
        [
            (
                "ACME, Inc.".into(),
                "Acme".into(),
                json!([{ "kind": "same_name", "name": "acme" }])
            ),
            (
                "Acme".into(),
                "Acme Holdings".into(),
                json!([{ "kind": "same_domain", "domain": "acme.com" }])
            ),
            (
                "Globex Corporation".into(),
                "Glowbex Corp".into(),
                json!([{ "kind": "similar_name", "similarity": 0.97 }])
            ),
        ],
        "{found:#}"
    );
    let contacts = pairs(&found, "contacts");
    assert_eq!(contacts.len(), 2, "{found:#}");
    assert_eq!(
        (contacts[0].0.as_str(), contacts[0].1.as_str()),
        ("Dana Lee", "dana lee"),
        "the same name within one account, not across accounts"
    );
    assert_eq!(
        (contacts[1].0.as_str(), contacts[1].2.clone()),
        (
            "H. Scorpio",
            json!([{ "kind": "same_email", "email": "hank@globex.com" }])
        )
    );

    let text = ana.run(["duplicates"]).ok().stdout;
    assert!(text.contains("same domain acme.com"), "{text}");
    assert!(text.contains("same email hank@globex.com"), "{text}");
    assert!(!text.contains("Umbrella"), "{text}");
}

#[test]
fn merging_keeps_every_entry_contact_deal_task_field_and_acknowledgement() {
    let tmp = tmp();
    let ana = Data::init(tmp.path().join("ana"), "ana", "support");
    let keep = ana.add_account("Acme", &["--domain", "acme.com"]);
    let other = ana.add_account("ACME Inc", &["--domain", "www.acme.com"]);
    let kept_note = ana.id_of(["note", "add", &keep, "Kept account's note"]);
    let alert = ana.id_of(["note", "add", &other, "Wants a quote", "--alert", "sales"]);
    let logged = ana.id_of(["log", &other, "--kind", "call", "Intro call"]);
    let contact = ana.id_of([
        "contact",
        "add",
        &other,
        "--name",
        "Hank",
        "--email",
        "h@acme.com",
    ]);
    let deal = ana.id_of([
        "deal", "add", &other, "--title", "Pilot", "--amount", "1200",
    ]);
    let task = ana.id_of(["task", "add", &other, "Send the contract"]);
    ana.run([
        "account",
        "set",
        &other,
        "phone=+1-555-0100",
        "tags=vip",
        "custom.region=emea",
    ])
    .ok();
    let bo = join(&ana, &tmp.path().join("bo"), "bo", Team::Sales);
    bo.run(["alerts", "ack", &alert]).ok();
    let before = bo.show(&other);

    let merged = bo.json(["account", "merge", &other, "--into", &keep]);
    assert_eq!(
        merged,
        json!({ "merged": other, "into": keep, "copied": 6 })
    );

    let account = bo.show(&keep);
    assert_eq!(sorted_ids(&account["timeline"]), {
        let mut all = vec![kept_note.clone(), alert.clone(), logged.clone()];
        all.sort_unstable();
        all
    });
    for id in [&alert, &logged] {
        let copied = array(&account["timeline"])
            .iter()
            .find(|e| e["id"] == id.as_str());
        let original = array(&before["timeline"])
            .iter()
            .find(|e| e["id"] == id.as_str());
        assert_eq!(copied, original, "entry {id} is copied as it was");
    }
    assert_eq!(account["contacts"], before["contacts"]);
    assert_eq!(ids(&account["contacts"]), [contact]);
    assert_eq!(ids(&account["deals"]), [deal.as_str()]);
    assert_eq!(ids(&account["tasks"]), [task]);
    assert_eq!(
        account["name"], "Acme",
        "the kept account's own fields stay"
    );
    assert_eq!(account["domain"], "acme.com");
    assert_eq!(
        account["phone"], "+1-555-0100",
        "fields it lacked are copied"
    );
    assert_eq!(account["tags"], json!(["vip"]));
    assert_eq!(account["custom"], json!({ "region": "emea" }));

    // The merged account shows as the kept one, everywhere.
    assert_eq!(bo.show(&other), account);
    let shown = bo.run(["account", "show", &other]).ok();
    assert!(
        shown
            .stderr
            .contains(&format!("{other} was merged into {keep}")),
        "{shown:?}"
    );
    assert_eq!(bo.account_ids(), [keep.as_str()]);
    let found = bo.json(["account", "list", "--query", "intro call"]);
    assert_eq!(ids(&found), [keep.as_str()]);
    let inbox = bo.alerts(true);
    assert_eq!(ids(&inbox), [alert.as_str()]);
    assert_eq!(inbox[0]["account"], keep.as_str());
    assert_eq!(
        inbox[0]["acknowledged"], true,
        "the acknowledgement came along"
    );
    assert_eq!(
        bo.json(["duplicates"]),
        json!({ "accounts": [], "contacts": [] })
    );

    // Items keep their ids, so commands that name them still work; a note for the merged
    // account goes to the kept one.
    bo.run(["deal", "move", &deal, "won"]).ok();
    let late = bo.id_of(["note", "add", &other, "Written to the old name"]);
    let account = bo.show(&keep);
    assert_eq!(account["deals"][0]["stage"], "won");
    assert!(ids(&account["timeline"]).contains(&late));
}

#[test]
fn a_note_written_offline_on_the_merged_account_reaches_the_kept_one_on_every_replica() {
    let tmp = tmp();
    let (_relay, [sam, mia, sue]) = relay_with(
        &tmp,
        [("sam", "sales"), ("mia", "marketing"), ("sue", "support")],
    );
    let keep = sam.add_account("Acme", &["--domain", "acme.com"]);
    let other = sam.add_account("Acme Ltd", &[]);
    // When merged, the account holds nothing the kept one lacks: the merge changes it alone.
    let first = sam.id_of(["note", "add", &keep, "Before the merge"]);
    sync_all(&[&sam, &mia, &sue]);
    assert_eq!(mia.account_ids().len(), 2);

    // mia is offline: she writes on the account sam is about to merge away.
    let offline = mia.id_of(["note", "add", &other, "Written offline", "--alert", "sales"]);
    let contact = mia.id_of([
        "contact",
        "add",
        &other,
        "--name",
        "Olga",
        "--email",
        "o@acme.com",
    ]);
    sam.run(["account", "merge", &other, "--into", &keep]).ok();
    sam.sync().ok();
    sue.sync().ok();
    assert_eq!(sue.account_ids(), [keep.as_str()]);

    // One sync of mia sends her note and brings her the merge: her replica copies the note
    // to the kept account, as every replica does that gets both.
    mia.sync().ok();
    let on_mia = mia.show(&keep);
    assert!(ids(&on_mia["timeline"]).contains(&offline), "{on_mia:#}");
    sam.sync().ok();
    sue.sync().ok();
    for member in [&sam, &mia, &sue] {
        let account = member.show(&keep);
        assert_eq!(account, on_mia, "every replica shows the same account");
        assert_eq!(member.show(&other), on_mia);
        assert_eq!(member.account_ids(), [keep.as_str()]);
    }
    let timeline = sorted_ids(&on_mia["timeline"]);
    let mut expected = vec![first, offline.clone()];
    expected.sort_unstable();
    assert_eq!(timeline, expected);
    assert_eq!(ids(&on_mia["contacts"]), [contact]);
    let alerts = sam.alerts(false);
    assert_eq!(ids(&alerts), [offline]);
    assert_eq!(alerts[0]["account"], keep.as_str());
}

#[test]
fn a_note_sent_by_a_live_replica_after_the_merge_lands_on_the_kept_account() {
    let tmp = tmp();
    let (relay, [sam, mia]) = relay_with(&tmp, [("sam", "sales"), ("mia", "marketing")]);
    let keep = sam.add_account("Acme", &[]);
    let other = sam.add_account("Acme Ltd", &[]);
    sync_all(&[&sam, &mia]);
    let offline = mia.id_of(["note", "add", &other, "Written before the merge arrived"]);

    let watch = mia.spawn_sync(&["--watch"]);
    watch.wait_for_stderr(&format!("{}: connected", relay.url));
    sam.run(["account", "merge", &other, "--into", &keep]).ok();
    // Her note and the merge cross: whichever replica sees both first copies the note to the
    // kept account, and the copies (same ids) are one note everywhere.
    wait_until(
        "mia's note reaching sam on the kept account",
        PATIENCE,
        || {
            sam.sync().ok();
            ids(&sam.show(&keep)["timeline"]).contains(&offline)
        },
    );
    watch.signal("TERM");
    watch.finish(PATIENCE).ok();
    mia.sync().ok();
    assert_eq!(mia.show(&other), sam.show(&keep));
}

#[test]
fn opposite_merges_on_two_replicas_converge_to_one_account_holding_everything() {
    let tmp = tmp();
    let (_relay, [sam, mia, sue]) = relay_with(
        &tmp,
        [("sam", "sales"), ("mia", "marketing"), ("sue", "support")],
    );
    let a = sam.add_account("Acme", &["--domain", "acme.com"]);
    let b = sam.add_account("Acme Ltd", &["--domain", "acme.com"]);
    sync_all(&[&sam, &mia, &sue]);
    let on_a = sam.id_of(["note", "add", &a, "On A"]);
    let on_b = mia.id_of(["note", "add", &b, "On B"]);
    let deal = sam.id_of(["deal", "add", &b, "--title", "Renewal", "--amount", "900"]);

    // At the same time, offline: sam keeps A, mia keeps B.
    sam.run(["account", "merge", &b, "--into", &a]).ok();
    mia.run(["account", "merge", &a, "--into", &b]).ok();
    let after_sam = mia.id_of(["note", "add", &b, "Written on B after mia's merge"]);
    sync_all(&[&sam, &mia, &sue]);

    // The smaller id survives, on every replica.
    let survivor = if a < b { &a } else { &b };
    let shown = sam.show(&a);
    assert_eq!(str_at(&shown, "id"), survivor.as_str(), "{shown:#}");
    for member in [&sam, &mia, &sue] {
        assert_eq!(member.account_ids(), [survivor.as_str()]);
        assert_eq!(member.show(&a), shown);
        assert_eq!(member.show(&b), shown);
    }
    let mut expected = vec![on_a, on_b, after_sam];
    expected.sort_unstable();
    assert_eq!(sorted_ids(&shown["timeline"]), expected);
    assert_eq!(ids(&shown["deals"]), [deal]);
}

#[test]
fn merging_an_unknown_account_or_an_account_into_itself_is_refused_and_changes_nothing() {
    let tmp = tmp();
    let ana = Data::init(tmp.path().join("ana"), "ana", "sales");
    let keep = ana.add_account("Acme", &[]);
    let other = ana.add_account("Acme Ltd", &[]);
    ana.id_of(["note", "add", &other, "A note"]);
    let before = ana.snapshot();

    ana.run(["account", "merge", "no-such-account", "--into", &keep])
        .fails_with(&["unknown account 'no-such-account'"]);
    ana.run(["account", "merge", &other, "--into", "Nobody"])
        .fails_with(&["unknown account 'Nobody'"]);
    ana.run(["account", "merge", &keep, "--into", &keep])
        .fails_with(&["cannot merge account", "cannot be merged into itself"]);
    ana.run(["account", "merge", &other])
        .refused_with(&["--into"]);
    assert_eq!(ana.snapshot(), before);

    // Once merged, merging again (either way round) is refused too.
    ana.run(["account", "merge", &other, "--into", &keep]).ok();
    let merged = ana.snapshot();
    ana.run(["account", "merge", &other, "--into", &keep])
        .fails_with(&[&format!("{other} was merged into {keep} already")]);
    ana.run(["account", "merge", &keep, "--into", &other])
        .fails_with(&["already"]);
    assert_eq!(ana.snapshot(), merged);
}

#[test]
fn a_chain_of_merges_ends_at_the_last_kept_account() {
    let tmp = tmp();
    let ana = Data::init(tmp.path().join("ana"), "ana", "sales");
    let first = ana.add_account("Acme", &[]);
    let second = ana.add_account("Acme Ltd", &[]);
    let last = ana.add_account("Acme Group", &[]);
    let note = ana.id_of(["note", "add", &second, "On the second"]);
    ana.run(["account", "merge", &second, "--into", &first])
        .ok();
    // Naming the merged account merges the one that stands for it.
    let merged = ana.json(["account", "merge", &second, "--into", &last]);
    assert_eq!(
        merged,
        json!({ "merged": first, "into": last, "copied": 1 })
    );

    let shown = ana.show(&last);
    assert_eq!(ids(&shown["timeline"]), [note]);
    assert_eq!(ana.show(&first), shown);
    assert_eq!(ana.show(&second), shown);
    assert_eq!(ana.account_ids(), [last]);
}
