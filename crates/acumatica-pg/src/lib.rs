//! A PostgreSQL wire-protocol server over a DataFusion [`SessionContext`]: the acusql catalog
//! for psql, the PostgreSQL ODBC driver (and every ODBC application through it), JDBC and BI
//! tools, and Python's Postgres drivers (psycopg, SQLAlchemy, pandas).
//!
//! Built on `pgwire` (the protocol), `arrow-pg` (Arrow ↔ Postgres values) and
//! `datafusion-pg-catalog` (the `pg_catalog` tables and functions clients query on connect and
//! when they list tables). The query handlers are our own: every statement passes the same
//! [`StatementPolicy`] as the Flight SQL server (read-only, no files, no DDL, no DataFusion
//! settings), refused ones with SQLSTATE 42501; each connection has its own session (its
//! `search_path`, its settings), all of them sharing the one upstream connection.
//!
//! Results stream batch by batch; a cancel request (psql's Ctrl-C, ODBC's `SQLCancel`) stops
//! the statement and, with it, its HTTP requests.
//!
//! ```no_run
//! # async fn demo(ctx: datafusion::prelude::SessionContext) -> Result<(), Box<dyn std::error::Error>> {
//! use acumatica_pg::{PgAuth, PgServer};
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:5432").await?;
//! let server = PgServer::new(&ctx, PgAuth::password("reporting", "s3cret"))?;
//! server.serve(listener, None, std::future::pending()).await?;
//! # Ok(()) }
//! ```

mod attribute;
mod auth;
mod cancel;
mod catalog;
mod copy;
mod cursor;
mod datarow;
mod encode;
mod error;
mod parser;
mod results;
mod rewrite;
mod session;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use acumatica_datafusion::StatementPolicy;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use tokio::task::JoinSet;

pub use auth::PgAuth;

/// Errors starting or running the server.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error("cannot read TLS {what} {path}: {source}")]
    TlsFile {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("TLS {what} {path} holds no usable {what}")]
    TlsEmpty { what: &'static str, path: String },
    #[error("TLS configuration refused: {0}")]
    Tls(#[from] tokio_rustls::rustls::Error),
    #[error(
        "refusing to serve on {addr} without authentication: bind to a loopback address, or configure a user and password"
    )]
    AuthRequired { addr: String },
    #[error("cannot set up the Postgres catalog: {0}")]
    Catalog(#[from] DataFusionError),
    #[error("cannot listen: {0}")]
    Listen(#[source] std::io::Error),
}

/// Certificate and private key (PEM files) for TLS.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: std::path::PathBuf,
    pub key: std::path::PathBuf,
}

/// How long running statements get to end after a shutdown was asked for, before the
/// connections are closed.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// A PostgreSQL-protocol server over one catalog.
pub struct PgServer {
    shared: session::Shared,
}

impl std::fmt::Debug for PgServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgServer")
            .field("auth", &self.shared.auth)
            .field("policy", &self.shared.policy)
            .finish()
    }
}

impl PgServer {
    /// A server with the strict statement policy ([`StatementPolicy::server`]) over the
    /// catalogs of `ctx`. `ctx` itself is left as it is: the server works on its own copy of
    /// the session, with `pg_catalog` added to the default catalog, and shares the tables
    /// (and so the upstream connection) with it.
    pub fn new(ctx: &SessionContext, auth: PgAuth) -> Result<Self, PgError> {
        let base = catalog::pg_state(ctx)?;
        Ok(Self {
            shared: session::Shared::new(base, auth, StatementPolicy::server()),
        })
    }

    /// Replaces the statement policy (e.g. to allow writes to Acumatica).
    pub fn with_policy(mut self, policy: StatementPolicy) -> Self {
        self.shared.policy = policy;
        self
    }

    /// Serves until `shutdown` completes: then stops accepting, cancels running statements
    /// and closes the connections. Refuses a non-loopback address without authentication.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        tls: Option<TlsFiles>,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), PgError> {
        if let Ok(addr) = listener.local_addr()
            && !addr.ip().is_loopback()
            && !self.shared.auth.is_required()
        {
            return Err(PgError::AuthRequired {
                addr: addr.to_string(),
            });
        }
        let acceptor = tls.as_ref().map(tls_acceptor).transpose()?;
        let shared = Arc::new(self.shared);
        let mut connections = JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok((socket, peer)) => {
                        let handlers = session::ConnHandlers::new(shared.clone());
                        let acceptor = acceptor.clone();
                        connections.spawn(async move {
                            if let Err(e) =
                                pgwire::tokio::process_socket(socket, acceptor, handlers).await
                            {
                                tracing::debug!("connection from {peer} ended: {e}");
                            }
                        });
                    }
                    Err(e) => {
                        // Out of file descriptors and the like: wait rather than spin.
                        tracing::warn!("cannot accept a connection: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
        drop(listener);
        shared.cancels.shut_down();
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while connections.join_next().await.is_some() {}
        })
        .await;
        connections.shutdown().await;
        Ok(())
    }
}

fn tls_acceptor(files: &TlsFiles) -> Result<tokio_rustls::TlsAcceptor, PgError> {
    use tokio_rustls::rustls::ServerConfig;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let read = |what: &'static str, path: &std::path::Path| {
        std::fs::read(path).map_err(|source| PgError::TlsFile {
            what,
            path: path.display().to_string(),
            source,
        })
    };
    let empty = |what: &'static str, path: &std::path::Path| PgError::TlsEmpty {
        what,
        path: path.display().to_string(),
    };
    let cert_pem = read("certificate", &files.cert)?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|_| empty("certificate", &files.cert))?;
    if certs.is_empty() {
        return Err(empty("certificate", &files.cert));
    }
    let key_pem = read("key", &files.key)?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| empty("key", &files.key))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    // Clients that open TLS directly (psql 17's sslnegotiation=direct) require this ALPN.
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}
