//! `acusql serve`: the catalog over Arrow Flight SQL until Ctrl-C or SIGTERM.

use acumatica_flight::{FlightAuth, FlightSqlServer, TlsFiles};
use anyhow::{Context, Result, bail};

use crate::cli::{Cli, ServeArgs};
use crate::connect;

pub async fn run(cli: &Cli, args: &ServeArgs) -> Result<()> {
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
    let session = connect::open(cli).await?;
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
    let server = FlightSqlServer::new(session.ctx.clone(), auth);
    let result = server.serve(listener, tls, shutdown_signal()).await;
    if let Err(e) = session.conn.close().await {
        tracing::warn!("sign-out failed: {e}");
    }
    drop(session.demo);
    result.context("Flight SQL server")?;
    eprintln!("Flight SQL server stopped.");
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM, so the Acumatica session is signed out either way.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
