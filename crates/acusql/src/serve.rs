//! `acusql serve`: the catalog over Arrow Flight SQL until Ctrl-C or SIGTERM.

use acumatica_flight::{FlightAuth, FlightSqlServer, TlsFiles};
use std::io::IsTerminal;

use anyhow::{Context, Result, bail};

use crate::cli::{Cli, ServeArgs};
use crate::connect;
use crate::signals::Signals;

pub async fn run(cli: &Cli, args: &ServeArgs, mut signals: Signals) -> Result<()> {
    let mut auth = FlightAuth::none();
    match (&args.flight_user, &args.flight_password) {
        (Some(u), Some(p)) => auth = auth.with_user(u, p.expose()),
        (Some(_), None) => {
            bail!("--flight-user needs --flight-password (or ACUSQL_FLIGHT_PASSWORD)")
        }
        (None, Some(_)) => bail!("--flight-password needs --flight-user"),
        (None, None) => {}
    }
    if let Some(token) = &args.flight_token {
        auth = auth.with_token(token.expose());
    }
    if !args.flight.ip().is_loopback() && !auth.is_required() {
        bail!(
            "refusing to serve on {} without authentication: use --flight-user/--flight-password or --flight-token, or a loopback address",
            args.flight
        );
    }
    // A browser sign-in is only waited for when someone is at the terminal.
    let session = tokio::select! {
        s = connect::open(cli, std::io::stdin().is_terminal()) => s?,
        s = signals.recv(true) => bail!("{} before the server started", s.message()),
    };
    let listener = tokio::net::TcpListener::bind(args.flight)
        .await
        .with_context(|| format!("cannot listen on {}", args.flight))?;
    let addr = listener.local_addr()?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        }),
        _ => None,
    };
    let scheme = if tls.is_some() { "grpc+tls" } else { "grpc" };
    // Scripts wait for this line before connecting.
    println!("Flight SQL server listening on {scheme}://{addr}");
    let policy = acumatica_datafusion::StatementPolicy::server().with_writes(args.allow_writes);
    let server = FlightSqlServer::new(session.ctx.clone(), auth).with_policy(policy);
    let result = server
        .serve(listener, tls, async move {
            // Ctrl-C, SIGTERM or SIGHUP: stop accepting, then sign out below.
            let s = signals.recv(true).await;
            eprintln!("{}: stopping", s.message());
        })
        .await;
    if let Err(e) = session.conn.close().await {
        tracing::warn!("sign-out failed: {e}");
    }
    drop(session.demo);
    result.context("Flight SQL server")?;
    eprintln!("Flight SQL server stopped.");
    Ok(())
}
