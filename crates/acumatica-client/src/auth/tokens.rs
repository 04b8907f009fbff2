//! The OAuth token manager: gets, refreshes and stores the bearer token of one connection
//! (password grant, authorization code with PKCE, implicit flow, pasted codes, static tokens).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError,
    ResourceOwnerPassword, ResourceOwnerUsername, Scope, TokenUrl,
};
use tokio::sync::Mutex;
use url::Url;

use super::BrowserOpener;
use super::loopback::wait_for_redirect;
use super::store::{Pending, StoredTokens, TokenStore};
use crate::Clock;
use crate::config::{AuthScheme, InitiateOAuth};
use crate::{ConnectionConfig, Error};

type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// Gets, refreshes and stores the bearer token of one connection. Concurrent callers share one
/// refresh: the mutex is held across it and waiters then see the new token.
pub struct TokenManager {
    config: ConnectionConfig,
    pub(super) site: Url,
    pub(super) http: reqwest::Client,
    store: TokenStore,
    current: Mutex<StoredTokens>,
    browser: BrowserOpener,
    /// False for unattended runs: no waiting for a browser sign-in.
    allow_browser: bool,
    fresh: AtomicBool,
    /// What expiries are measured on.
    clock: Clock,
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
            clock: Clock::default(),
        }
    }

    /// Measures expiries on `clock` (see [`crate::ConnectOptions::clock`]).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
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
        if cur.fresh(self.clock.now()) && (rejected.is_none() || replaced) {
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
                    if cur.fresh(self.clock.now()) {
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
                Ok(t) => return Ok(StoredTokens::from_response(&t, None, self.clock.now())),
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
                Ok(StoredTokens::from_response(&t, None, self.clock.now()))
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
        Ok(StoredTokens::from_response(&t, None, self.clock.now()))
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
                expires_at: self.clock.now() + expires_in,
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
        Ok(StoredTokens::from_response(&t, None, self.clock.now()))
    }
}
