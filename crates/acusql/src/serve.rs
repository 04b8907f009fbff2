//! `acusql serve`: the catalog over Arrow Flight SQL and/or the PostgreSQL protocol, both in
//! one process sharing one Acumatica connection (and its session budget), until Ctrl-C or
//! SIGTERM; then both stop accepting, running statements end, and the process signs out.

use std::io::IsTerminal;

use acumatica_flight::{FlightAuth, FlightSqlServer};
use acumatica_pg::{PgAuth, PgServer};
use anyhow::{Context, Result, bail};

use crate::cli::{Cli, ServeArgs};
use crate::connect;
use crate::signals::Signals;

/// The environment variable holding the password Postgres clients sign in with.
const PG_PASSWORD_ENV: &str = "ACUSQL_PG_PASSWORD";

pub async fn run(cli: &Cli, args: &ServeArgs, mut signals: Signals) -> Result<()> {
    let flight_addr = args.flight_addr();
    let flight_auth = flight_auth(args)?;
    if let Some(addr) = flight_addr
        && !addr.ip().is_loopback()
        && !flight_auth.is_required()
    {
        bail!(
            "refusing to serve on {addr} without authentication: use --flight-user/--flight-password or --flight-token, or a loopback address"
        );
    }
    let pg_auth = pg_auth(args)?;
    if let Some(addr) = args.pg
        && !addr.ip().is_loopback()
        && !pg_auth.is_required()
    {
        bail!(
            "refusing to serve on {addr} without authentication: use --pg-user with {PG_PASSWORD_ENV}, or a loopback address"
        );
    }
    // A browser sign-in is only waited for when someone is at the terminal; a server signs in
    // while starting, so a wrong password stops it at once, not at its first client.
    let session = tokio::select! {
        s = connect::open(cli, std::io::stdin().is_terminal(), acumatica_client::SignIn::AtConnect) => s?,
        s = signals.recv(true) => bail!("{} before the server started", s.message()),
    };
    let result = serve(
        args,
        flight_addr,
        flight_auth,
        pg_auth,
        &session.ctx,
        signals,
    )
    .await;
    if let Err(e) = session.conn.close().await {
        tracing::warn!("sign-out failed: {e}");
    }
    drop(session.demo);
    result
}

fn flight_auth(args: &ServeArgs) -> Result<FlightAuth> {
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
    Ok(auth)
}

fn pg_auth(args: &ServeArgs) -> Result<PgAuth> {
    if args.pg.is_none() {
        return Ok(PgAuth::none());
    }
    let password = std::env::var(PG_PASSWORD_ENV)
        .ok()
        .filter(|p| !p.is_empty());
    match (&args.pg_user, password) {
        (Some(u), Some(p)) => Ok(PgAuth::password(u, p)),
        (Some(_), None) => bail!("--pg-user needs the password in {PG_PASSWORD_ENV}"),
        (None, Some(_)) => bail!("{PG_PASSWORD_ENV} is set: name the user with --pg-user"),
        (None, None) => Ok(PgAuth::none()),
    }
}

async fn serve(
    args: &ServeArgs,
    flight_addr: Option<std::net::SocketAddr>,
    flight_auth: FlightAuth,
    pg_auth: PgAuth,
    ctx: &datafusion::prelude::SessionContext,
    mut signals: Signals,
) -> Result<()> {
    let tls = args.tls_cert.clone().zip(args.tls_key.clone());
    // Bind both before announcing either, so a busy port stops the start.
    let flight_listener = match flight_addr {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?,
        ),
        None => None,
    };
    let pg_listener = match args.pg {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?,
        ),
        None => None,
    };
    // Both servers refuse what the policy refuses; writes only with --allow-writes.
    let policy = acumatica_datafusion::StatementPolicy::server().with_writes(args.allow_writes);
    let pg_server = match &pg_listener {
        Some(_) => Some(
            PgServer::new(ctx, pg_auth)
                .context("PostgreSQL server")?
                .with_policy(policy),
        ),
        None => None,
    };

    // One stop signal for both servers: a signal, or the other server failing.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let wait = move |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };

    // Scripts wait for these lines before connecting.
    if let Some(l) = &flight_listener {
        let scheme = if tls.is_some() { "grpc+tls" } else { "grpc" };
        println!(
            "Flight SQL server listening on {scheme}://{}",
            l.local_addr()?
        );
    }
    if let Some(l) = &pg_listener {
        let addr = l.local_addr()?;
        println!(
            "PostgreSQL server listening on postgresql://{}:{}",
            addr.ip(),
            addr.port()
        );
    }

    let flight = async {
        let Some(listener) = flight_listener else {
            return Ok(());
        };
        let files = tls
            .clone()
            .map(|(cert, key)| acumatica_flight::TlsFiles { cert, key });
        let r = FlightSqlServer::new(ctx.clone(), flight_auth)
            .with_policy(policy)
            .serve(listener, files, wait(stopped.clone()))
            .await
            .context("Flight SQL server");
        let _ = stop.send(true);
        r
    };
    let pg = async {
        let (Some(listener), Some(server)) = (pg_listener, pg_server) else {
            return Ok(());
        };
        let files = tls
            .clone()
            .map(|(cert, key)| acumatica_pg::TlsFiles { cert, key });
        let r = server
            .serve(listener, files, wait(stopped.clone()))
            .await
            .context("PostgreSQL server");
        let _ = stop.send(true);
        r
    };
    let signal = async {
        tokio::select! {
            // Ctrl-C, SIGTERM or SIGHUP: stop accepting, then sign out (in `run`).
            s = signals.recv(true) => eprintln!("{}: stopping", s.message()),
            () = wait(stopped.clone()) => {}
        }
        let _ = stop.send(true);
    };
    let (flight, pg, ()) = tokio::join!(flight, pg, signal);
    flight?;
    pg?;
    eprintln!("Server stopped.");
    Ok(())
}
