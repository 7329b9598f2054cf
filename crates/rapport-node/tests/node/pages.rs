//! Two local nodes and a real relay on loopback: what pages read and write, and what they hear.

use rapport_client::link;
use rapport_node::LocalNode;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::{
    WAIT, create_account, json_of, request, setup, start_relay, subscribe, wait_for_event,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_support_note_with_an_alert_reaches_the_sales_page_live() {
    let setup = setup().await;
    let mut sales_events = subscribe(setup.sales).await;
    wait_for_event(&mut sales_events, "status", "\"state\":\"online\"").await;

    let id = create_account(
        setup.support,
        json!({ "name": "Globex", "domain": "Globex.com", "tier": "gold" }),
    )
    .await;
    json_of(
        setup.support,
        "POST",
        &format!("/api/accounts/{id}/entries"),
        Some(json!({ "kind": "note", "text": "Customer asked about the enterprise plan", "alert": ["sales"] })),
    )
    .await;

    let alert = wait_for_event(&mut sales_events, "alert", "enterprise plan").await;
    let alert: Value = serde_json::from_str(&alert).unwrap();
    assert_eq!(alert["team"], "support");
    assert_eq!(alert["author"], "ana");
    assert_eq!(
        alert["account_name"], "Globex",
        "the toast names the account"
    );

    let account = json_of(setup.sales, "GET", &format!("/api/accounts/{id}"), None).await;
    assert_eq!(account["domain"], "globex.com");
    assert_eq!(
        account["timeline"][0]["text"],
        "Customer asked about the enterprise plan"
    );
    let inbox = json_of(setup.sales, "GET", "/api/alerts", None).await;
    assert_eq!(inbox[0]["account_name"], "Globex");
    let found = json_of(setup.sales, "GET", "/api/accounts?q=enterpr", None).await;
    assert_eq!(found["total"], 1);
    // The author is not alerted by their own note.
    let theirs = json_of(setup.support, "GET", "/api/alerts", None).await;
    assert_eq!(theirs, json!([]));

    json_of(
        setup.support,
        "POST",
        &format!("/api/accounts/{id}/deals"),
        Some(json!({ "title": "Enterprise", "amount": 2_400_000, "currency": "EUR" })),
    )
    .await;
    let board = json_of(setup.support, "GET", "/api/pipeline", None).await;
    let first = &board["stages"][0];
    assert_eq!(first["deals"][0]["account_name"], "Globex");
    assert_eq!(
        first["totals"],
        json!([{ "currency": "EUR", "amount": 2_400_000 }])
    );
    let dashboard = json_of(setup.support, "GET", "/api/dashboard", None).await;
    assert_eq!(dashboard["accounts"], 1);
    let weeks = dashboard["interactions"].as_array().unwrap();
    assert_eq!(weeks.len(), 12);
    assert_eq!(weeks[11]["support"], 1, "{weeks:?}");

    let alert_id = alert["id"].as_str().unwrap();
    let (status, _) = request(
        setup.sales,
        "POST",
        &format!("/api/alerts/{alert_id}/ack"),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(
        json_of(setup.sales, "GET", "/api/alerts", None).await,
        json!([])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_error_and_changes_nothing() {
    let setup = setup().await;
    let id = create_account(setup.sales, json!({ "name": "Initech" })).await;
    let cases = [
        (
            "POST",
            "/api/accounts".to_owned(),
            json!({ "name": "  " }),
            400,
        ),
        (
            "POST",
            format!("/api/accounts/{id}/entries"),
            json!({ "text": "" }),
            400,
        ),
        (
            "POST",
            format!("/api/accounts/{id}/entries"),
            json!({ "text": "x", "alert": ["nobody"] }),
            400,
        ),
        (
            "POST",
            format!("/api/accounts/{id}/deals"),
            json!({ "title": "Up", "amount": 5, "stage": "nowhere" }),
            400,
        ),
        (
            "POST",
            "/api/accounts/nope/entries".to_owned(),
            json!({ "text": "x" }),
            404,
        ),
        (
            "POST",
            format!("/api/accounts/{id}/fields"),
            json!({ "fields": { "stage": "sideways" } }),
            400,
        ),
        (
            "GET",
            "/api/accounts/4NMZ3UwAdgZzPUGH5LYMv9Uqn4VB".to_owned(),
            json!(null),
            404,
        ),
    ];
    for (method, path, body, expected) in cases {
        let (status, text) = request(setup.sales, method, &path, Some(body.clone())).await;
        assert_eq!(status, expected, "{method} {path} {body}: {text}");
        let error: Value = serde_json::from_str(&text).unwrap();
        assert!(
            error["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{text}"
        );
    }
    let account = json_of(setup.sales, "GET", &format!("/api/accounts/{id}"), None).await;
    assert_eq!(account["timeline"], json!([]));
    assert_eq!(account["deals"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_refuses_bad_accounts_and_then_both_ids_serve_the_kept_account() {
    let setup = setup().await;
    let mut ids = Vec::new();
    for (name, domain) in [("Acme", "acme.com"), ("Acme Holdings", "www.acme.com")] {
        let body = json!({ "name": name, "domain": domain });
        ids.push(create_account(setup.sales, body).await);
    }
    let [keep, other] = [ids[0].clone(), ids[1].clone()];
    let note = json!({ "kind": "note", "text": "Asked for a quote" });
    let path = format!("/api/accounts/{other}/entries");
    json_of(setup.sales, "POST", &path, Some(note)).await;
    let found = json_of(setup.sales, "GET", "/api/duplicates", None).await;
    assert_eq!(found["accounts"].as_array().unwrap().len(), 1, "{found}");
    assert_eq!(
        found["accounts"][0]["reasons"],
        json!([{ "kind": "same_domain", "domain": "acme.com" }])
    );

    let me = json_of(setup.sales, "GET", "/api/me", None).await;
    let workspace = me["workspace"]["id"].as_str().unwrap().to_owned();
    let merge = format!("/api/accounts/{other}/merge");
    let cases = [
        (merge.clone(), json!({ "into": other }), 400),
        (
            merge.clone(),
            json!({ "into": "4NMZ3UwAdgZzPUGH5LYMv9Uqn4VB" }),
            404,
        ),
        (merge.clone(), json!({ "into": workspace }), 404),
        (merge.clone(), json!({ "into": "not an id" }), 404),
        (merge.clone(), json!({}), 422),
    ];
    for (path, body, expected) in cases {
        let (status, text) = request(setup.sales, "POST", &path, Some(body.clone())).await;
        assert_eq!(status, expected, "{path} {body}: {text}");
    }
    let listed = json_of(setup.sales, "GET", "/api/accounts", None).await;
    assert_eq!(listed["total"], 2, "nothing changed");

    let merged = json_of(setup.sales, "POST", &merge, Some(json!({ "into": keep }))).await;
    assert_eq!(
        merged,
        json!({ "merged": other, "into": keep, "copied": 1 })
    );
    let kept = json_of(setup.sales, "GET", &format!("/api/accounts/{keep}"), None).await;
    assert_eq!(kept["timeline"][0]["text"], "Asked for a quote");
    let shown = json_of(setup.sales, "GET", &format!("/api/accounts/{other}"), None).await;
    assert_eq!(shown, kept);
    let listed = json_of(setup.sales, "GET", "/api/accounts", None).await;
    assert_eq!(listed["total"], 1);
    let found = json_of(setup.sales, "GET", "/api/duplicates", None).await;
    assert_eq!(found, json!({ "accounts": [], "contacts": [] }));
    let (status, text) = request(setup.sales, "POST", &merge, Some(json!({ "into": keep }))).await;
    assert_eq!(status, 400, "merged already: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_merge_refuses_bad_contacts_and_then_shows_the_merged_one_under_the_kept() {
    let setup = setup().await;
    let mut accounts = Vec::new();
    for name in ["Globex", "Initech"] {
        accounts.push(create_account(setup.sales, json!({ "name": name })).await);
    }
    let mut contacts = Vec::new();
    for (account, name, phone) in [
        (0, "Hank", None),
        (0, "H. Scorpio", Some("+1")),
        (1, "Hank S.", None),
    ] {
        let body = json!({ "name": name, "email": "hank@globex.com", "phone": phone });
        let path = format!("/api/accounts/{}/contacts", accounts[account]);
        let created = json_of(setup.sales, "POST", &path, Some(body)).await;
        contacts.push(created["id"].as_str().unwrap().to_owned());
    }
    let [keep, other, elsewhere] = [&contacts[0], &contacts[1], &contacts[2]];
    let merge = format!("/api/contacts/{other}/merge");
    let cases = [
        (merge.clone(), json!({ "into": other }), 400),
        (
            format!("/api/contacts/{elsewhere}/merge"),
            json!({ "into": keep }),
            400,
        ),
        (
            merge.clone(),
            json!({ "into": "01JCZ0000000000000000000C1" }),
            404,
        ),
        (merge.clone(), json!({ "into": "not an id" }), 404),
        (merge.clone(), json!({}), 422),
    ];
    for (path, body, expected) in cases {
        let (status, text) = request(setup.sales, "POST", &path, Some(body.clone())).await;
        assert_eq!(status, expected, "{path} {body}: {text}");
    }
    let found = json_of(setup.sales, "GET", "/api/duplicates", None).await;
    assert_eq!(
        found["contacts"].as_array().unwrap().len(),
        3,
        "nothing changed: {found}"
    );

    let merged = json_of(setup.sales, "POST", &merge, Some(json!({ "into": keep }))).await;
    assert_eq!(
        merged,
        json!({ "account": accounts[0], "merged": other, "into": keep,
                "filled": ["phone"], "changed": true })
    );
    let account = json_of(
        setup.sales,
        "GET",
        &format!("/api/accounts/{}", accounts[0]),
        None,
    )
    .await;
    assert_eq!(
        account["contacts"].as_array().unwrap().len(),
        1,
        "{account}"
    );
    assert_eq!(account["contacts"][0]["phone"], "+1");
    assert_eq!(account["merged_contacts"][0]["id"], other.as_str());
    assert_eq!(account["merged_contacts"][0]["into"], keep.as_str());
    let found = json_of(setup.sales, "GET", "/api/duplicates", None).await;
    assert_eq!(found["contacts"].as_array().unwrap().len(), 1, "{found}");
    let again = json_of(setup.sales, "POST", &merge, Some(json!({ "into": keep }))).await;
    assert_eq!(again["changed"], false);
    let path = format!("/api/contacts/{keep}/merge");
    let (status, text) = request(setup.sales, "POST", &path, Some(json!({ "into": other }))).await;
    assert_eq!(status, 400, "a merged contact cannot be kept: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_says_who_changed_what_and_an_unknown_account_is_404() {
    let setup = setup().await;
    let id = create_account(setup.sales, json!({ "name": "Initech", "stage": "lead" })).await;
    let fields = json!({ "fields": { "stage": "prospect", "tags": "vip" } });
    let path = format!("/api/accounts/{id}/fields");
    let (status, text) = request(setup.sales, "POST", &path, Some(fields)).await;
    assert_eq!(status, 204, "{text}");

    let history = json_of(
        setup.sales,
        "GET",
        &format!("/api/accounts/{id}/history"),
        None,
    )
    .await;
    assert_eq!(history["account"], id.as_str());
    assert_eq!(history["total"], 2);
    let latest = &history["changes"][1];
    assert_eq!(latest["author"], "sam");
    assert_eq!(
        latest["edits"],
        json!([
            { "kind": "field", "field": "stage", "from": "lead", "to": "prospect" },
            { "kind": "tag_added", "tag": "vip" },
        ])
    );
    let limited = format!("/api/accounts/{id}/history?limit=1");
    let limited = json_of(setup.sales, "GET", &limited, None).await;
    assert_eq!(
        (&limited["total"], &limited["changes"][0]),
        (&json!(2), latest)
    );

    for (path, expected) in [
        ("/api/accounts/4NMZ3UwAdgZzPUGH5LYMv9Uqn4VB/history", 404),
        ("/api/accounts/nope/history", 404),
        (&*format!("/api/accounts/{id}/history?limit=some"), 400),
    ] {
        let (status, text) = request(setup.sales, "GET", path, None).await;
        assert_eq!(status, expected, "GET {path}: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_sees_the_workspace_and_every_write_is_refused_with_403() {
    let setup = setup().await;
    let me = json_of(setup.viewer, "GET", "/api/me", None).await;
    assert_eq!(me["role"], "viewer");
    let id = create_account(setup.sales, json!({ "name": "Initech" })).await;
    let mut events = subscribe(setup.viewer).await;
    wait_for_event(&mut events, "changed", &id).await;

    let writes = [
        ("/api/accounts".to_owned(), json!({ "name": "Hooli" })),
        (
            format!("/api/accounts/{id}/entries"),
            json!({ "text": "x" }),
        ),
        (
            format!("/api/accounts/{id}/fields"),
            json!({ "fields": { "tier": "gold" } }),
        ),
        (
            format!("/api/accounts/{id}/deals"),
            json!({ "title": "Up", "amount": 5, "currency": "EUR" }),
        ),
        ("/api/alerts/ack".to_owned(), json!({})),
    ];
    for (path, body) in writes {
        let (status, text) = request(setup.viewer, "POST", &path, Some(body)).await;
        assert_eq!(status, 403, "POST {path}: {text}");
        assert!(text.contains("viewer"), "the error says why: {text}");
    }
    let account = json_of(setup.viewer, "GET", &format!("/api/accounts/{id}"), None).await;
    assert_eq!(account["name"], "Initech");
    assert_eq!(account["timeline"], json!([]));
    let list = json_of(setup.viewer, "GET", "/api/accounts", None).await;
    assert_eq!(list["total"], 1, "no account was created: {list}");
    let status = json_of(setup.viewer, "GET", "/api/status", None).await;
    assert_eq!(status["unsynced"], 0, "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_are_served_from_the_binary() {
    let setup = setup().await;
    let mut stream = TcpStream::connect(setup.sales).await.unwrap();
    let head = format!(
        "GET / HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        setup.sales
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("content-type: text/html"),
        "{answer}"
    );
    assert!(answer.contains("<html"), "{answer}");
    let lower = answer.to_ascii_lowercase();
    for header in [
        "x-frame-options: deny",
        "content-security-policy: default-src 'self';",
        "frame-ancestors 'none'",
        "x-content-type-options: nosniff",
    ] {
        assert!(
            lower.contains(header),
            "no other site may frame the pages: {answer}"
        );
    }
    let (status, _) = request(setup.sales, "GET", "/no-such-file.js", None).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_naming_another_host_is_refused() {
    let setup = setup().await;
    for host in [
        "evil.example",
        "evil.example:7420",
        "127.0.0.1.evil.example",
        "",
    ] {
        let mut stream = TcpStream::connect(setup.sales).await.unwrap();
        let head = format!("GET /api/me HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 403"), "{host}: {answer}");
    }
    for host in ["localhost", "127.0.0.1:1", "[::1]:7420"] {
        let mut stream = TcpStream::connect(setup.sales).await.unwrap();
        let head = format!("GET /api/me HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{host}: {answer}");
    }
}

#[tokio::test]
async fn the_node_refuses_to_listen_beyond_this_machine() {
    let err = rapport_node::bind_loopback("0.0.0.0:0".parse().unwrap())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("loopback"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_field_set_on_two_replicas_offline_shows_both_values_until_one_is_picked() {
    use rapport_model::AccountAssignment;
    use rapport_model::account::{self, NewAccount};

    let (_relay_dir, url, tokens) = start_relay().await;
    let (sales_dir, support_dir) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let (mut sales, _) = link::join(sales_dir.path(), &url, &tokens[0], WAIT)
        .await
        .unwrap();
    let (mut support, _) = link::join(support_dir.path(), &url, &tokens[1], WAIT)
        .await
        .unwrap();

    let edit = support.edit_now();
    let new = NewAccount {
        name: "Globex".into(),
        ..Default::default()
    };
    let id = support.create_account(&edit, &new).unwrap();
    let (mut support, _) = link::sync_once(support, WAIT).await.unwrap();
    (sales, _) = link::sync_once(sales, WAIT).await.unwrap();
    for (replica, phone) in [(&mut sales, "+1-555-0100"), (&mut support, "+44-20-7946")] {
        let edit = replica.edit_now();
        let set = [AccountAssignment::parse(&format!("phone={phone}")).unwrap()];
        replica
            .change_account(id, &edit, |tx| account::set(tx, &set))
            .unwrap();
    }
    (sales, _) = link::sync_once(sales, WAIT).await.unwrap();
    (support, _) = link::sync_once(support, WAIT).await.unwrap();
    (sales, _) = link::sync_once(sales, WAIT).await.unwrap();
    drop(support);

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let node = listener.local_addr().unwrap();
    tokio::spawn(LocalNode::new(sales).serve(listener, std::future::pending()));
    let account = json_of(node, "GET", &format!("/api/accounts/{id}"), None).await;
    let conflict = &account["conflicts"][0];
    assert_eq!(conflict["field"], "phone", "{account}");
    let mut both = vec![conflict["value"].clone()];
    both.extend(conflict["others"].as_array().unwrap().iter().cloned());
    both.sort_by_key(|v| v.to_string());
    assert_eq!(both, [json!("+1-555-0100"), json!("+44-20-7946")]);

    let (status, text) = request(
        node,
        "POST",
        &format!("/api/accounts/{id}/fields"),
        Some(json!({ "fields": { "phone": "+44-20-7946" } })),
    )
    .await;
    assert_eq!(status, 204, "{text}");
    let account = json_of(node, "GET", &format!("/api/accounts/{id}"), None).await;
    assert_eq!(account["phone"], "+44-20-7946");
    assert_eq!(account["conflicts"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follow_up_is_a_due_task_until_done_and_team_views_carry_their_columns() {
    let setup = setup().await;
    let at = setup.support;
    let id = create_account(at, json!({ "name": "Globex" })).await;
    let entries = format!("/api/accounts/{id}/entries");
    let entry = json_of(
        at,
        "POST",
        &entries,
        Some(json!({ "kind": "ticket", "text": "Login fails\nsince Monday", "follow_up": "0d" })),
    )
    .await;
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .to_string();
    assert_eq!(entry["follow_up"]["due"], today.as_str());

    // A bad follow-up is refused before anything is written.
    let (status, body) = request(
        at,
        "POST",
        &entries,
        Some(json!({ "text": "Another", "follow_up": "3w" })),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("invalid follow-up '3w'"), "{body}");
    let account = json_of(at, "GET", &format!("/api/accounts/{id}"), None).await;
    assert_eq!(account["timeline"].as_array().unwrap().len(), 1);
    assert_eq!(account["tasks"].as_array().unwrap().len(), 1);

    let reminders = json_of(at, "GET", "/api/reminders", None).await;
    let task = entry["follow_up"]["id"].as_str().unwrap();
    assert_eq!(
        reminders,
        json!([{ "id": task, "account": id, "account_name": "Globex",
                 "title": "Follow up: Login fails", "due": today, "days_overdue": 0 }])
    );
    let done = format!("/api/accounts/{id}/tasks/{task}/done");
    assert_eq!(request(at, "POST", &done, Some(json!({}))).await.0, 204);
    assert_eq!(json_of(at, "GET", "/api/reminders", None).await, json!([]));

    let support = json_of(at, "GET", "/api/accounts?team=support", None).await;
    assert_eq!(support["team"], "support");
    let row = &support["accounts"][0];
    assert!(
        row["open_ticket"].is_string(),
        "ana's ticket is open: {row}"
    );
    assert_eq!(row["last_support_touch"], Value::Null);
    assert_eq!(row["open_deals"], json!({ "deals": 0, "totals": [] }));
    let ticketed = json_of(
        at,
        "GET",
        "/api/accounts?team=support&open_ticket=true",
        None,
    )
    .await;
    assert_eq!(ticketed["total"], 1);
    let with_deals = json_of(at, "GET", "/api/accounts?team=sales&open_deals=true", None).await;
    assert_eq!(with_deals["total"], 0);
    let (status, body) = request(at, "GET", "/api/accounts?team=legal", None).await;
    assert_eq!(status, 400, "{body}");

    let dashboard = json_of(at, "GET", "/api/dashboard", None).await;
    assert_eq!(dashboard["team"], "support", "my own team by default");
    assert_eq!(dashboard["recent"][0]["text"], "Login fails\nsince Monday");
    assert_eq!(dashboard["recent"][0]["account_name"], "Globex");
    let marketing = json_of(at, "GET", "/api/dashboard?team=marketing", None).await;
    assert_eq!(marketing["recent"], json!([]));
}
