//! `Basic`: the `/entity/auth/login` cookie session, signed in again when it expires and
//! signed out on every exit path.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::sync::Mutex;
use url::Url;

use super::{Authenticator, Credential, logout};
use crate::{ConnectionConfig, Error};

/// `Basic`: a cookie session from `/entity/auth/login`, signed in again when it expires.
pub struct CookieAuth {
    config: ConnectionConfig,
    site: Url,
    http: reqwest::Client,
    /// The current sign-in's generation (0 = never signed in); the lock serialises sign-ins.
    generation: Mutex<u64>,
    /// A session may be open. Shared with the sign-in task, which sets it the moment the server
    /// accepted the sign-in, even when the caller has gone away.
    signed_in: Arc<AtomicBool>,
    /// The connection was dropped: a sign-in that completes now signs out by itself.
    abandoned: Arc<AtomicBool>,
    sign_ins: AtomicU64,
}

impl CookieAuth {
    pub fn new(config: ConnectionConfig, site: Url, http: reqwest::Client) -> Self {
        Self {
            config,
            site,
            http,
            generation: Mutex::new(0),
            signed_in: Arc::default(),
            abandoned: Arc::default(),
            sign_ins: Default::default(),
        }
    }

    fn logout_url(&self) -> Option<Url> {
        self.site.join("entity/auth/logout").ok()
    }

    /// Signs in. The request runs as a task of its own that a cancelled caller (Ctrl-C, a
    /// dropped query) does not interrupt: a sign-in the server accepted but whose answer was
    /// never read would hold a licence seat until it expires.
    async fn login(&self) -> Result<(), Error> {
        let c = &self.config;
        let mut body = serde_json::json!({
            "name": c.user.clone().unwrap_or_default(),
            "password": c.password.as_ref().map(|p| p.expose().to_string()).unwrap_or_default(),
        });
        if let Some(t) = &c.company {
            body["tenant"] = t.clone().into();
        }
        if let Some(b) = &c.branch {
            body["branch"] = b.clone().into();
        }
        if let Some(l) = &c.locale {
            body["locale"] = l.clone().into();
        }
        let url = self
            .site
            .join("entity/auth/login")
            .map_err(|e| Error::Config(e.to_string()))?;
        let logout_url = self
            .logout_url()
            .ok_or_else(|| Error::Config("bad site URL".into()))?;
        let http = self.http.clone();
        let site = self.site.clone();
        let signed_in = self.signed_in.clone();
        let abandoned = self.abandoned.clone();
        let task = crate::exit::spawn(async move {
            let fail = |e: reqwest::Error| crate::connection::transport(&url, e);
            let resp = http
                .post(url.clone())
                .json(&body)
                .send()
                .await
                .map_err(fail)?;
            let status = resp.status();
            let bytes = resp.bytes().await.map_err(fail)?;
            if status.is_success() {
                // Set before looking at `abandoned` (the drop does the reverse), so one side
                // always sees the other and the session is signed out.
                signed_in.store(true, Ordering::SeqCst);
                if abandoned.load(Ordering::SeqCst) && signed_in.swap(false, Ordering::SeqCst) {
                    let req = http.post(logout_url.clone()).header("Content-Length", "0");
                    let _ = logout(req, &logout_url).await;
                }
                tracing::debug!("signed in to {}", crate::connection::shown_url(&site));
                return Ok(());
            }
            let err = Error::from_response(status.as_u16(), &bytes);
            if status.as_u16() == 429 || err.to_string().contains("API Login Limit") {
                return Err(Error::LoginLimit);
            }
            Err(Error::Auth(match err {
                Error::Server {
                    exception_message: Some(m),
                    ..
                } => m,
                Error::Server { message, .. } => message,
                other => other.to_string(),
            }))
        });
        task.await
            .map_err(|e| Error::Auth(format!("the sign-in task failed: {e}")))?
    }
}

#[async_trait::async_trait]
impl Authenticator for CookieAuth {
    async fn credential(&self, rejected: Option<&Credential>) -> Result<Credential, Error> {
        let mut generation = self.generation.lock().await;
        let stale = match rejected {
            Some(Credential::Cookie { generation: g }) => *g == *generation,
            _ => false,
        };
        if *generation == 0 || stale {
            self.login().await?;
            *generation += 1;
            self.sign_ins.fetch_add(1, Ordering::Relaxed);
        }
        Ok(Credential::Cookie {
            generation: *generation,
        })
    }

    async fn sign_out(&self) -> Result<bool, Error> {
        if !self.signed_in.swap(false, Ordering::SeqCst) {
            return Ok(false);
        }
        let url = self
            .logout_url()
            .ok_or_else(|| Error::Config("bad site URL".into()))?;
        logout(
            self.http.post(url.clone()).header("Content-Length", "0"),
            &url,
        )
        .await?;
        Ok(true)
    }

    fn sign_out_request(&self) -> Option<reqwest::RequestBuilder> {
        self.abandoned.store(true, Ordering::SeqCst);
        if !self.signed_in.swap(false, Ordering::SeqCst) {
            return None;
        }
        Some(
            self.http
                .post(self.logout_url()?)
                .header("Content-Length", "0"),
        )
    }

    fn sign_ins(&self) -> u64 {
        self.sign_ins.load(Ordering::Relaxed)
    }
}
