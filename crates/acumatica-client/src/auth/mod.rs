//! Authentication: one [`Authenticator`] trait with two implementations — [`CookieAuth`]
//! (`Basic`: the `/entity/auth/login` cookie session) and [`OAuthAuth`] (the OAuth schemes, whose
//! bearer tokens a [`TokenManager`] gets, refreshes and stores).
//!
//! OAuth 2.0 against Acumatica's identity server (`/identity/connect/…`): the resource-owner
//! password grant, the authorization code flow with PKCE (S256) and a checked `state`, the
//! implicit flow, refresh with rotation, a static access token, and token persistence.
//!
//! The `oauth2` crate builds the URLs and speaks to the token endpoint; we hand it our own
//! reqwest client (one reqwest in the tree, redirects off). Acumatica's documented requests send
//! `client_id`/`client_secret` in the form body, so that is what we do.
//!
//! - `cookie`: `Basic`, the cookie sign-in.
//! - `oauth`: the OAuth schemes as an [`Authenticator`], over the `tokens` manager.
//! - `store`: tokens as persisted, in an owner-only file or in memory.
//! - `loopback`: the sign-in redirect received on `CallbackURL`.

mod cookie;
mod loopback;
mod oauth;
mod store;
mod tokens;

use std::sync::Arc;

use url::Url;

use crate::Error;

pub use cookie::CookieAuth;
pub use oauth::OAuthAuth;
pub use store::{Pending, StoredTokens, TokenStore};
pub use tokens::TokenManager;

/// Opens the authorization URL for the user. The default prints it on stderr and tries the
/// desktop's browser; tests pass a function that plays the browser.
pub type BrowserOpener = Arc<dyn Fn(&Url) + Send + Sync>;

/// The default opener: print the URL (always) and try the platform's browser launcher.
pub fn default_browser() -> BrowserOpener {
    Arc::new(|url: &Url| {
        eprintln!("Sign in to Acumatica in your browser:\n  {url}");
        let launcher = if cfg!(target_os = "macos") {
            Some("open")
        } else if std::env::var_os("DISPLAY").is_some()
            || std::env::var_os("WAYLAND_DISPLAY").is_some()
        {
            Some("xdg-open")
        } else {
            None
        };
        if let Some(cmd) = launcher {
            let _ = std::process::Command::new(cmd)
                .arg(url.as_str())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn();
        }
    })
}

/// What a request presents: the cookie session (the cookies ride in the HTTP client's jar; the
/// generation tells sign-ins apart) or a bearer token. `Debug` never shows the token.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    Cookie { generation: u64 },
    Bearer(String),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Cookie { generation } => write!(f, "Cookie#{generation}"),
            Self::Bearer(_) => f.write_str("Bearer(***)"),
        }
    }
}

/// An auth scheme as the connection sees it.
#[async_trait::async_trait]
pub trait Authenticator: Send + Sync {
    /// The credential for the next request: signs in on first use. `rejected` is a credential
    /// the server just answered 401 to; it is replaced (one sign-in or refresh however many
    /// callers report it at once).
    async fn credential(&self, rejected: Option<&Credential>) -> Result<Credential, Error>;
    /// Signs the API session out (a licence seat); false when there was nothing to sign out.
    async fn sign_out(&self) -> Result<bool, Error>;
    /// A ready sign-out request for a connection dropped without `close()`; marks the
    /// connection abandoned, so a sign-in still in flight signs out by itself when it completes.
    fn sign_out_request(&self) -> Option<reqwest::RequestBuilder>;
    /// How many times it signed in (sign-ins and token acquisitions).
    fn sign_ins(&self) -> u64;
}

/// Sends a sign-out request; a refusal is the server's error.
async fn logout(req: reqwest::RequestBuilder, url: &Url) -> Result<(), Error> {
    let resp = req
        .send()
        .await
        .map_err(|e| crate::connection::transport(url, e))?;
    if !resp.status().is_success() {
        let status = resp.status().as_u16();
        let body = resp.bytes().await.unwrap_or_default();
        return Err(Error::from_response(status, &body));
    }
    Ok(())
}
