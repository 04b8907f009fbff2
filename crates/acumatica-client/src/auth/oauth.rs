//! The OAuth schemes as an [`Authenticator`]: requests carry the bearer token the
//! [`TokenManager`] keeps; sign-out releases the token's session.

use std::sync::atomic::{AtomicU64, Ordering};

use url::Url;

use super::{Authenticator, Credential, TokenManager, logout};
use crate::Error;

/// The OAuth schemes: requests carry the bearer token; sign-out releases the token's session.
pub struct OAuthAuth {
    tokens: TokenManager,
    /// The last token handed out (for sign-out).
    last: std::sync::Mutex<Option<String>>,
    sign_ins: AtomicU64,
}

impl OAuthAuth {
    pub fn new(tokens: TokenManager) -> Self {
        Self {
            tokens,
            last: std::sync::Mutex::default(),
            sign_ins: Default::default(),
        }
    }

    fn logout_with(&self, token: String) -> Option<(reqwest::RequestBuilder, Url)> {
        let url = self.tokens.site.join("entity/auth/logout").ok()?;
        Some((
            self.tokens
                .http
                .post(url.clone())
                .header("Content-Length", "0")
                .bearer_auth(token),
            url,
        ))
    }
}

#[async_trait::async_trait]
impl Authenticator for OAuthAuth {
    async fn credential(&self, rejected: Option<&Credential>) -> Result<Credential, Error> {
        let rejected = match rejected {
            Some(Credential::Bearer(t)) => Some(t.as_str()),
            _ => None,
        };
        let token = self.tokens.access_token(rejected).await?;
        if let Ok(mut l) = self.last.lock()
            && l.as_deref() != Some(token.as_str())
        {
            if l.is_none() {
                self.sign_ins.fetch_add(1, Ordering::Relaxed);
            }
            *l = Some(token.clone());
        }
        Ok(Credential::Bearer(token))
    }

    async fn sign_out(&self) -> Result<bool, Error> {
        let Some(token) = self.last.lock().ok().and_then(|mut l| l.take()) else {
            return Ok(false);
        };
        // The tokens (and the stored refresh token) stay valid; only the session seat goes.
        if let Some((req, url)) = self.logout_with(token) {
            logout(req, &url).await?;
        }
        Ok(true)
    }

    fn sign_out_request(&self) -> Option<reqwest::RequestBuilder> {
        let token = self.last.lock().ok()?.clone()?;
        self.logout_with(token).map(|(r, _)| r)
    }

    fn sign_ins(&self) -> u64 {
        self.sign_ins.load(Ordering::Relaxed)
    }
}
