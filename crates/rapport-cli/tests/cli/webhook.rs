//! `rapport relay webhook set / show / clear` on a running `rapport relay serve`, with a plain
//! HTTP receiver on loopback in the test: a member's alert is posted to it, signed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use hmac::{KeyInit, Mac};
use serde_json::{Value, json};

use crate::processes::{PATIENCE, RelayServer, wait_until};
use crate::support::{Data, tmp};

mod recipients;

const SECRET: &str = "cli-webhook-secret-0123456789";

/// One POST as the receiver read it: lowercase header names and values, and the body.
struct Post {
    headers: Vec<(String, String)>,
    body: String,
}

impl Post {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .unwrap_or_else(|| panic!("the request has {name}"))
    }
}

/// An HTTP/1.1 server on loopback that answers every request 204 and hands it over.
fn receiver() -> (String, mpsc::Receiver<Post>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (sender, posts) = mpsc::channel();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut headers = Vec::new();
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            assert!(line.starts_with("POST /hook "), "{line}");
            loop {
                line.clear();
                reader.read_line(&mut line).unwrap();
                let Some((name, value)) = line.trim_end().split_once(':') else {
                    break;
                };
                headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
            }
            let length: usize = headers
                .iter()
                .find(|(name, _)| name == "content-length")
                .map_or(0, |(_, value)| value.parse().unwrap());
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            stream
                .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
                .unwrap();
            let body = String::from_utf8(body).unwrap();
            if sender.send(Post { headers, body }).is_err() {
                return;
            }
        }
    });
    (url, posts)
}

#[test]
fn a_webhook_set_on_a_running_relay_receives_a_members_alert_signed() {
    let tmp = tmp();
    let store = Data::at(tmp.path().join("relay"));
    let token = store.invite("ana", "support", "member");
    let mut relay = RelayServer::start(&store);
    let (url, posts) = receiver();
    let secret_file = tmp.path().join("secret");
    std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();

    let set = store
        .run_json([
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
        .json();
    assert_eq!(set["workspace"], "Acme");
    assert_eq!(set["webhook"]["url"], url.as_str());
    assert_eq!(set["webhook"]["pending"], 0);
    assert!(
        !set.to_string().contains(SECRET),
        "the secret is never shown back"
    );

    let ana = Data::join_relay(tmp.path().join("ana"), &relay.url, &token);
    let account = ana.add_account("Globex", &[]);
    let note = ana.id_of([
        "note",
        "add",
        &account,
        "wants a call back",
        "--alert",
        "sales",
    ]);
    ana.sync().ok();

    let post = posts.recv_timeout(PATIENCE).expect("the alert is posted");
    let timestamp = post.header("x-rapport-timestamp");
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{}", post.body).as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        post.header("x-rapport-signature"),
        format!("sha256={expected}")
    );
    assert_eq!(post.header("content-type"), "application/json");
    let body: Value = serde_json::from_str(&post.body).unwrap();
    assert_eq!(body["entry"]["id"], note.as_str());
    assert_eq!(body["entry"]["text"], "wants a call back");
    assert_eq!(body["entry"]["alert"], json!(["sales"]));
    assert_eq!(body["account"]["name"], "Globex");
    assert_eq!(body["workspace"]["name"], "Acme");

    let show = || {
        store
            .run_json(["relay", "webhook", "show", "--workspace", "Acme"])
            .json()
    };
    wait_until("the delivered event leaves the outbox", PATIENCE, || {
        show()["webhook"]["pending"] == 0
    });
    let text = store
        .run(["relay", "webhook", "show", "--workspace", "Acme"])
        .ok();
    assert!(text.stdout.contains(&url), "{}", text.stdout);
    assert!(!text.stdout.contains(SECRET));

    let cleared = store
        .run_json(["relay", "webhook", "clear", "--workspace", "Acme"])
        .json();
    assert_eq!(cleared["cleared"], true);
    assert_eq!(show()["webhook"], Value::Null);
    ana.id_of([
        "note",
        "add",
        &account,
        "after clearing",
        "--alert",
        "sales",
    ]);
    ana.sync().ok();
    assert!(
        posts.recv_timeout(Duration::from_millis(1500)).is_err(),
        "nothing is posted once the webhook is cleared"
    );
    assert!(
        !relay.process().stderr().contains(SECRET),
        "the secret is never logged"
    );
}

#[test]
fn a_webhook_url_that_is_not_http_a_short_secret_or_a_bad_ca_file_is_refused() {
    let tmp = tmp();
    let store = Data::at(tmp.path().join("relay"));
    store.invite("ana", "support", "member");
    let secret_file = tmp.path().join("secret");
    std::fs::write(&secret_file, SECRET).unwrap();
    for (url, error) in [
        ("ftp://example.com/hook", "invalid webhook URL"),
        ("https://user:pw@example.com/", "no user name or password"),
    ] {
        store
            .run([
                "relay",
                "webhook",
                "set",
                "--workspace",
                "Acme",
                "--url",
                url,
                "--secret-file",
                secret_file.to_str().unwrap(),
            ])
            .fails_with(&[error]);
    }
    std::fs::write(&secret_file, "short\n").unwrap();
    store
        .run([
            "relay",
            "webhook",
            "set",
            "--workspace",
            "Acme",
            "--url",
            "http://127.0.0.1:9/hook",
            "--secret-file",
            secret_file.to_str().unwrap(),
        ])
        .fails_with(&["invalid webhook secret"]);
    let shown = store
        .run(["relay", "webhook", "show", "--workspace", "Acme"])
        .ok();
    assert_eq!(shown.stdout, "Acme has no webhook\n");

    let not_a_ca = tmp.path().join("not-a-ca.pem");
    std::fs::write(&not_a_ca, "not a certificate\n").unwrap();
    let not_a_ca = not_a_ca.to_str().unwrap();
    store
        .run([
            "relay",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--webhook-ca-cert",
            not_a_ca,
        ])
        .fails_with(&[not_a_ca, "invalid CA certificate for webhooks"]);
}
