//! Command-line options.

use std::path::PathBuf;

use acumatica_client::Secret;
use clap::{Parser, Subcommand};

use crate::print::Format;

// Secrets are `Secret`s, so the derived `Debug` of these options never shows them.

/// Query Acumatica ERP with SQL.
///
/// Connect with --connect, --url/--user/--company, ACUMATICA_* variables or --profile; or try
/// an embedded simulated company with --demo (never started unless asked for).
#[derive(Debug, Parser)]
#[command(name = "acusql", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Run against an embedded simulated Acumatica company (no server needed).
    #[arg(long, global = true)]
    pub demo: bool,

    /// Size of the demo company (1 ≈ 1,000 sales orders with 10,000 lines).
    #[arg(long, default_value_t = 1, global = true, value_name = "N")]
    pub demo_scale: u32,

    /// A CData-style connection string, e.g. "AuthScheme=Basic;Url=https://erp.example.com;User=admin;Password=…;Company=MyCompany".
    #[arg(
        long = "connect",
        value_name = "STRING",
        global = true,
        env = "ACUMATICA_CONNECTION",
        hide_env_values = true
    )]
    pub connection_string: Option<Secret>,

    /// A profile from the config file (`acusql/config.toml` in your config directory).
    #[arg(long, value_name = "NAME", global = true)]
    pub profile: Option<String>,

    /// Site URL (the instance root, or a full …/entity/Default/24.200.001/ URL).
    #[arg(long, value_name = "URL", global = true)]
    pub url: Option<String>,

    /// User name.
    #[arg(long, global = true)]
    pub user: Option<String>,

    /// Password (prefer the prompt or ACUMATICA_PASSWORD: command lines are visible to other users).
    #[arg(long, global = true, hide_env_values = true)]
    pub password: Option<Secret>,

    /// Tenant (company) login name.
    #[arg(long, global = true)]
    pub company: Option<String>,

    /// Branch ID to sign in to.
    #[arg(long, global = true)]
    pub branch: Option<String>,

    /// Basic, OAuth, OAuthImplicit, OAuthPassword.
    #[arg(long, value_name = "SCHEME", global = true)]
    pub auth_scheme: Option<String>,

    /// Contract endpoint version (default 24.200.001).
    #[arg(long, value_name = "VERSION", global = true)]
    pub endpoint_version: Option<String>,

    /// OAuth client id of the connected application (GUID@Tenant).
    #[arg(long, value_name = "ID", global = true)]
    pub client_id: Option<String>,

    /// OAuth client secret of the connected application.
    #[arg(long, value_name = "SECRET", global = true, hide_env_values = true)]
    pub client_secret: Option<Secret>,

    /// Run this SQL (or backslash command) and exit; may be repeated.
    #[arg(short = 'c', long = "command", value_name = "SQL")]
    pub command_sql: Vec<String>,

    /// Run the statements in this file and exit; may be repeated.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Vec<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Evaluate every filter locally instead of sending it to Acumatica.
    #[arg(long)]
    pub no_pushdown: bool,

    /// Do not print row counts and timings.
    #[arg(short, long)]
    pub quiet: bool,

    /// More log output on stderr (-v, -vv, -vvv); ACUSQL_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

// Parsed once per run: the size of the variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the Acumatica tables over Arrow Flight SQL (Python/ADBC, Flight SQL JDBC/ODBC)
    /// and/or the PostgreSQL protocol (psql, the PostgreSQL ODBC driver, BI tools, psycopg).
    Serve(ServeArgs),
    /// Sign in once with OAuth (browser, or a pasted code with OAuthVerifier) and store the
    /// tokens; later runs reuse and refresh them.
    Login,
    /// The metadata cache (swagger.json and OData $metadata kept between runs).
    #[command(subcommand)]
    Cache(CacheCommand),
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Delete every cached metadata document, so the next run reads them from Acumatica.
    Clear,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on for Flight SQL clients (default 127.0.0.1:50051 when --pg is not
    /// given either).
    #[arg(long = "flight", value_name = "ADDR")]
    pub flight: Option<std::net::SocketAddr>,

    /// Address to listen on for PostgreSQL-protocol clients, e.g. 127.0.0.1:5432.
    #[arg(long = "pg", value_name = "ADDR")]
    pub pg: Option<std::net::SocketAddr>,

    /// User name Postgres clients sign in with (SCRAM-SHA-256); the password is read from
    /// ACUSQL_PG_PASSWORD, never from the command line.
    #[arg(long, value_name = "NAME", env = "ACUSQL_PG_USER")]
    pub pg_user: Option<String>,

    /// User name clients sign in with (Flight handshake, Basic credentials).
    #[arg(long, value_name = "NAME", env = "ACUSQL_FLIGHT_USER")]
    pub flight_user: Option<String>,

    /// Password for --flight-user.
    #[arg(
        long,
        value_name = "PASSWORD",
        env = "ACUSQL_FLIGHT_PASSWORD",
        hide_env_values = true
    )]
    pub flight_password: Option<Secret>,

    /// A bearer token clients may send instead (`authorization: Bearer <token>`).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "ACUSQL_FLIGHT_TOKEN",
        hide_env_values = true
    )]
    pub flight_token: Option<Secret>,

    /// TLS certificate (PEM); with --tls-key, Flight clients connect with grpc+tls:// and
    /// Postgres clients with sslmode=require.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// TLS private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Let clients change Acumatica data (INSERT, UPDATE, DELETE). Without it the server is
    /// read-only: writes are refused with PERMISSION_DENIED.
    #[arg(long)]
    pub allow_writes: bool,
}

impl ServeArgs {
    /// The Flight SQL address: the one given, or the default when no server was named.
    pub fn flight_addr(&self) -> Option<std::net::SocketAddr> {
        match (self.flight, self.pg) {
            (Some(a), _) => Some(a),
            (None, None) => Some(std::net::SocketAddr::from(([127, 0, 0, 1], 50051))),
            (None, Some(_)) => None,
        }
    }
}

impl Cli {
    /// True when the user said how to reach an Acumatica instance.
    pub fn has_connection(&self) -> bool {
        self.connection_string.is_some()
            || self.url.is_some()
            || self.profile.is_some()
            || std::env::var_os("ACUMATICA_URL").is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secrets() {
        let cli = Cli::try_parse_from([
            "acusql",
            "--connect",
            "Url=https://erp.example.com;User=admin;Password=cs-hunter2",
            "--password",
            "pw-hunter2",
            "--client-secret",
            "secret-hunter2",
            "--user",
            "admin",
            "serve",
            "--flight-user",
            "flight",
            "--flight-password",
            "fp-hunter2",
            "--flight-token",
            "tok-hunter2",
        ])
        .unwrap();
        let text = format!("{cli:?} {cli:#?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("admin") && text.contains("flight"), "{text}");
        let Some(Command::Serve(args)) = &cli.command else {
            panic!("serve parsed");
        };
        assert_eq!(args.flight_token.as_ref().unwrap().expose(), "tok-hunter2");
        assert_eq!(cli.password.as_ref().unwrap().expose(), "pw-hunter2");
    }

    #[test]
    fn serve_defaults_to_flight_and_pg_alone_serves_only_pg() {
        let args = |extra: &[&str]| {
            let mut argv = vec!["acusql", "serve"];
            argv.extend_from_slice(extra);
            match Cli::try_parse_from(argv).unwrap().command {
                Some(Command::Serve(a)) => a,
                _ => panic!("serve parsed"),
            }
        };
        let a = args(&[]);
        assert_eq!(a.flight_addr().unwrap().port(), 50051);
        assert!(a.pg.is_none());
        let a = args(&["--pg", "127.0.0.1:5433"]);
        assert!(a.flight_addr().is_none());
        assert_eq!(a.pg.unwrap().port(), 5433);
        let a = args(&["--pg", "127.0.0.1:5433", "--flight", "127.0.0.1:0"]);
        assert_eq!(a.flight_addr().unwrap().port(), 0);
    }
}
