//! `init`, `workspace show`, `account add|list|show|set`, `contact add|set`, and how the data
//! directory is chosen.

use serde_json::{Value, json};

use crate::support::{Data, array, ids, keys, run_with_env, str_at, tmp};

const ACCOUNT_KEYS: [&str; 21] = [
    "conflicts",
    "contacts",
    "custom",
    "custom_fields",
    "deals",
    "domain",
    "followers",
    "id",
    "industry",
    "merged_contacts",
    "name",
    "owner",
    "phone",
    "stage",
    "tags",
    "tasks",
    "tier",
    "timeline",
    "url",
    "value",
    "website",
];

#[test]
fn init_creates_a_workspace_with_its_creator_as_admin() {
    let tmp = tmp();
    let data = Data::at(tmp.path().join("ana"));
    let created = data.json([
        "init",
        "--workspace",
        "Acme Corp",
        "--user",
        "ana",
        "--team",
        "support",
    ]);
    assert!(data.replica_file().is_file());
    assert_eq!(created["data"], json!(data.dir));
    let workspace = &created["workspace"];
    assert_eq!(
        keys(workspace),
        ["accounts", "id", "members", "name", "pipeline", "url"]
    );
    assert_eq!(workspace["name"], "Acme Corp");
    assert_eq!(
        workspace["members"],
        json!([{ "user": "ana", "team": "support", "role": "admin" }])
    );
    assert_eq!(
        workspace["pipeline"],
        json!(["qualification", "proposal", "negotiation", "won", "lost"])
    );
    assert_eq!(workspace["accounts"], 0);
    assert_eq!(
        str_at(workspace, "url"),
        format!("automerge:{}", str_at(workspace, "id"))
    );

    assert_eq!(&data.json(["workspace", "show"]), workspace);
    assert_eq!(data.list(), json!([]));
    assert_eq!(
        data.run(["account", "list", "--json"]).json(),
        json!([]),
        "--json is global: it may follow the subcommand"
    );
    assert_eq!(data.alerts(false), json!([]));
    assert_eq!(data.alerts(true), json!([]));

    let text = data.run(["workspace", "show"]).ok();
    assert!(text.stdout.starts_with("Acme Corp\n"), "{}", text.stdout);
    assert!(text.stdout.contains("ana"), "{}", text.stdout);
}

#[test]
fn init_creates_missing_parent_directories() {
    let tmp = tmp();
    let data = Data::init(tmp.path().join("a/b/c"), "bo", "sales");
    assert!(data.replica_file().is_file());
    let workspace = data.json(["workspace", "show"]);
    assert_eq!(
        workspace["members"],
        json!([{ "user": "bo", "team": "sales", "role": "admin" }])
    );
}

#[test]
fn rapport_data_selects_the_replica_and_the_data_flag_overrides_it() {
    let tmp = tmp();
    let env_dir = tmp.path().join("from-env");
    let flag_dir = tmp.path().join("from-flag");
    let env = [("RAPPORT_DATA", env_dir.as_os_str())];

    run_with_env(
        [
            "init",
            "--workspace",
            "Env",
            "--user",
            "ana",
            "--team",
            "support",
        ],
        &env,
    )
    .ok();
    assert!(env_dir.join("replica.redb").is_file());
    let id = run_with_env(["account", "add", "Globex"], &env).ok().stdout;
    let listed = run_with_env(["--json", "account", "list"], &env).json();
    assert_eq!(ids(&listed), [id.trim()]);

    let flag = Data::init(&flag_dir, "bo", "sales");
    let mut args = vec!["--data".into(), flag.dir.clone().into_os_string()];
    args.extend(["--json", "account", "list"].map(Into::into));
    let listed = run_with_env(args, &env).json();
    assert_eq!(listed, json!([]), "--data wins over RAPPORT_DATA");
    assert_eq!(
        run_with_env(["--json", "workspace", "show"], &env).json()["name"],
        "Env"
    );
}

#[test]
fn account_add_prints_its_id_and_show_returns_every_field() {
    let tmp = tmp();
    let data = Data::init(tmp.path(), "ana", "support");
    let id = data.add_account(
        "Globex",
        &[
            "--domain",
            "GLOBEX.com",
            "--tier",
            "gold",
            "--stage",
            "customer",
            "--owner",
            "bo",
        ],
    );
    let account = data.show(&id);
    assert_eq!(keys(&account), ACCOUNT_KEYS);
    assert_eq!(
        account,
        json!({
            "id": id,
            "url": format!("automerge:{id}"),
            "name": "Globex",
            "domain": "globex.com",
            "industry": null,
            "tier": "gold",
            "stage": "customer",
            "owner": "bo",
            "phone": null,
            "website": null,
            "tags": [],
            "custom": {},
            "custom_fields": [],
            "contacts": [],
            "merged_contacts": [],
            "deals": [],
            "tasks": [],
            "timeline": [],
            "conflicts": [],
            "followers": [],
            "value": { "score": 0, "tier": "low", "recency": 0, "frequency": 0, "monetary": 0 },
        })
    );

    let added = data.json(["account", "add", "Initech"]);
    assert_eq!(keys(&added), ["id", "url"]);
    let initech = str_at(&added, "id");
    assert_eq!(str_at(&added, "url"), format!("automerge:{initech}"));
    let shown = data.show(initech);
    assert_eq!(shown["name"], "Initech");
    for field in ["domain", "tier", "owner"] {
        assert_eq!(shown[field], Value::Null, "{field}");
    }
    assert_eq!(shown["stage"], "lead", "a new account is a lead");
    assert_eq!(data.json(["workspace", "show"])["accounts"], 2);
}

#[test]
fn account_list_is_sorted_by_name_and_summarises_each_account() {
    let tmp = tmp();
    let data = Data::init(tmp.path(), "ana", "support");
    let gamma = data.add_account("gamma", &[]);
    let alpha = data.add_account("Alpha", &["--tier", "smb", "--stage", "lead"]);
    let beta = data.add_account("beta", &["--domain", "beta.io", "--owner", "bo"]);
    data.run(["contact", "add", &beta, "--name", "Bea"]).ok();
    data.run(["contact", "add", &beta, "--name", "Ben"]).ok();
    data.run(["note", "add", &beta, "first call went well"])
        .ok();

    let list = data.list();
    assert_eq!(ids(&list), [alpha.as_str(), beta.as_str(), gamma.as_str()]);
    for summary in array(&list) {
        assert_eq!(
            keys(summary),
            [
                "contacts",
                "custom",
                "domain",
                "entries",
                "id",
                "last_entry",
                "last_team",
                "name",
                "open_deal",
                "owner",
                "stage",
                "tags",
                "tier",
                "value"
            ]
        );
    }
    let mut beta_row = list[1].clone();
    let last_entry = beta_row["last_entry"].take();
    assert!(last_entry.is_string(), "{last_entry}");
    assert_eq!(
        beta_row,
        json!({
            "id": beta,
            "name": "beta",
            "domain": "beta.io",
            "tier": null,
            "stage": "lead",
            "owner": "bo",
            "contacts": 2,
            "entries": 1,
            "tags": [],
            "custom": {},
            // A note today: full recency, one entry of twelve, no deal.
            "value": { "score": 37, "tier": "medium", "recency": 100, "frequency": 8, "monetary": 0 },
            "last_entry": null,
            "last_team": "support",
            "open_deal": false,
        })
    );
    assert_eq!(list[0]["stage"], "lead");
    assert_eq!(list[0]["tier"], "smb");

    let text = data.run(["account", "list"]).ok().stdout;
    assert!(text.contains("3 account(s)"), "{text}");
}

#[test]
fn account_list_query_finds_names_fields_contacts_and_timeline_text() {
    let tmp = tmp();
    let data = Data::init(tmp.path(), "ana", "support");
    let globex = data.add_account("Globex", &["--domain", "globex.com"]);
    let initech = data.add_account("Initech", &[]);
    data.run(["contact", "add", &globex, "--name", "Hank Scorpio"])
        .ok();
    data.run(["note", "add", &initech, "Asked about the enterprise plan"])
        .ok();
    data.run(["account", "set", &initech, "industry=Software", "tags=vip"])
        .ok();

    let query = |q: &str| ids(&data.json(["account", "list", "--query", q]));
    assert_eq!(query("globex"), [globex.as_str()]);
    assert_eq!(
        query("GLOB"),
        [globex.as_str()],
        "prefix and case-insensitive"
    );
    assert_eq!(query("scorpio"), [globex.as_str()], "contact names");
    assert_eq!(query("enterprise"), [initech.as_str()], "timeline text");
    assert_eq!(query("softw"), [initech.as_str()], "fields");
    assert_eq!(query("vip"), [initech.as_str()], "tags");
    assert_eq!(query("enterprise plan"), [initech.as_str()], "every word");
    assert_eq!(query("enterprise hank"), Vec::<String>::new());
    assert_eq!(query("nothing-like-it"), Vec::<String>::new());
    assert_eq!(data.json(["account", "list", "--query", "zzz"]), json!([]));

    data.run(["account", "set", &globex, "name=Umbrella"]).ok();
    assert_eq!(query("umbrella"), [globex.as_str()], "a new name is found");
    assert_eq!(
        query("glob"),
        [globex.as_str()],
        "still found by its domain"
    );
    data.run(["account", "set", &globex, "domain="]).ok();
    assert_eq!(
        query("glob"),
        Vec::<String>::new(),
        "old words are forgotten"
    );
}

#[test]
fn account_show_resolves_an_id_a_prefix_a_url_or_a_name() {
    let tmp = tmp();
    let data = Data::init(tmp.path(), "ana", "support");
    let id = data.add_account("Globex Corp", &[]);
    let other = data.add_account("Initech", &[]);
    let expected = data.show(&id);
    assert_eq!(expected["id"], id.as_str());

    // The shortest prefix of `id` that is not a prefix of the other id.
    let common = id
        .chars()
        .zip(other.chars())
        .take_while(|(a, b)| a == b)
        .count();
    let prefix = &id[..common + 1];
    for query in [
        id.clone(),
        prefix.to_owned(),
        format!("automerge:{id}"),
        "Globex Corp".to_owned(),
        "globex corp".to_owned(),
    ] {
        assert_eq!(data.show(&query), expected, "account show {query}");
    }
    let text = data.run(["account", "show", "Globex Corp"]).ok().stdout;
    assert!(text.starts_with("Globex Corp\n"), "{text}");
    assert!(text.contains(&id), "{text}");
}

#[test]
fn account_set_changes_clears_and_replaces_fields() {
    let tmp = tmp();
    let data = Data::init(tmp.path(), "ana", "support");
    let id = data.add_account("Globex", &["--domain", "globex.com", "--tier", "gold"]);

    let changed = data.json([
        "account",
        "set",
        "Globex",
        "phone=+1-555-0100",
        "industry=Energy",
        "stage=prospect",
        "owner=bo",
        "website=https://globex.com",
        "tags=renewal,vip",
        "custom.region=EMEA",
        "tier=",
    ]);
    assert_eq!(
        keys(&changed),
        ACCOUNT_KEYS,
        "set --json prints the account"
    );
    assert_eq!(changed, data.show(&id));
    assert_eq!(changed["phone"], "+1-555-0100");
    assert_eq!(changed["industry"], "Energy");
    assert_eq!(changed["stage"], "prospect");
    assert_eq!(changed["owner"], "bo");
    assert_eq!(changed["website"], "https://globex.com");
    assert_eq!(changed["tags"], json!(["renewal", "vip"]));
    assert_eq!(changed["custom"], json!({ "region": "EMEA" }));
    assert_eq!(changed["tier"], Value::Null, "an empty value clears");
    assert_eq!(changed["domain"], "globex.com", "untouched fields stay");

    let changed = data.json([
        "account",
        "set",
        &id,
        "tags=churn-risk",
        "name=Globex Corporation",
        "domain=GLOBEX.ORG",
        "stage=churned",
    ]);
    assert_eq!(changed["tags"], json!(["churn-risk"]), "tags are replaced");
    assert_eq!(changed["name"], "Globex Corporation");
    assert_eq!(changed["domain"], "globex.org");
    assert_eq!(changed["stage"], "churned");
    assert_eq!(changed["conflicts"], json!([]));
    let list = data.list();
    assert_eq!(list[0]["name"], "Globex Corporation");
    assert_eq!(list[0]["stage"], "churned");

    let text = data.run(["account", "set", &id, "phone="]).ok().stdout;
    assert!(text.contains("Globex Corporation"), "{text}");
    assert_eq!(data.show(&id)["phone"], Value::Null);
}

#[test]
fn contacts_are_added_and_changed() {
    let tmp = tmp();
    let data = Data::init(tmp.path(), "ana", "support");
    let account = data.add_account("Globex", &[]);
    let added = data.json([
        "contact",
        "add",
        "Globex",
        "--name",
        "Hank Scorpio",
        "--email",
        "hank@globex.com",
        "--phone",
        "+1-555-0199",
        "--title",
        "CEO",
    ]);
    assert_eq!(keys(&added), ["account", "id"]);
    assert_eq!(added["account"], account.as_str());
    let hank = str_at(&added, "id").to_owned();
    let frank = data.id_of(["contact", "add", &account, "--name", "Frank Grimes"]);

    let shown = data.show(&account);
    assert_eq!(
        shown["contacts"],
        json!([
            { "id": hank, "name": "Hank Scorpio", "email": "hank@globex.com", "phone": "+1-555-0199", "title": "CEO" },
            { "id": frank, "name": "Frank Grimes", "email": null, "phone": null, "title": null },
        ])
    );
    assert_eq!(data.list()[0]["contacts"], 2);

    let changed = data.json([
        "contact",
        "set",
        &hank,
        "email=h.scorpio@globex.com",
        "title=",
        "name=Hank S.",
    ]);
    assert_eq!(
        changed["id"],
        account.as_str(),
        "set --json prints the account"
    );
    assert_eq!(
        changed["contacts"][0],
        json!({ "id": hank, "name": "Hank S.", "email": "h.scorpio@globex.com", "phone": "+1-555-0199", "title": null })
    );
    let lower_prefix = frank[..20].to_ascii_lowercase();
    data.run(["contact", "set", &lower_prefix, "phone=+44 20 7946 0000"])
        .ok();
    assert_eq!(
        data.show(&account)["contacts"][1]["phone"],
        "+44 20 7946 0000"
    );
    assert_eq!(data.show(&account)["contacts"][0]["name"], "Hank S.");
}
