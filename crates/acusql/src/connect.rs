//! From command-line options to a connection (signed in on its first request) and a
//! SessionContext with the Acumatica catalog registered.

use std::io::IsTerminal;

use acumatica_client::{Connection, ConnectionConfig, Secret, SignIn};
use acumatica_datafusion::AcumaticaOptions;
use anyhow::{Context, Result};
use datafusion::prelude::SessionContext;

use crate::cli::Cli;

/// A ready session; `demo` keeps the embedded simulator alive while it is used.
pub struct Session {
    pub ctx: SessionContext,
    pub conn: Connection,
    pub catalog: acumatica_datafusion::Registration,
    /// How the catalog was registered (`\refresh` registers it again the same way).
    pub options: AcumaticaOptions,
    pub demo: Option<acumatica_sim::SimHandle>,
}

/// Quotes a connection-string value when it holds `;`, quotes or surrounding spaces.
fn quote(value: &str) -> String {
    if value.contains([';', '"', '\'']) || value.trim() != value {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

/// The connection string the flags describe (flags are appended after `--connect`, so they win).
fn connection_string(cli: &Cli) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(s) = &cli.connection_string {
        parts.push(s.expose().trim().trim_end_matches(';').to_string());
    }
    let flags = [
        ("Url", cli.url.as_deref()),
        ("User", cli.user.as_deref()),
        ("Password", cli.password.as_ref().map(Secret::expose)),
        ("Company", cli.company.as_deref()),
        ("Branch", cli.branch.as_deref()),
        ("AuthScheme", cli.auth_scheme.as_deref()),
        ("EndpointVersion", cli.endpoint_version.as_deref()),
        ("OAuthClientId", cli.client_id.as_deref()),
        (
            "OAuthClientSecret",
            cli.client_secret.as_ref().map(Secret::expose),
        ),
    ];
    for (key, value) in flags {
        if let Some(v) = value {
            parts.push(format!("{key}={}", quote(v)));
        }
    }
    parts.retain(|p| !p.is_empty());
    parts.join(";")
}

pub fn config(cli: &Cli) -> Result<ConnectionConfig> {
    let text = connection_string(cli);
    // The shell keeps metadata in the user's cache directory unless told otherwise
    // (`MetadataCache=off`): a one-shot query then costs its data requests only.
    let base = ConnectionConfig {
        metadata_cache: acumatica_client::metadata_cache::MetadataCache::default_dir(),
        ..ConnectionConfig::default()
    };
    let mut config = ConnectionConfig::resolve_over(
        base,
        (!text.is_empty()).then_some(text.as_str()),
        cli.profile.as_deref(),
    )?;
    if config.needs_password() {
        if !std::io::stdin().is_terminal() {
            anyhow::bail!(
                "no password and no terminal to ask on: give Password in the connection string, ACUMATICA_PASSWORD, or a profile (nothing was sent to {})",
                config
                    .url
                    .as_ref()
                    .map(|u| u.as_str())
                    .unwrap_or("the server")
            );
        }
        let prompt = format!(
            "Password for {}: ",
            config.user.as_deref().unwrap_or("the Acumatica user")
        );
        let password = rpassword::prompt_password(prompt).context("cannot read the password")?;
        config.set_password(password);
    }
    Ok(config)
}

/// `acusql cache clear`: empties the metadata cache (`ACUMATICA_METADATACACHE` when set, else
/// the user's cache directory).
pub fn clear_cache() -> Result<()> {
    use acumatica_client::metadata_cache::{DEFAULT_TTL, MetadataCache};
    let dir = match std::env::var("ACUMATICA_METADATACACHE") {
        Ok(d) if !matches!(d.trim().to_ascii_lowercase().as_str(), "" | "off" | "none") => {
            std::path::PathBuf::from(d.trim())
        }
        _ => MetadataCache::default_dir()
            .ok_or_else(|| anyhow::anyhow!("no cache directory on this system"))?,
    };
    let removed = MetadataCache::new(&dir, DEFAULT_TTL)
        .clear()
        .with_context(|| format!("cannot clear the metadata cache in {}", dir.display()))?;
    println!(
        "Removed {removed} cached metadata document{} from {}.",
        if removed == 1 { "" } else { "s" },
        dir.display()
    );
    Ok(())
}

/// Starts the embedded simulator (demo) or resolves the configured connection and registers
/// the catalog (from the metadata cache when it is warm: no request at all; else the download
/// of swagger.json signs in). `allow_browser`: a person is there to finish a browser sign-in;
/// `sign_in`: at once, or on the first request that needs a session.
///
/// An error after a sign-in signs out before it is returned (the session is a licence seat).
pub async fn open(cli: &Cli, allow_browser: bool, sign_in: SignIn) -> Result<Session> {
    if !cli.demo && !cli.has_connection() {
        return Err(NoConnection.into());
    }
    let (config, demo) = if cli.demo {
        let sim = acumatica_sim::start(acumatica_sim::SimConfig {
            scale: cli.demo_scale,
            ..Default::default()
        })
        .await
        .context("cannot start the embedded demo simulator")?;
        let text = format!(
            "AuthScheme=Basic;Url={};User=admin;Password=demo;Company=Company",
            sim.base_url()
        );
        eprintln!(
            "Connected to a simulated Acumatica company (demo data, scale {}) at {} — nothing here is real.",
            cli.demo_scale,
            sim.base_url()
        );
        (ConnectionConfig::from_connection_string(&text)?, Some(sim))
    } else {
        (config(cli)?, None)
    };
    let conn = Connection::connect_with(
        config,
        acumatica_client::ConnectOptions {
            allow_browser,
            sign_in,
            ..Default::default()
        },
    )
    .await?;
    let ctx = SessionContext::new_with_config(acumatica_datafusion::session_config());
    let options = AcumaticaOptions {
        enable_pushdown: !cli.no_pushdown,
        ..Default::default()
    };
    let catalog = match acumatica_datafusion::register(&ctx, conn.clone(), options.clone()).await {
        Ok(c) => c,
        Err(e) => {
            if let Err(out) = conn.close().await {
                tracing::warn!("sign-out failed: {out}");
            }
            return Err(e.into());
        }
    };
    // For a person watching (not in a script's log), unless told to be quiet.
    if demo.is_none() && !cli.quiet && std::io::stderr().is_terminal() {
        eprintln!("{}", connected_line(conn.config()));
    }
    Ok(Session {
        ctx,
        conn,
        catalog,
        options,
        demo,
    })
}

/// "Connected to <site>, tenant <T>, as <user>, endpoint Default/24.200.001." — never a secret:
/// the URL loses any user info and query.
fn connected_line(config: &ConnectionConfig) -> String {
    let site = config.url.as_ref().map_or_else(
        || "Acumatica".to_string(),
        |u| {
            let mut u = u.clone();
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            u.as_str().trim_end_matches('/').to_string()
        },
    );
    let mut line = format!("Connected to {site}");
    if let Some(tenant) = &config.company {
        line.push_str(&format!(", tenant {tenant}"));
    }
    if let Some(user) = &config.user {
        line.push_str(&format!(", as {user}"));
    }
    line.push_str(&format!(
        ", endpoint {}/{}.",
        config.endpoint_name, config.endpoint_version
    ));
    line
}

/// Simulated data is only ever served when asked for: a script whose `ACUMATICA_URL` is unset
/// must fail, not answer from the demo.
#[derive(Debug, thiserror::Error)]
#[error(
    "no Acumatica connection configured: give --connect \"Url=…;User=…;Company=…\", \
     --url/--user/--company, ACUMATICA_URL (and ACUMATICA_USER, ACUMATICA_PASSWORD, …), \
     ACUMATICA_CONNECTION or --profile NAME; or try the simulated demo company with --demo"
)]
pub struct NoConnection;

/// `acusql login`: a fresh OAuth sign-in whose tokens are stored for later runs.
pub async fn login(cli: &Cli) -> Result<()> {
    if !cli.has_connection() {
        anyhow::bail!(
            "acusql login needs a connection: --url, --auth-scheme OAuth, --client-id and --client-secret (or --connect / --profile)"
        );
    }
    let config = config(cli)?;
    if !config.auth_scheme.is_oauth() {
        anyhow::bail!(
            "acusql login is for AuthScheme=OAuth, OAuthImplicit or OAuthPassword (Basic signs in on every run)"
        );
    }
    let store = acumatica_client::auth::TokenStore::for_config(&config);
    let conn = Connection::connect_with(
        config,
        acumatica_client::ConnectOptions {
            fresh_sign_in: true,
            ..Default::default()
        },
    )
    .await?;
    // The tokens stay valid; the API session (a licence seat) is released now.
    conn.close().await?;
    match store {
        acumatica_client::auth::TokenStore::File(path) => {
            eprintln!("Signed in. Tokens stored in {}", path.display())
        }
        acumatica_client::auth::TokenStore::Memory => {
            eprintln!("Signed in, but OAuthSettingsLocation=memory:// keeps nothing for later runs")
        }
    }
    Ok(())
}

/// One line for a person: the error and its causes, without Rust debug noise.
pub fn describe_error(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        // DataFusion's schema errors list every column of the table (kilobytes for a wide
        // entity): the summary keeps the did-you-mean hint only.
        use datafusion::error::DataFusionError;
        use datafusion::sql::sqlparser::parser::ParserError;
        let text = if let Some(DataFusionError::SQL(p, _)) = cause.downcast_ref() {
            syntax_error(p)
        } else if let Some(p) = cause.downcast_ref::<ParserError>() {
            syntax_error(p)
        } else if let Some(df) = cause.downcast_ref::<DataFusionError>() {
            acumatica_datafusion::error_summary(df, 400)
        } else {
            acumatica_datafusion::text_summary(&cause.to_string(), 400)
        };
        // DataFusion wraps errors (and repeats them with a prefix); keep each message once.
        if !parts
            .iter()
            .any(|p| p.contains(&text) || text.contains(p.as_str()))
        {
            parts.push(text);
        }
    }
    parts.join(": ")
}

/// A parser error once, in words: "syntax error: Expected: …, found: SELEC at Line: 1, Column: 1".
fn syntax_error(e: &datafusion::sql::sqlparser::parser::ParserError) -> String {
    use datafusion::sql::sqlparser::parser::ParserError;
    match e {
        ParserError::ParserError(m) | ParserError::TokenizerError(m) => {
            format!("syntax error: {m}")
        }
        ParserError::RecursionLimitExceeded => {
            "syntax error: the statement is nested too deeply".into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connected_line_names_site_tenant_user_and_endpoint_never_a_secret() {
        let config = ConnectionConfig::from_connection_string(
            "Url=https://erp.example.com/AcumaticaERP/?token=tk-hunter2;\
             User=admin;Password=hunter2;Company=MyCompany;EndpointVersion=23.200.001",
        )
        .unwrap();
        let line = connected_line(&config);
        assert_eq!(
            line,
            "Connected to https://erp.example.com/AcumaticaERP, tenant MyCompany, as admin, \
             endpoint Default/23.200.001."
        );
        assert!(!line.contains("hunter2"), "{line}");
    }
}
