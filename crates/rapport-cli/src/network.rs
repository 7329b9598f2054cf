//! The commands that touch the network: `join`, `sync`, and `relay serve / invite / revoke`.
//! Each builds its own tokio runtime; the rest of the CLI stays synchronous.

use std::io::ErrorKind;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rapport_client::link::{self, LinkError, LinkEvent, LinkState};
use rapport_proto::{ADMIN_FILE, AdminEndpoint, AdminRequest, AdminResponse};
use rapport_relay::{Relay, RelayConfig, RelayError, TlsIdentity, admin};
use rapport_store::{OpenError, Remote, Replica};
use serde_json::json;
use tokio::net::TcpListener;

use crate::cli::{JoinArgs, RelayCommand, SyncArgs, UiArgs};
use crate::output::Output;

/// The runtime of every command that goes on the network, `rapport relay serve` among them;
/// its blocking pool is bounded as a relay's should be.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(rapport_relay::BLOCKING_THREADS)
        .build()
        .context("cannot start the async runtime")
}

/// Logs to stderr at `RAPPORT_LOG` (error, warn, info, debug, trace), else `default`.
pub(crate) fn init_logging(default: tracing::Level) {
    let level = std::env::var("RAPPORT_LOG")
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(default);
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

pub fn join(data: &Path, args: JoinArgs, out: &Output) -> anyhow::Result<()> {
    init_logging(tracing::Level::WARN);
    let timeout = Duration::from_secs(args.timeout);
    let path = data.join(rapport_store::REPLICA_FILE);
    if path.exists() {
        // Said before anything goes over the network.
        return Err(OpenError::AlreadyExists { path }.into());
    }
    let remote = Remote {
        url: args.url,
        token: Some(args.token),
        ca_cert: args.ca_cert.as_deref().map(read_ca_cert).transpose()?,
    };
    let (mut replica, report) = runtime()?
        .block_on(link::join_remote(
            data,
            remote,
            timeout,
            link::Indexing::Later,
        ))
        .map_err(|error| joined_error(error, data))?;
    // A small workspace is indexed whole here; a large one is usable at once, the rest being
    // indexed by `rapport ui` or `sync --watch` in the background, or first by any other command.
    let unindexed = replica.index_pending(link::JOIN_INDEXES)?;
    let new_alerts = replica.alerts(false)?;
    let workspace = replica.workspace()?;
    if out.json {
        return out.print_json(&json!({
            "workspace": workspace,
            "user": replica.user().as_str(),
            "team": replica.team().as_str(),
            "data": data,
            "documents_received": report.changed,
            "new_alerts": new_alerts,
            "unindexed": unindexed,
        }));
    }
    let mut text = format!(
        "joined workspace {} as {} ({}) in {}: {} documents, {} accounts, {} alerts for you",
        workspace.name,
        replica.user(),
        replica.team(),
        data.display(),
        report.changed,
        workspace.accounts,
        new_alerts.len(),
    );
    if unindexed > 0 {
        text.push_str(&format!(
            "\n{unindexed} documents are not in lists, search and alerts yet: `rapport ui` indexes \
             them in the background, any other command first"
        ));
    }
    out.print(&text)
}

/// A failed join leaves no half-made replica behind (`join` refuses a directory that already
/// holds one before it starts, so the replica removed here is always the one it made).
fn joined_error(error: LinkError, data: &Path) -> anyhow::Error {
    if !matches!(error, LinkError::Open(_)) {
        let _ = std::fs::remove_file(data.join(rapport_store::REPLICA_FILE));
    }
    error.into()
}

/// The CA certificate in `path`, checked, as it is kept with a replica's relay.
fn read_ca_cert(path: &Path) -> anyhow::Result<String> {
    let pem = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the CA certificate {}", path.display()))?;
    link::check_ca_certificate(&pem)
        .with_context(|| format!("cannot use {} as a CA certificate", path.display()))?;
    Ok(pem)
}

pub fn sync(mut replica: Replica, args: SyncArgs, out: &Output) -> anyhow::Result<()> {
    init_logging(tracing::Level::WARN);
    let ca_cert = args.ca_cert.as_deref().map(read_ca_cert).transpose()?;
    // Another relay, or another CA for this one: kept once it worked, like a new relay.
    let other = match (args.relay, ca_cert) {
        (Some(url), ca_cert) => Some(Remote {
            url,
            token: args.token,
            ca_cert,
        }),
        (None, Some(ca_cert)) => Some(Remote {
            ca_cert: Some(ca_cert),
            ..replica.remote()?.ok_or(LinkError::NoRemote)?
        }),
        (None, None) => None,
    };
    let rt = runtime()?;
    let verbose = args.verbose;
    if args.watch {
        // A live link has no end to wait for: the new relay is kept from the start.
        if let Some(remote) = &other {
            replica.set_remote(remote)?;
        }
        let remote = replica.remote()?.ok_or(LinkError::NoRemote)?;
        let on_event = |event: LinkEvent<'_>| match event {
            LinkEvent::Alert(alert) => {
                let _ = if out.json {
                    out.print_json(alert)
                } else {
                    out.print(&format!(
                        "alert {}: {} ({}) on {}: {}",
                        alert.id, alert.author, alert.team, alert.account, alert.text
                    ))
                };
            }
            LinkEvent::Status(status) => match (status.state, &status.error) {
                (LinkState::Offline, Some(reason)) => eprintln!("{}: {reason}", remote.url),
                (state, _) => eprintln!("{}: connected, {}", remote.url, state.as_str()),
            },
            LinkEvent::Changed(ids) if verbose => {
                for id in ids {
                    eprintln!("changed here: {id}");
                }
            }
            LinkEvent::Changed(_) | LinkEvent::Indexed { .. } => {}
        };
        rt.block_on(async {
            tokio::select! {
                result = link::watch(replica, on_event) => result.map_err(anyhow::Error::from),
                _ = shutdown_signal() => Ok(()),
            }
        })?;
        return Ok(());
    }
    let remote = match &other {
        Some(remote) => remote.clone(),
        None => replica.remote()?.ok_or(LinkError::NoRemote)?,
    };
    let timeout = Duration::from_secs(args.timeout);
    let (_, report) = rt
        .block_on(link::sync_once_with(replica, other, timeout))
        .map_err(|error| name_the_relay(error, &remote.url))?;
    if out.json {
        return out.print_json(&json!({
            "relay": remote.url,
            "changed": report.changed,
            "new_alerts": report.new_alerts,
        }));
    }
    let mut text = format!(
        "synced with {}: {} documents updated here",
        remote.url, report.changed
    );
    for alert in &report.new_alerts {
        text.push_str(&format!(
            "\nnew alert {}: {} ({}): {}",
            alert.id, alert.author, alert.team, alert.text
        ));
    }
    out.print(&text)
}

/// Errors that happen once connected do not say where; the person needs to know which relay.
fn name_the_relay(error: LinkError, url: &str) -> anyhow::Error {
    match error {
        LinkError::Closed { .. } | LinkError::Protocol { .. } | LinkError::Timeout { .. } => {
            anyhow::Error::from(error).context(format!("sync with {url} failed"))
        }
        other => other.into(),
    }
}

pub fn relay(data: &Path, command: RelayCommand, out: &Output) -> anyhow::Result<()> {
    match command {
        RelayCommand::Serve {
            listen,
            admin,
            ping_interval,
            max_frame_mib,
            max_connections_per_token,
            max_open_connections,
            tls_cert,
            tls_key,
            webhook_ca_cert,
        } => {
            init_logging(tracing::Level::INFO);
            let webhooks = crate::webhook::config(webhook_ca_cert.as_deref())?;
            // clap gives both or neither.
            let tls = match (tls_cert, tls_key) {
                (Some(certificate), Some(key)) => {
                    Some(TlsIdentity::from_pem_files(&certificate, &key)?)
                }
                _ => None,
            };
            let config = RelayConfig {
                ping_interval: Duration::from_secs(ping_interval.max(1)),
                max_frame_bytes: max_frame_mib.max(1) * 1024 * 1024,
                max_connections_per_token: max_connections_per_token.max(1),
                max_open_connections: max_open_connections.max(1),
                tls,
                webhooks,
                ..RelayConfig::default()
            };
            serve(data, &listen, &admin, config, out)
        }
        RelayCommand::Invite {
            workspace,
            user,
            team,
            role,
        } => {
            let request = AdminRequest::Invite {
                workspace,
                user: user.to_string(),
                team: team.to_string(),
                role: role.to_string(),
            };
            match administer(data, request)? {
                AdminResponse::Invited {
                    token,
                    workspace_id,
                    created,
                } => {
                    if out.json {
                        return out.print_json(&json!({
                            "token": token,
                            "workspace_id": workspace_id,
                            "created": created,
                        }));
                    }
                    let made = if created { ", a new workspace" } else { "" };
                    eprintln!(
                        "invited {user} ({team}, {role}) to {workspace_id}{made}; the token:"
                    );
                    out.print(&token)
                }
                other => unexpected(other),
            }
        }
        RelayCommand::Webhook(command) => crate::webhook::run(data, command, out),
        RelayCommand::Revoke { workspace, user } => {
            let request = AdminRequest::Revoke {
                workspace,
                user: user.to_string(),
            };
            match administer(data, request)? {
                AdminResponse::Revoked { tokens } => {
                    if out.json {
                        return out.print_json(&json!({ "revoked": tokens }));
                    }
                    out.print(&format!("revoked {tokens} token(s) of {user}"))
                }
                other => unexpected(other),
            }
        }
    }
}

pub(crate) fn unexpected(response: AdminResponse) -> anyhow::Result<()> {
    match response {
        AdminResponse::Failed { error } => bail!("{error}"),
        other => bail!("unexpected answer from the relay: {other:?}"),
    }
}

/// How long an admin command waits for a relay that holds the store but has not yet written,
/// or has just removed, `admin.json` (it is starting or stopping).
const ADMIN_FILE_WAIT: Duration = Duration::from_secs(3);

/// Runs an admin request on the relay's store directly, or through the running relay's admin
/// endpoint when the relay holds the store.
pub(crate) fn administer(data: &Path, request: AdminRequest) -> anyhow::Result<AdminResponse> {
    let deadline = Instant::now() + ADMIN_FILE_WAIT;
    loop {
        match Relay::open(data, RelayConfig::default()) {
            Ok(relay) => return Ok(admin::handle(relay.hubs(), request)),
            Err(RelayError::Open(OpenError::InUse { .. })) => {
                let file = data.join(ADMIN_FILE);
                match std::fs::read_to_string(&file) {
                    Ok(text) => return administer_running(&file, &text, &request),
                    Err(error)
                        if error.kind() == ErrorKind::NotFound && Instant::now() < deadline =>
                    {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    Err(error) => {
                        return Err(error).with_context(|| {
                            format!(
                                "the relay store is in use, but {} cannot be read",
                                file.display()
                            )
                        });
                    }
                }
            }
            Err(error) => return Err(error.into()),
        }
    }
}

/// Sends an admin request to the running relay that `text`, read from `file`, points at.
fn administer_running(
    file: &Path,
    text: &str,
    request: &AdminRequest,
) -> anyhow::Result<AdminResponse> {
    let endpoint: AdminEndpoint =
        serde_json::from_str(text).with_context(|| format!("{} is damaged", file.display()))?;
    runtime()?
        .block_on(link::admin(&endpoint, request))
        .context("cannot reach the running relay's admin endpoint")
}

fn serve(
    data: &Path,
    listen: &str,
    admin: &str,
    config: RelayConfig,
    out: &Output,
) -> anyhow::Result<()> {
    let scheme = if config.tls.is_some() { "wss" } else { "ws" };
    let relay = Relay::open(data, config)?;
    runtime()?.block_on(async {
        let public = TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let admin_listener = TcpListener::bind(admin)
            .await
            .with_context(|| format!("cannot listen on {admin} for the admin endpoint"))?;
        if !admin_listener.local_addr()?.ip().is_loopback() {
            bail!("the admin endpoint must listen on a loopback address, not {admin}");
        }
        let listening = relay.listen(public, admin_listener)?;
        let address = listening.public_address()?;
        if out.json {
            out.print_json(&json!({ "listening": format!("{scheme}://{address}") }))?;
        } else {
            out.print(&format!("relay listening on {scheme}://{address}"))?;
        }
        listening.serve(shutdown_signal()).await?;
        Ok(())
    })
}

/// Resolves on Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

pub fn ui(replica: Replica, args: UiArgs, out: &Output) -> anyhow::Result<()> {
    init_logging(tracing::Level::WARN);
    let (user, team) = (replica.user().clone(), replica.team());
    runtime()?.block_on(async move {
        let listener = rapport_node::bind_loopback(args.listen)
            .await
            .with_context(|| format!("cannot serve the web UI on {}", args.listen))?;
        let page = format!("http://{}/", listener.local_addr()?);
        if out.json {
            out.print_json(&json!({ "url": page, "user": user.as_str(), "team": team }))?;
        } else {
            out.print(&format!("Rapport for {user} ({team}): {page}"))?;
        }
        rapport_node::LocalNode::new(replica)
            .serve(listener, shutdown_signal())
            .await?;
        Ok(())
    })
}
