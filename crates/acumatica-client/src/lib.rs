//! Acumatica ERP web API client: connection configuration, cookie sign-in and OAuth 2.0 (code
//! with PKCE, implicit, password, static token; persisted and refreshed tokens), a shared
//! throttle, retries of idempotent requests, and contract-based REST list requests. No
//! DataFusion here.
//!
//! ```no_run
//! # async fn demo() -> Result<(), acumatica_client::Error> {
//! use acumatica_client::{Connection, ConnectionConfig, RestQuery};
//! let config = ConnectionConfig::from_connection_string(
//!     "AuthScheme=Basic;Url=http://127.0.0.1:8080;User=admin;Password=demo;Company=Company",
//! )?;
//! let conn = Connection::connect(config).await?;
//! let page = conn.list(&RestQuery::new("Customer").top(10)).await?;
//! println!("{} bytes", page.len());
//! conn.close().await?;
//! # Ok(()) }
//! ```

pub mod auth;
mod clock;
mod config;
mod connection;
mod error;
pub mod exit;
pub mod metadata;
pub mod metadata_cache;
pub mod odata;
mod private_file;
mod request;
pub mod write;

pub use clock::Clock;
pub use config::{AuthScheme, ConnectionConfig, InitiateOAuth, Secret};
pub use connection::{
    ConnectOptions, Connection, ConnectionStats, MAX_RESPONSE_BYTES, MetadataRead, SignIn,
};
pub use error::Error;
pub use request::RestQuery;
