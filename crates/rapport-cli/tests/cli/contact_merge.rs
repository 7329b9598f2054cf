//! `contact merge`: the kept contact keeps its values and gets those it lacks, the merged one
//! leaves lists, search and duplicates and shows under the kept one, wrong merges are refused
//! without a write, and opposite merges made offline on two replicas converge through the
//! real relay.

use serde_json::{Value, json};

use crate::duplicates::pairs;
use crate::processes::{relay_with, sync_all};
use crate::support::{Data, array, ids, tmp};

fn add_contact(data: &Data, account: &str, name: &str, fields: &[&str]) -> String {
    data.id_of([&["contact", "add", account, "--name", name][..], fields].concat())
}

/// The contact of `account show --json` with id `id`, among the standing ones.
fn contact<'a>(shown: &'a Value, id: &str) -> &'a Value {
    array(&shown["contacts"])
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no contact {id} in {shown:#}"))
}

#[test]
fn merging_a_contact_fills_what_the_kept_one_lacks_and_hides_the_merged_one_everywhere() {
    let tmp = tmp();
    let ana = Data::init(tmp.path().join("ana"), "ana", "sales");
    let globex = ana.add_account("Globex", &["--domain", "globex.com"]);
    let keep = add_contact(
        &ana,
        &globex,
        "Hank Scorpio",
        &["--email", "hank@globex.com"],
    );
    let other = add_contact(
        &ana,
        &globex,
        "H. Scorpio",
        &[
            "--email",
            "HANK@globex.com",
            "--phone",
            "+1-555-0100",
            "--title",
            "Zylophone",
        ],
    );
    let note = ana.id_of(["note", "add", &globex, "Met Hank at the expo"]);
    assert_eq!(pairs(&ana.json(["duplicates"]), "contacts").len(), 1);
    assert_eq!(ana.list()[0]["contacts"], 2);

    let merged = ana.json(["contact", "merge", &other, "--into", &keep]);
    assert_eq!(
        merged,
        json!({ "account": globex, "merged": other, "into": keep,
                "filled": ["phone", "title"], "changed": true })
    );

    let shown = ana.show(&globex);
    assert_eq!(ids(&shown["contacts"]), [keep.as_str()]);
    let kept = contact(&shown, &keep);
    assert_eq!(
        kept["name"], "Hank Scorpio",
        "the kept contact's values stay"
    );
    assert_eq!(kept["email"], "hank@globex.com");
    assert_eq!(kept["phone"], "+1-555-0100", "fields it lacked are filled");
    assert_eq!(kept["title"], "Zylophone");
    assert_eq!(ids(&shown["merged_contacts"]), [other.as_str()]);
    assert_eq!(shown["merged_contacts"][0]["into"], keep.as_str());
    assert_eq!(ids(&shown["timeline"]), [note], "the timeline is untouched");
    let text = ana.run(["account", "show", &globex]).ok().stdout;
    assert!(
        text.contains(&format!("merged: {other}  H. Scorpio")),
        "{text}"
    );

    assert_eq!(
        ana.json(["duplicates"]),
        json!({ "accounts": [], "contacts": [] })
    );
    assert_eq!(
        ana.list()[0]["contacts"],
        1,
        "the list counts the kept contact"
    );
    let by_kept = ana.json(["account", "list", "--query", "zylophone"]);
    assert_eq!(
        ids(&by_kept),
        [globex.as_str()],
        "the filled title is searchable"
    );
    let by_merged = ana.json(["account", "list", "--query", "scorpio"]);
    assert_eq!(ids(&by_merged), [globex.as_str()]);

    // Merging again is a no-op; the merged contact is still found by its id.
    let before = ana.snapshot();
    let again = ana.json(["contact", "merge", &other, "--into", &keep]);
    assert_eq!(again["changed"], false);
    let said = ana.run(["contact", "merge", &other, "--into", &keep]).ok();
    assert!(said.stdout.contains("already; nothing changed"), "{said:?}");
    assert_eq!(ana.snapshot(), before);
}

#[test]
fn wrong_contact_merges_are_refused_with_a_clear_error_and_change_nothing() {
    let tmp = tmp();
    let ana = Data::init(tmp.path().join("ana"), "ana", "sales");
    let acme = ana.add_account("Acme", &[]);
    let initech = ana.add_account("Initech", &[]);
    let keep = add_contact(&ana, &acme, "Dana Lee", &[]);
    let other = add_contact(&ana, &acme, "dana lee", &["--email", "dana@acme.com"]);
    let elsewhere = add_contact(&ana, &initech, "Dana L.", &["--email", "dana@acme.com"]);
    let before = ana.snapshot();

    ana.run(["contact", "merge", "01NOSUCHCONTACT", "--into", &keep])
        .fails_with(&["unknown contact '01NOSUCHCONTACT'"]);
    ana.run(["contact", "merge", &other, "--into", "01NOSUCHCONTACT"])
        .fails_with(&["unknown contact '01NOSUCHCONTACT'"]);
    ana.run(["contact", "merge", &keep, "--into", &keep])
        .fails_with(&["cannot merge contact", "into itself"]);
    ana.run(["contact", "merge", &elsewhere, "--into", &keep])
        .fails_with(&[
            "cannot merge contact",
            "different accounts",
            "merge the accounts first",
        ]);
    ana.run(["contact", "merge", &other])
        .refused_with(&["--into"]);
    assert_eq!(ana.snapshot(), before);

    // A merged contact cannot be kept: the one that stands for it can.
    ana.run(["contact", "merge", &other, "--into", &keep]).ok();
    let merged = ana.snapshot();
    ana.run(["contact", "merge", &keep, "--into", &other])
        .fails_with(&[&format!("{other} was merged into {keep}"), "keep"]);
    assert_eq!(ana.snapshot(), merged);

    // Once the accounts are merged, their contacts are in one account and merge there.
    ana.run(["account", "merge", &initech, "--into", &acme])
        .ok();
    let done = ana.json(["contact", "merge", &elsewhere, "--into", &keep]);
    assert_eq!(done["account"], acme.as_str());
    assert_eq!(ids(&ana.show(&acme)["contacts"]), [keep]);
}

#[test]
fn opposite_contact_merges_made_offline_converge_on_every_replica_and_keep_a_late_edit() {
    let tmp = tmp();
    let (_relay, [sam, mia, sue]) = relay_with(
        &tmp,
        [("sam", "sales"), ("mia", "marketing"), ("sue", "support")],
    );
    let acme = sam.add_account("Acme", &[]);
    let a = add_contact(
        &sam,
        &acme,
        "Olga Ray",
        &["--email", "olga@acme.com", "--phone", "+1"],
    );
    let b = add_contact(
        &sam,
        &acme,
        "O. Ray",
        &["--email", "olga@acme.com", "--title", "CTO"],
    );
    let note = sam.id_of(["note", "add", &acme, "Olga wants a demo"]);
    sync_all(&[&sam, &mia, &sue]);

    // Offline, at once: sam keeps A, mia keeps B, and sue edits B not knowing of either.
    sam.run(["contact", "merge", &b, "--into", &a]).ok();
    mia.run(["contact", "merge", &a, "--into", &b]).ok();
    sue.run(["contact", "set", &b, "name=Olga B. Ray"]).ok();
    sync_all(&[&sam, &mia, &sue]);

    // The smaller id stands for both, on every replica, with the fields of both.
    let (kept, merged) = if a < b { (&a, &b) } else { (&b, &a) };
    let shown = sam.show(&acme);
    assert_eq!(ids(&shown["contacts"]), [kept.as_str()], "{shown:#}");
    let survivor = contact(&shown, kept);
    assert_eq!(survivor["phone"], "+1");
    assert_eq!(survivor["title"], "CTO");
    assert_eq!(ids(&shown["merged_contacts"]), [merged.as_str()]);
    assert_eq!(shown["merged_contacts"][0]["into"], kept.as_str());
    for member in [&sam, &mia, &sue] {
        assert_eq!(member.show(&acme), shown, "every replica shows the same");
        assert_eq!(
            member.json(["duplicates"]),
            json!({ "accounts": [], "contacts": [] })
        );
        assert_eq!(member.list()[0]["contacts"], 1);
    }
    assert_eq!(ids(&shown["timeline"]), [note]);

    // sue's offline edit to B is not lost: it is B's name, kept, or shown under the kept one.
    let b_now = if kept == &b {
        survivor
    } else {
        &shown["merged_contacts"][0]
    };
    assert_eq!(b_now["name"], "Olga B. Ray", "{shown:#}");
}

#[test]
fn importing_an_export_made_before_a_contact_merge_leaves_the_merge_in_place() {
    let tmp = tmp();
    let ana = Data::init(tmp.path().join("ana"), "ana", "sales");
    let acme = ana.add_account("Acme", &[]);
    let keep = add_contact(&ana, &acme, "Dana Lee", &["--email", "dana@acme.com"]);
    let other = add_contact(&ana, &acme, "Dana L.", &["--email", "dana@acme.com"]);
    let file = tmp.path().join("before.json");
    let path = file.to_str().unwrap();
    ana.run(["export", "--format", "json", "--out", path]).ok();
    ana.run(["contact", "merge", &other, "--into", &keep]).ok();
    let merged = ana.show(&acme);

    ana.run(["import", path]).ok();
    let shown = ana.show(&acme);
    assert_eq!(ids(&shown["contacts"]), [keep.as_str()], "{shown:#}");
    assert_eq!(ids(&shown["merged_contacts"]), [other.as_str()]);
    assert_eq!(shown["contacts"], merged["contacts"]);
    assert_eq!(
        ana.json(["duplicates"]),
        json!({ "accounts": [], "contacts": [] })
    );
}
