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

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use oauth2::basic::{BasicClient, BasicErrorResponseType, BasicTokenResponse};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError,
    ResourceOwnerPassword, ResourceOwnerUsername, Scope, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Mutex;
use url::Url;

use crate::config::{AuthScheme, InitiateOAuth};
use crate::{ConnectionConfig, Error};

type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

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

/// Tokens as persisted. Never printed: `Debug` is redacted.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct StoredTokens {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Unix seconds.
    #[serde(default)]
    pub expires_at: i64,
    /// Lifetime the server gave, in seconds (to refresh "shortly" before expiry).
    #[serde(default)]
    pub expires_in: i64,
    #[serde(default)]
    pub scope: String,
    /// An authorization started by one run and finished by a later one with `OAuthVerifier`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Pending>,
    /// The user the tokens were issued for (lower case), where the scheme names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// `OAuthPassword`: `salt$sha256(salt|user|password)` of the credentials that obtained the
    /// tokens, so that another password (a wrong one, or another person's) never reuses them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_check: Option<String>,
}

impl std::fmt::Debug for StoredTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredTokens")
            .field("access_token", &self.access_token.as_ref().map(|_| "***"))
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "***"))
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .field("user", &self.user)
            .finish()
    }
}

#[derive(Clone, Serialize, Deserialize)]
pub struct Pending {
    pub verifier: String,
    pub state: String,
    pub redirect_uri: String,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The configured user as tokens record it (Acumatica user names are case-insensitive).
fn token_user(c: &ConnectionConfig) -> Option<String> {
    c.user
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_lowercase)
}

fn credential_hash(salt: &str, c: &ConnectionConfig) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(salt.as_bytes());
    h.update(b"|");
    h.update(token_user(c).unwrap_or_default().as_bytes());
    h.update(b"|");
    h.update(
        c.password
            .as_ref()
            .map(|p| p.expose())
            .unwrap_or_default()
            .as_bytes(),
    );
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

impl StoredTokens {
    /// Records whom the tokens belong to, as `belongs_to` checks it.
    fn stamp(&mut self, c: &ConnectionConfig) {
        self.user = token_user(c);
        self.credential_check = (c.auth_scheme == AuthScheme::OAuthPassword).then(|| {
            let salt = uuid::Uuid::new_v4().simple().to_string();
            format!("{salt}${}", credential_hash(&salt, c))
        });
    }

    /// True when these tokens were issued for the configured user (and, for `OAuthPassword`,
    /// obtained with the configured password). A token never serves another user.
    fn belongs_to(&self, c: &ConnectionConfig) -> bool {
        if self.user != token_user(c) {
            return false;
        }
        if c.auth_scheme != AuthScheme::OAuthPassword {
            return true;
        }
        let Some((salt, hash)) = self
            .credential_check
            .as_deref()
            .and_then(|v| v.split_once('$'))
        else {
            return false;
        };
        let expected = credential_hash(salt, c);
        // Compared without an early exit: the hash is a secret's digest.
        expected.len() == hash.len()
            && expected
                .bytes()
                .zip(hash.bytes())
                .fold(0u8, |d, (a, b)| d | (a ^ b))
                == 0
    }
}

impl StoredTokens {
    /// Usable now, and not within the refresh margin of its expiry.
    fn fresh(&self) -> bool {
        let margin = (self.expires_in / 4).clamp(1, 60);
        self.access_token.is_some() && now() < self.expires_at - margin
    }

    fn from_response(r: &BasicTokenResponse, previous_refresh: Option<String>) -> Self {
        let expires_in = r.expires_in().map_or(3600, |d| d.as_secs() as i64);
        Self {
            access_token: Some(r.access_token().secret().clone()),
            refresh_token: r
                .refresh_token()
                .map(|t| t.secret().clone())
                .or(previous_refresh),
            expires_at: now() + expires_in,
            expires_in,
            scope: r
                .scopes()
                .map(|s| s.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(" "))
                .unwrap_or_default(),
            ..Self::default()
        }
    }
}

/// Where tokens live: an owner-only file, or memory.
#[derive(Debug, Clone)]
pub enum TokenStore {
    Memory,
    File(PathBuf),
}

impl TokenStore {
    /// `OAuthSettingsLocation`, or a file per (site, client, tenant, scheme, user) under the
    /// config directory.
    pub fn for_config(c: &ConnectionConfig) -> Self {
        match c.oauth_settings_location.as_deref() {
            Some(l) if l.eq_ignore_ascii_case("memory://") => Self::Memory,
            Some(l) => Self::File(PathBuf::from(l)),
            None => {
                use sha2::Digest;
                // One file per user too: a token never serves another user.
                let key = format!(
                    "{}|{}|{}|{:?}|{}",
                    c.url.as_ref().map(Url::as_str).unwrap_or_default(),
                    c.oauth_client_id.as_deref().unwrap_or_default(),
                    c.company.as_deref().unwrap_or_default(),
                    c.auth_scheme,
                    token_user(c).unwrap_or_default()
                );
                let digest = sha2::Sha256::digest(key.as_bytes());
                let name: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
                match dirs::config_dir() {
                    Some(d) => {
                        Self::File(d.join("acusql").join("oauth").join(format!("{name}.json")))
                    }
                    None => Self::Memory,
                }
            }
        }
    }

    pub fn load(&self) -> Result<Option<StoredTokens>, Error> {
        let Self::File(path) = self else {
            return Ok(None);
        };
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                Error::Config(format!(
                    "the OAuth settings file {} is not valid ({e}); delete it to sign in again",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::Config(format!(
                "cannot read the OAuth settings file {}: {e}",
                path.display()
            ))),
        }
    }

    /// Writes atomically (temp file + rename), readable by the owner only.
    pub fn save(&self, tokens: &StoredTokens) -> Result<(), Error> {
        let Self::File(path) = self else {
            return Ok(());
        };
        let fail = |e: std::io::Error| {
            Error::Config(format!(
                "cannot write the OAuth settings file {}: {e}",
                path.display()
            ))
        };
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            let mut b = std::fs::DirBuilder::new();
            b.recursive(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                b.mode(0o700);
            }
            b.create(dir).map_err(fail)?;
        }
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o600);
        }
        let result = (|| {
            use std::io::Write;
            let mut f = o.open(&tmp)?;
            f.write_all(&serde_json::to_vec_pretty(tokens).unwrap_or_default())?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result.map_err(fail)
    }
}

/// Gets, refreshes and stores the bearer token of one connection. Concurrent callers share one
/// refresh: the mutex is held across it and waiters then see the new token.
pub struct TokenManager {
    config: ConnectionConfig,
    site: Url,
    http: reqwest::Client,
    store: TokenStore,
    current: Mutex<StoredTokens>,
    browser: BrowserOpener,
    /// False for unattended runs: no waiting for a browser sign-in.
    allow_browser: bool,
    fresh: AtomicBool,
}

impl std::fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenManager")
            .field("store", &self.store)
            .finish()
    }
}

fn oauth_error(
    e: RequestTokenError<impl std::error::Error + 'static, oauth2::basic::BasicErrorResponse>,
) -> Error {
    match e {
        RequestTokenError::ServerResponse(r) => {
            let description = r.error_description().cloned().unwrap_or_default();
            if description.contains("API Login Limit") {
                return Error::LoginLimit;
            }
            let hint = match r.error() {
                BasicErrorResponseType::InvalidClient => {
                    " (check OAuthClientId and OAuthClientSecret of the connected application)"
                }
                BasicErrorResponseType::InvalidGrant => {
                    " (wrong user/password, or an expired or already used code or refresh token)"
                }
                _ => "",
            };
            let detail = if description.is_empty() {
                String::new()
            } else {
                format!(": {description}")
            };
            Error::Auth(format!(
                "the identity server refused the request: {}{detail}{hint}",
                r.error()
            ))
        }
        RequestTokenError::Request(e) => {
            let mut reason = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                reason = format!("{reason}: {s}");
                source = s.source();
            }
            Error::Transport {
                url: "identity/connect/token".into(),
                reason,
            }
        }
        RequestTokenError::Parse(e, _) => Error::Auth(format!(
            "the identity server's token response is not valid: {e}"
        )),
        RequestTokenError::Other(e) => Error::Auth(e),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct HttpFailure(String);

impl TokenManager {
    pub fn new(
        config: ConnectionConfig,
        site: Url,
        http: reqwest::Client,
        browser: BrowserOpener,
        fresh_sign_in: bool,
    ) -> Self {
        let store = TokenStore::for_config(&config);
        Self {
            config,
            site,
            http,
            store,
            current: Mutex::new(StoredTokens::default()),
            browser,
            allow_browser: true,
            fresh: AtomicBool::new(fresh_sign_in),
        }
    }

    /// Whether a browser sign-in may be waited for (see [`crate::ConnectOptions::allow_browser`]).
    pub fn allow_browser(mut self, allow: bool) -> Self {
        self.allow_browser = allow;
        self
    }

    /// Where the tokens are kept.
    pub fn store(&self) -> &TokenStore {
        &self.store
    }

    fn client(&self, redirect: Option<&str>) -> Result<Client, Error> {
        let c = &self.config;
        let join = |p: &str| {
            self.site
                .join(p)
                .map_err(|e| Error::Config(format!("bad identity URL: {e}")))
        };
        let mut client =
            BasicClient::new(ClientId::new(c.oauth_client_id.clone().unwrap_or_default()))
                .set_auth_uri(AuthUrl::from_url(join("identity/connect/authorize")?))
                .set_token_uri(TokenUrl::from_url(join("identity/connect/token")?))
                .set_auth_type(oauth2::AuthType::RequestBody);
        if let Some(s) = &c.oauth_client_secret {
            client = client.set_client_secret(ClientSecret::new(s.expose().to_string()));
        }
        if let Some(r) = redirect {
            client = client.set_redirect_uri(
                RedirectUrl::new(r.to_string())
                    .map_err(|e| Error::Config(format!("CallbackURL: {e}")))?,
            );
        }
        Ok(client)
    }

    /// Our reqwest client as the `oauth2` crate's HTTP client.
    fn http_fn(
        &self,
    ) -> impl Fn(
        oauth2::HttpRequest,
    ) -> std::pin::Pin<
        Box<dyn Future<Output = Result<oauth2::HttpResponse, HttpFailure>> + Send>,
    > {
        let http = self.http.clone();
        move |req: oauth2::HttpRequest| {
            let http = http.clone();
            Box::pin(async move {
                let req = reqwest::Request::try_from(req)
                    .map_err(|e| HttpFailure(crate::connection::describe(e)))?;
                let resp = http
                    .execute(req)
                    .await
                    .map_err(|e| HttpFailure(crate::connection::describe(e)))?;
                let mut b = http::Response::builder().status(resp.status());
                for (k, v) in resp.headers() {
                    b = b.header(k, v);
                }
                let body = resp
                    .bytes()
                    .await
                    .map_err(|e| HttpFailure(crate::connection::describe(e)))?;
                b.body(body.to_vec())
                    .map_err(|e| HttpFailure(e.to_string()))
            })
        }
    }

    fn scopes(&self) -> Vec<Scope> {
        self.config
            .scopes()
            .split_whitespace()
            .map(|s| Scope::new(s.to_string()))
            .collect()
    }

    /// A valid access token: the current one, a refreshed one, or one from a new sign-in.
    /// `rejected` is a token the server just answered 401 to: it is replaced even if it looks
    /// fresh (unless another caller already replaced it).
    pub async fn access_token(&self, rejected: Option<&str>) -> Result<String, Error> {
        let mut cur = self.current.lock().await;
        let replaced = rejected.is_some() && cur.access_token.as_deref() != rejected;
        if cur.fresh() && (rejected.is_none() || replaced) {
            return Ok(cur.access_token.clone().unwrap_or_default());
        }
        if replaced && cur.access_token.is_some() {
            return Ok(cur.access_token.clone().unwrap_or_default());
        }
        // First use: the configured token, then the stored ones (unless signing in anew).
        let fresh = self.fresh.swap(false, Ordering::SeqCst);
        if fresh {
            let next = match &self.config.oauth_verifier {
                Some(v) if self.config.auth_scheme == AuthScheme::OAuth => {
                    self.exchange_pasted(&cur, v.expose()).await?
                }
                _ => self.sign_in_anew().await?,
            };
            let mut next = next;
            next.stamp(&self.config);
            self.store.save(&next)?;
            let token = next.access_token.clone().unwrap_or_default();
            *cur = next;
            return Ok(token);
        }
        if cur.access_token.is_none() && cur.refresh_token.is_none() {
            if let Some(t) = &self.config.oauth_access_token {
                cur.access_token = Some(t.expose().to_string());
                cur.expires_at = i64::MAX / 2;
                cur.refresh_token = self
                    .config
                    .oauth_refresh_token
                    .as_ref()
                    .map(|r| r.expose().to_string());
                return Ok(t.expose().to_string());
            }
            match self.store.load()? {
                Some(stored) if stored.belongs_to(&self.config) => {
                    *cur = stored;
                    if cur.fresh() {
                        return Ok(cur.access_token.clone().unwrap_or_default());
                    }
                }
                Some(_) => tracing::debug!(
                    "stored OAuth tokens were issued for other credentials; signing in anew"
                ),
                None => {}
            }
            if cur.refresh_token.is_none()
                && let Some(r) = &self.config.oauth_refresh_token
            {
                cur.refresh_token = Some(r.expose().to_string());
            }
        }
        let mut next = self.obtain(&cur).await?;
        next.stamp(&self.config);
        // Rotated refresh tokens are saved at once: the old one is already dead.
        self.store.save(&next)?;
        let token = next.access_token.clone().unwrap_or_default();
        *cur = next;
        Ok(token)
    }

    /// Refreshes if possible, otherwise signs in as the scheme and `InitiateOAuth` allow.
    async fn obtain(&self, cur: &StoredTokens) -> Result<StoredTokens, Error> {
        let c = &self.config;
        if let Some(refresh) = &cur.refresh_token
            && c.initiate_oauth != InitiateOAuth::Off
        {
            tracing::debug!("refreshing the OAuth access token");
            let r = self
                .client(None)?
                .exchange_refresh_token(&RefreshToken::new(refresh.clone()))
                .request_async(&self.http_fn())
                .await;
            match r {
                Ok(t) => return Ok(StoredTokens::from_response(&t, None)),
                Err(e) => {
                    let e = oauth_error(e);
                    // A dead refresh token falls through to a new sign-in where allowed.
                    if c.auth_scheme != AuthScheme::OAuthPassword
                        && c.initiate_oauth != InitiateOAuth::GetAndRefresh
                    {
                        return Err(e);
                    }
                    tracing::debug!("refresh failed ({e}); signing in again");
                }
            }
        }
        match c.auth_scheme {
            AuthScheme::Basic => Err(Error::Config("Basic does not use tokens".into())),
            AuthScheme::OAuthPassword => {
                let user = c.user.clone().unwrap_or_default();
                let password = c
                    .password
                    .as_ref()
                    .map(|p| p.expose().to_string())
                    .ok_or_else(|| Error::Config("OAuthPassword needs a Password".into()))?;
                let t = self
                    .client(None)?
                    .exchange_password(
                        &ResourceOwnerUsername::new(user),
                        &ResourceOwnerPassword::new(password),
                    )
                    .add_scopes(self.scopes())
                    .request_async(&self.http_fn())
                    .await
                    .map_err(oauth_error)?;
                Ok(StoredTokens::from_response(&t, None))
            }
            AuthScheme::OAuth | AuthScheme::OAuthImplicit => {
                if c.oauth_access_token.is_some() && cur.refresh_token.is_none() {
                    return Err(Error::Auth(
                        "the OAuthAccessToken was rejected or has expired; give a new one".into(),
                    ));
                }
                if let Some(v) = &c.oauth_verifier
                    && c.auth_scheme == AuthScheme::OAuth
                {
                    return self.exchange_pasted(cur, v.expose()).await;
                }
                if c.initiate_oauth != InitiateOAuth::GetAndRefresh {
                    return Err(Error::Auth(format!(
                        "no valid OAuth token (InitiateOAuth={:?} does not start a browser sign-in): run `acusql login` or set InitiateOAuth=GETANDREFRESH",
                        c.initiate_oauth
                    )));
                }
                self.interactive().await
            }
        }
    }

    /// A new sign-in by the scheme (no refresh), whatever `InitiateOAuth` says.
    async fn sign_in_anew(&self) -> Result<StoredTokens, Error> {
        match self.config.auth_scheme {
            AuthScheme::OAuth | AuthScheme::OAuthImplicit => self.interactive().await,
            _ => self.obtain(&StoredTokens::default()).await,
        }
    }

    /// Finishes an authorization begun by an earlier run, from a pasted code or redirected URL.
    async fn exchange_pasted(
        &self,
        cur: &StoredTokens,
        pasted: &str,
    ) -> Result<StoredTokens, Error> {
        let Some(p) = cur
            .pending
            .clone()
            .or(self.store.load()?.and_then(|s| s.pending))
        else {
            return Err(Error::Auth(
                "OAuthVerifier was given but no sign-in is pending: connect once without it to get the authorization URL".into(),
            ));
        };
        let code = if pasted.contains("code=") {
            let u = Url::parse(pasted.trim())
                .or_else(|_| Url::parse(&format!("http://x/?{}", pasted.trim())))
                .map_err(|e| Error::Auth(format!("OAuthVerifier is not a code or URL: {e}")))?;
            let q: std::collections::HashMap<_, _> = u.query_pairs().into_owned().collect();
            if let Some(s) = q.get("state")
                && s != &p.state
            {
                return Err(Error::Auth(
                    "the pasted URL's state does not match the pending sign-in (possible CSRF); start again".into(),
                ));
            }
            q.get("code").cloned().unwrap_or_default()
        } else {
            pasted.trim().to_string()
        };
        let t = self
            .client(Some(&p.redirect_uri))?
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(PkceCodeVerifier::new(p.verifier))
            .request_async(&self.http_fn())
            .await
            .map_err(oauth_error)?;
        Ok(StoredTokens::from_response(&t, None))
    }

    /// The browser flows: listen on `CallbackURL`, open the authorization URL, wait for the
    /// redirect (code in the query, or token in the fragment posted back by our page).
    async fn interactive(&self) -> Result<StoredTokens, Error> {
        let c = &self.config;
        if !self.allow_browser {
            return Err(Error::Auth(format!(
                "AuthScheme={:?} needs a sign-in in the browser, and this run is not interactive: run `acusql login` once in a terminal (its tokens are stored and refreshed), or finish a started sign-in with OAuthVerifier=\"<the URL you were redirected to>\"",
                c.auth_scheme
            )));
        }
        let implicit = c.auth_scheme == AuthScheme::OAuthImplicit;
        let redirect =
            Url::parse(&c.callback_url).map_err(|e| Error::Config(format!("CallbackURL: {e}")))?;
        let host = match redirect.host_str() {
            Some("localhost") | None => "127.0.0.1".to_string(),
            Some(h) => h.trim_matches(['[', ']']).to_string(),
        };
        let port = redirect.port_or_known_default().unwrap_or(80);
        let listener = tokio::net::TcpListener::bind((host.as_str(), port))
            .await
            .map_err(|e| {
                Error::Config(format!(
                    "cannot listen on CallbackURL {} for the sign-in redirect: {e}",
                    c.callback_url
                ))
            })?;
        let client = self.client(Some(&c.callback_url))?;
        let mut req = client
            .authorize_url(CsrfToken::new_random)
            .add_scopes(self.scopes());
        let mut verifier = None;
        if implicit {
            req = req.use_implicit_flow();
        } else {
            let (challenge, v) = PkceCodeChallenge::new_random_sha256();
            req = req.set_pkce_challenge(challenge);
            verifier = Some(v);
        }
        let (url, state) = req.url();
        if let Some(v) = &verifier {
            // Saved so that a later run can finish with a pasted code (OAuthVerifier).
            let mut pending = self.store.load().ok().flatten().unwrap_or_default();
            pending.pending = Some(Pending {
                verifier: v.secret().clone(),
                state: state.secret().clone(),
                redirect_uri: c.callback_url.clone(),
            });
            self.store.save(&pending)?;
        }
        (self.browser)(&url);
        let params = tokio::time::timeout(
            Duration::from_secs(300),
            wait_for_redirect(&listener, redirect.path(), implicit),
        )
        .await
        .map_err(|_| {
            Error::Auth(
                "no sign-in redirect within 5 minutes; on a machine without a browser, open the printed URL elsewhere and pass the resulting URL as OAuthVerifier".into(),
            )
        })??;
        if let Some(e) = params.get("error") {
            return Err(Error::Auth(format!(
                "sign-in was not completed: {e}{}",
                params
                    .get("error_description")
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            )));
        }
        if params.get("state").map(String::as_str) != Some(state.secret().as_str()) {
            return Err(Error::Auth(
                "the sign-in redirect carried a wrong state (possible CSRF); sign-in aborted"
                    .into(),
            ));
        }
        if implicit {
            let access = params
                .get("access_token")
                .cloned()
                .ok_or_else(|| Error::Auth("the redirect carried no access_token".into()))?;
            let expires_in: i64 = params
                .get("expires_in")
                .and_then(|v| v.parse().ok())
                .unwrap_or(3600);
            return Ok(StoredTokens {
                access_token: Some(access),
                refresh_token: None,
                expires_at: now() + expires_in,
                expires_in,
                scope: params.get("scope").cloned().unwrap_or_default(),
                ..StoredTokens::default()
            });
        }
        let code = params
            .get("code")
            .cloned()
            .ok_or_else(|| Error::Auth("the redirect carried no code".into()))?;
        let t = client
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(verifier.unwrap_or_else(|| PkceCodeVerifier::new(String::new())))
            .request_async(&self.http_fn())
            .await
            .map_err(oauth_error)?;
        Ok(StoredTokens::from_response(&t, None))
    }
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

const DONE_PAGE: &str = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>acusql</title></head><body><p>Signed in. You can close this window and return to acusql.</p></body></html>";

/// Reads the fragment (`#access_token=…`) in the browser and posts it back to us.
const FRAGMENT_PAGE: &str = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>acusql</title></head><body><p id=\"m\">Finishing sign-in…</p><script>fetch(location.pathname,{method:'POST',headers:{'Content-Type':'application/x-www-form-urlencoded'},body:location.hash.substring(1)}).then(function(){document.getElementById('m').textContent='Signed in. You can close this window and return to acusql.';});</script></body></html>";

/// Serves the loopback callback until it gets the redirect's parameters.
async fn wait_for_redirect(
    listener: &tokio::net::TcpListener,
    path: &str,
    implicit: bool,
) -> Result<std::collections::HashMap<String, String>, Error> {
    loop {
        let (mut sock, _) = listener
            .accept()
            .await
            .map_err(|e| Error::Auth(format!("callback listener failed: {e}")))?;
        let Ok((method, target, body)) = read_request(&mut sock).await else {
            continue;
        };
        let (req_path, query) = target.split_once('?').unwrap_or((&target, ""));
        let respond = |status: &str, page: &str| {
            format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{page}",
                page.len()
            )
        };
        if req_path != path {
            let _ = sock
                .write_all(respond("404 Not Found", "").as_bytes())
                .await;
            continue;
        }
        let form = |s: &str| -> std::collections::HashMap<String, String> {
            url::form_urlencoded::parse(s.as_bytes())
                .into_owned()
                .collect()
        };
        let params = if method == "POST" {
            form(&body)
        } else {
            form(query)
        };
        let has_answer = params.contains_key("code")
            || params.contains_key("access_token")
            || params.contains_key("error");
        if !has_answer && implicit && method == "GET" {
            let _ = sock
                .write_all(respond("200 OK", FRAGMENT_PAGE).as_bytes())
                .await;
            continue;
        }
        let _ = sock
            .write_all(respond("200 OK", DONE_PAGE).as_bytes())
            .await;
        if has_answer {
            return Ok(params);
        }
    }
}

/// A minimal HTTP/1.1 request reader for the loopback callback (one request per connection).
async fn read_request(
    sock: &mut tokio::net::TcpStream,
) -> std::io::Result<(String, String, String)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 64 * 1024 {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
    let mut lines = head.lines();
    let mut first = lines.next().unwrap_or_default().split_whitespace();
    let method = first.next().unwrap_or_default().to_string();
    let target = first.next().unwrap_or_default().to_string();
    let length: usize = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0)
        .min(64 * 1024);
    while buf.len() < header_end + length {
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let end = (header_end + length).min(buf.len());
    let body = String::from_utf8_lossy(&buf[header_end..end]).to_string();
    Ok((method, target, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> ConnectionConfig {
        ConnectionConfig::from_connection_string(&format!(
            "Url=https://erp.example.com/AcumaticaERP;OAuthClientId=c@Company;{text}"
        ))
        .unwrap()
    }

    #[test]
    fn password_tokens_serve_only_the_user_and_password_that_obtained_them() {
        let alice = config("AuthScheme=OAuthPassword;User=alice;Password=a-pass");
        let mut t = StoredTokens::default();
        t.stamp(&alice);
        assert!(t.belongs_to(&alice));
        assert!(t.belongs_to(&config(
            "AuthScheme=OAuthPassword;User=ALICE;Password=a-pass"
        )));
        assert!(!t.belongs_to(&config("AuthScheme=OAuthPassword;User=bob;Password=a-pass")));
        assert!(!t.belongs_to(&config(
            "AuthScheme=OAuthPassword;User=alice;Password=wrong"
        )));
        // The file holds a salted digest, never the password.
        let text = serde_json::to_string(&t).unwrap();
        assert!(!text.contains("a-pass"), "{text}");
        // Tokens from before this check (no owner recorded) are not trusted for a password.
        assert!(!StoredTokens::default().belongs_to(&alice));
    }

    #[test]
    fn browser_tokens_are_kept_apart_by_user_and_the_default_file_by_user_too() {
        let anyone = config("AuthScheme=OAuth");
        let bob = config("AuthScheme=OAuth;User=bob");
        let mut t = StoredTokens::default();
        t.stamp(&anyone);
        assert!(t.belongs_to(&anyone));
        assert!(!t.belongs_to(&bob));
        let file = |c: &ConnectionConfig| match TokenStore::for_config(c) {
            TokenStore::File(p) => Some(p),
            TokenStore::Memory => None,
        };
        let a = config("AuthScheme=OAuthPassword;User=alice;Password=x");
        let b = config("AuthScheme=OAuthPassword;User=bob;Password=x");
        if file(&a).is_some() {
            assert_ne!(file(&a), file(&b));
        }
    }

    #[test]
    fn token_files_are_owner_only_and_never_half_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("tokens.json");
        let store = TokenStore::File(path.clone());
        let t = StoredTokens {
            access_token: Some("AT-secret".into()),
            refresh_token: Some("RT-secret".into()),
            expires_at: now() + 3600,
            expires_in: 3600,
            scope: "api offline_access".into(),
            ..StoredTokens::default()
        };
        store.save(&t).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let back = store.load().unwrap().unwrap();
        assert_eq!(back.refresh_token.as_deref(), Some("RT-secret"));
        assert!(!format!("{back:?}").contains("secret"));
        assert!(back.fresh());
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
        std::fs::write(&path, b"{not json").unwrap();
        let e = store.load().unwrap_err().to_string();
        assert!(e.contains("not valid"), "{e}");
    }
}
