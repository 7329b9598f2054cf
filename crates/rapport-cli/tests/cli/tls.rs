//! `relay serve --tls-cert/--tls-key` and members on `wss://`: the real binaries, a CA and a
//! relay certificate made at test time, the CA given to `join --ca-cert` and kept for `sync`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use crate::processes::{PATIENCE, SYNC_TIMEOUT, Spawned};
use crate::support::{Data, str_at, tmp};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// A CA, and a certificate it issued for 127.0.0.1, written as PEM files in `dir`.
struct Pki {
    ca: PathBuf,
    certificate: PathBuf,
    key: PathBuf,
}

impl Pki {
    fn make(dir: &Path) -> Self {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Rapport test CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate().unwrap();
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().unwrap();
        let certificate = params.signed_by(&key, &issuer).unwrap();
        let pki = Self {
            ca: dir.join("ca.pem"),
            certificate: dir.join("relay.pem"),
            key: dir.join("relay.key"),
        };
        std::fs::write(&pki.ca, ca.pem()).unwrap();
        std::fs::write(&pki.certificate, certificate.pem()).unwrap();
        std::fs::write(&pki.key, key.serialize_pem()).unwrap();
        pki
    }
}

/// `relay serve` with TLS on a port of its choosing; its `wss://` URL from its first line.
fn serve_tls(store: &Data, pki: &Pki) -> (Spawned, String) {
    let args = [
        OsStr::new("--data"),
        store.dir.as_os_str(),
        OsStr::new("relay"),
        OsStr::new("serve"),
        OsStr::new("--listen"),
        OsStr::new("127.0.0.1:0"),
        OsStr::new("--tls-cert"),
        pki.certificate.as_os_str(),
        OsStr::new("--tls-key"),
        pki.key.as_os_str(),
    ];
    let relay = Spawned::start(args);
    let first = relay.next_line(PATIENCE);
    let url = first
        .strip_prefix("relay listening on ")
        .unwrap_or_else(|| panic!("the relay's first line should give its address: {first}"))
        .to_owned();
    assert!(url.starts_with("wss://127.0.0.1:"), "{url}");
    (relay, url)
}

fn join_args<'a>(url: &'a str, token: &'a str) -> Vec<&'a OsStr> {
    ["join", url, "--token", token, "--timeout", SYNC_TIMEOUT]
        .map(OsStr::new)
        .to_vec()
}

#[test]
fn members_join_and_sync_over_wss_with_the_relays_ca() {
    let tmp = tmp();
    let pki = Pki::make(tmp.path());
    let store = Data::at(tmp.path().join("relay"));
    let ana_token = store.invite("ana", "sales", "member");
    let sam_token = store.invite("sam", "support", "member");
    let (_relay, url) = serve_tls(&store, &pki);

    // Without the CA the relay's certificate is not trusted, and no replica is made.
    let stranger = Data::at(tmp.path().join("stranger"));
    stranger
        .run(join_args(&url, &sam_token))
        .fails_with(&["the relay's certificate is not trusted", "--ca-cert"]);
    assert!(!stranger.replica_file().exists());

    let ca = pki.ca.as_os_str();
    let ana = Data::at(tmp.path().join("ana"));
    let mut args = join_args(&url, &ana_token);
    args.extend([OsStr::new("--ca-cert"), ca]);
    ana.run(args).ok();
    let account = ana.add_account("Globex", &[]);
    // The CA was kept with the replica: a plain `sync` trusts the relay.
    let synced = ana.run_json(["sync", "--timeout", SYNC_TIMEOUT]).json();
    assert_eq!(str_at(&synced, "relay"), url);

    let sam = Data::at(tmp.path().join("sam"));
    let mut args = join_args(&url, &sam_token);
    args.extend([OsStr::new("--ca-cert"), ca]);
    sam.run(args).ok();
    assert_eq!(sam.account_ids(), vec![account.clone()]);
    assert_eq!(str_at(&sam.show(&account), "name"), "Globex");

    // `sync --ca-cert` with a CA that did not issue the relay's certificate is refused, and the
    // CA kept from the join stays.
    let other_dir = tmp.path().join("other");
    std::fs::create_dir(&other_dir).unwrap();
    let other = Pki::make(&other_dir);
    let args = ["sync", "--timeout", SYNC_TIMEOUT, "--ca-cert"].map(OsStr::new);
    let mut with_other = args.to_vec();
    with_other.push(other.ca.as_os_str());
    ana.run(with_other)
        .fails_with(&["the relay's certificate is not trusted"]);
    ana.run(["sync", "--timeout", SYNC_TIMEOUT]).ok();
}

#[test]
fn relay_serve_needs_both_tls_files_and_names_the_one_it_cannot_use() {
    let tmp = tmp();
    let pki = Pki::make(tmp.path());
    let store = Data::at(tmp.path().join("relay"));
    let serve = |more: &[&OsStr]| {
        let mut args = ["relay", "serve", "--listen", "127.0.0.1:0"]
            .map(OsStr::new)
            .to_vec();
        args.extend(more);
        store.run(args)
    };
    serve(&[OsStr::new("--tls-cert"), pki.certificate.as_os_str()]).refused_with(&["--tls-key"]);
    serve(&[OsStr::new("--tls-key"), pki.key.as_os_str()]).refused_with(&["--tls-cert"]);

    let missing = tmp.path().join("missing.pem");
    serve(&[
        OsStr::new("--tls-cert"),
        missing.as_os_str(),
        OsStr::new("--tls-key"),
        pki.key.as_os_str(),
    ])
    .fails_with(&["cannot read the TLS certificate file", "missing.pem"]);
    serve(&[
        OsStr::new("--tls-cert"),
        pki.certificate.as_os_str(),
        OsStr::new("--tls-key"),
        pki.ca.as_os_str(),
    ])
    .fails_with(&["the TLS key file", "ca.pem", "private key"]);
}

#[test]
fn join_refuses_a_ca_file_that_holds_no_certificate() {
    let tmp = tmp();
    let pki = Pki::make(tmp.path());
    let member = Data::at(tmp.path().join("ana"));
    let mut args = join_args("wss://127.0.0.1:9/", "rpt_x_y");
    args.extend([OsStr::new("--ca-cert"), pki.key.as_os_str()]);
    member
        .run(args)
        .fails_with(&["relay.key", "no -----BEGIN CERTIFICATE-----"]);
    assert!(!member.replica_file().exists());
}
