//! An Arrow Flight SQL server over a DataFusion [`SessionContext`]: the acusql catalog for
//! Python (ADBC, `pyarrow.flight`), JDBC and ODBC Flight SQL clients.
//!
//! The service is stateless: a statement ticket carries its SQL, and a prepared statement's
//! handle carries its SQL plus the bound parameters, so any number of clients can share one
//! server — and one upstream connection, with its throttle and session budget — without
//! server-side bookkeeping. Results stream batch by batch as the scan produces them; when a
//! client goes away, the stream is dropped and the upstream requests stop.
//!
//! ```no_run
//! # async fn demo(ctx: datafusion::prelude::SessionContext) -> Result<(), Box<dyn std::error::Error>> {
//! use acumatica_flight::{FlightAuth, FlightSqlServer};
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:50051").await?;
//! let server = FlightSqlServer::new(ctx, FlightAuth::basic("reporting", "s3cret"));
//! server.serve(listener, None, std::future::pending()).await?;
//! # Ok(()) }
//! ```

mod auth;
mod handle;
mod service;

pub use auth::FlightAuth;
pub use service::FlightSqlServer;

/// Errors starting or running the server.
#[derive(Debug, thiserror::Error)]
pub enum FlightError {
    #[error("cannot read TLS {what} {path}: {source}")]
    TlsFile {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("the Flight SQL server stopped: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error(
        "refusing to serve on {addr} without authentication: bind to a loopback address, or configure a user or token"
    )]
    AuthRequired { addr: String },
}

/// Certificate and private key (PEM files) for TLS.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: std::path::PathBuf,
    pub key: std::path::PathBuf,
}
