//! `rapport relay webhook set / show / clear`: a workspace's webhook, through the relay's admin
//! channel like `invite` and `revoke` (in-process on a stopped relay's store, else through the
//! running relay's admin endpoint).

use std::path::Path;

use anyhow::Context;
use rapport_proto::{AdminRequest, AdminResponse, WebhookInfo, WebhookSecret, WebhookUrl};
use rapport_relay::webhooks::{self, WebhookConfig};
use serde_json::json;

use crate::cli::WebhookCommand;
use crate::network::{administer, unexpected};
use crate::output::Output;

/// The relay's webhook settings for `relay serve`: the defaults, trusting the CA in `ca_file`
/// too when given (read and checked now, so that a bad file stops the relay at start).
pub fn config(ca_file: Option<&Path>) -> anyhow::Result<WebhookConfig> {
    let Some(file) = ca_file else {
        return Ok(WebhookConfig::default());
    };
    let pem =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    webhooks::check_ca_pem(&pem).with_context(|| format!("{}", file.display()))?;
    Ok(WebhookConfig {
        extra_ca_pem: Some(pem),
        ..WebhookConfig::default()
    })
}

pub fn run(data: &Path, command: WebhookCommand, out: &Output) -> anyhow::Result<()> {
    match command {
        WebhookCommand::Set {
            workspace,
            url,
            secret_file,
        } => {
            let secret = std::fs::read_to_string(&secret_file)
                .with_context(|| format!("cannot read {}", secret_file.display()))?;
            let request = AdminRequest::SetWebhook {
                workspace,
                url: WebhookUrl(url),
                secret: WebhookSecret(secret.trim_end_matches(['\n', '\r']).to_owned()),
            };
            show(administer(data, request)?, out)
        }
        WebhookCommand::Show { workspace } => show(
            administer(data, AdminRequest::ShowWebhook { workspace })?,
            out,
        ),
        WebhookCommand::Clear { workspace } => {
            let request = AdminRequest::ClearWebhook {
                workspace: workspace.clone(),
            };
            match administer(data, request)? {
                AdminResponse::WebhookCleared {
                    had_webhook,
                    dropped_events,
                } => {
                    if out.json {
                        return out.print_json(&json!({
                            "workspace": workspace,
                            "cleared": had_webhook,
                            "dropped_events": dropped_events,
                        }));
                    }
                    if had_webhook {
                        out.print(&format!(
                            "removed the webhook of {workspace}; {dropped_events} undelivered event(s) dropped"
                        ))
                    } else {
                        out.print(&format!("{workspace} has no webhook"))
                    }
                }
                other => unexpected(other),
            }
        }
    }
}

fn show(response: AdminResponse, out: &Output) -> anyhow::Result<()> {
    let AdminResponse::Webhook { workspace, webhook } = response else {
        return unexpected(response);
    };
    if out.json {
        let webhook = webhook.map(|w| {
            json!({
                "url": w.url.0,
                "secret_sha256": w.secret_sha256,
                "pending": w.pending,
            })
        });
        return out.print_json(&json!({ "workspace": workspace, "webhook": webhook }));
    }
    match webhook {
        Some(WebhookInfo {
            url,
            secret_sha256,
            pending,
        }) => out.print(&format!(
            "{workspace}: alerts go to {}\nsecret: sha256 {secret_sha256}…\nwaiting: {pending} event(s)",
            url.0
        )),
        None => out.print(&format!("{workspace} has no webhook")),
    }
}
