//! `rapport relay ...`: the relay's own commands, as clap parses them.

use std::path::PathBuf;

use clap::Subcommand;
use rapport_model::{Role, Team, UserName};

/// `rapport relay ...`; the relay keeps its store in `--data DIR`.
#[derive(Debug, Subcommand)]
pub enum RelayCommand {
    /// Serve workspaces to their members over websockets
    Serve {
        /// Address to listen on for members
        #[arg(long, default_value = "127.0.0.1:7700")]
        listen: String,
        /// Loopback address for the admin endpoint (invite and revoke while running)
        #[arg(long, default_value = "127.0.0.1:0")]
        admin: String,
        /// Seconds between keepalive pings
        #[arg(long, default_value_t = 20)]
        ping_interval: u64,
        /// Largest message accepted, in MiB
        #[arg(long, default_value_t = 64)]
        max_frame_mib: usize,
        /// Most connections one member token may hold open at once
        #[arg(long, default_value_t = 64)]
        max_connections_per_token: usize,
        /// Most sockets the relay holds open at once, all members together (keep it under the
        /// limit on open files)
        #[arg(long, default_value_t = 8192)]
        max_open_connections: usize,
        /// Serve wss:// (TLS) with this certificate chain (PEM); needs --tls-key
        #[arg(long, value_name = "FILE", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The private key (PEM) of --tls-cert
        #[arg(long, value_name = "FILE", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Trust this CA certificate (PEM) for https:// webhooks, besides the system's roots
        #[arg(long, value_name = "FILE")]
        webhook_ca_cert: Option<PathBuf>,
    },
    /// Add a member (creating the workspace if new) and print their token
    Invite {
        /// Workspace name
        #[arg(long)]
        workspace: String,
        /// User name
        #[arg(long)]
        user: UserName,
        /// Team: sales, marketing or support
        #[arg(long)]
        team: Team,
        /// Role: admin, member or viewer
        #[arg(long, default_value = "member")]
        role: Role,
    },
    /// Revoke every token of a member, closing their connections
    Revoke {
        /// Workspace name
        #[arg(long)]
        workspace: String,
        /// User name
        #[arg(long)]
        user: UserName,
    },
    /// A workspace's webhook: the relay posts every alert that lands to it, signed
    #[command(subcommand)]
    Webhook(WebhookCommand),
}

/// `rapport relay webhook ...`.
#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Post the workspace's alerts to URL, signed with the secret in --secret-file (replaces
    /// the webhook set before)
    Set {
        /// Workspace name
        #[arg(long)]
        workspace: String,
        /// Where to post: http:// or https://
        #[arg(long)]
        url: String,
        /// A file holding the signing secret (16 or more printable characters; a final newline
        /// is ignored)
        #[arg(long, value_name = "FILE")]
        secret_file: PathBuf,
    },
    /// Show the workspace's webhook: its URL, a fingerprint of its secret, events waiting
    Show {
        /// Workspace name
        #[arg(long)]
        workspace: String,
    },
    /// Stop posting the workspace's alerts, dropping those not delivered yet
    Clear {
        /// Workspace name
        #[arg(long)]
        workspace: String,
    },
}
