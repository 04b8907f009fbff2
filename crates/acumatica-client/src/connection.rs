//! A signed-in connection: one cookie session, one throttle shared by every caller, retries.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::{Method, StatusCode};
use tokio::sync::{Mutex, Semaphore};
use url::Url;

use crate::auth::{Authenticator, BrowserOpener, CookieAuth, Credential, OAuthAuth, TokenManager};
use crate::metadata_cache::MetadataCache;
use crate::{Clock, ConnectionConfig, Error, RestQuery};

/// How to connect, beyond the configuration: hooks a program (or a test) can set.
#[derive(Clone)]
pub struct ConnectOptions {
    /// Opens the authorization URL of the browser flows (default: print it and try the desktop
    /// browser).
    pub browser: BrowserOpener,
    /// OAuth: ignore stored tokens and sign in anew (what `acusql login` does). The stored
    /// tokens are replaced only once the new sign-in succeeded.
    pub fresh_sign_in: bool,
    /// The browser flows may wait for a person to sign in. A program running unattended (a
    /// script, a server) sets this to false: a sign-in that would need the browser then fails at
    /// once with a hint (`acusql login`, `OAuthVerifier`) instead of waiting for nobody.
    pub allow_browser: bool,
    /// When to sign in: at once (the default: a wrong password fails the connect), or when
    /// the first request needs a session, so a run that sends none (help, `EXPLAIN` on cached
    /// metadata, a syntax error) takes no licence seat and signs nothing out.
    pub sign_in: SignIn,
    /// What OAuth token expiries are measured on (the system clock; tests advance it).
    pub clock: Clock,
}

/// When a connection signs in (see [`ConnectOptions::sign_in`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignIn {
    /// While connecting.
    #[default]
    AtConnect,
    /// On the first request that needs a session; never if none does.
    OnFirstRequest,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            browser: crate::auth::default_browser(),
            fresh_sign_in: false,
            allow_browser: true,
            sign_in: SignIn::AtConnect,
            clock: Clock::default(),
        }
    }
}

/// Counters for progress lines and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnectionStats {
    pub requests: u64,
    pub in_flight: u64,
    pub bytes_received: u64,
    pub retries: u64,
    pub logins: u64,
    pub logouts: u64,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    in_flight: AtomicU64,
    bytes: AtomicU64,
    retries: AtomicU64,
    logouts: AtomicU64,
}

struct Inner {
    config: ConnectionConfig,
    endpoint: Url,
    http: reqwest::Client,
    /// Requests in flight at once (a single Acumatica session serialises work anyway).
    throttle: Semaphore,
    counters: Counters,
    /// The auth scheme: gives the credential of each request and signs out.
    auth: Box<dyn Authenticator>,
    closed: AtomicBool,
    /// Start times of the past minute's requests (the `RequestsPerMinute` budget).
    recent: Mutex<VecDeque<Instant>>,
    /// The metadata documents read so far and where from.
    metadata_read: std::sync::Mutex<Vec<MetadataRead>>,
}

/// A metadata document a connection read (see [`Connection::metadata_read`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataRead {
    /// Its URL without query (`…/entity/Default/24.200.001/swagger.json`).
    pub document: String,
    /// The metadata cache answered, with a copy this old; `None`: the server did.
    pub cached_age: Option<Duration>,
}

/// A connection to one Acumatica endpoint. Cheap to clone; clones share the session and the
/// throttle. Call [`Connection::close`] to sign out (a best-effort sign-out also runs when the
/// last clone is dropped).
#[derive(Clone)]
pub struct Connection {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("endpoint", &self.inner.endpoint.as_str())
            .finish()
    }
}

/// The most one response may hold: far more than any page of records, and a bound on memory
/// when a broken server or proxy sends an endless body.
pub const MAX_RESPONSE_BYTES: usize = 256 << 20;

/// A response body, read up to [`MAX_RESPONSE_BYTES`] (`None` beyond).
async fn read_capped(mut resp: reqwest::Response) -> Result<Option<Bytes>, reqwest::Error> {
    let announced = resp.content_length().unwrap_or(0);
    if announced > MAX_RESPONSE_BYTES as u64 {
        return Ok(None);
    }
    let mut body = bytes::BytesMut::with_capacity(announced as usize);
    while let Some(chunk) = resp.chunk().await? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body.freeze()))
}

/// Whether a response says it is an HTML page (a sign-in or proxy page in the API's place).
fn is_html(resp: &reqwest::Response) -> bool {
    resp.headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/html"))
}

/// `base` joined with a relative request path.
fn join(base: &Url, path: &str) -> Result<Url, Error> {
    base.join(path)
        .map_err(|e| Error::Config(format!("bad request URL: {e}")))
}

/// A reqwest error with its causes, without the URL: reqwest's text names the whole URL, and its
/// query may carry filter values or a token.
pub(crate) fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut reason = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        reason = format!("{reason}: {s}");
        source = s.source();
    }
    reason
}

/// The part of a request URL an error may show: scheme, host, port and path; never user info,
/// query or fragment.
pub(crate) fn shown_url(url: &Url) -> String {
    let mut shown = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
    if let Some(port) = url.port() {
        shown.push_str(&format!(":{port}"));
    }
    shown.push_str(url.path());
    shown
}

pub(crate) fn transport(url: &Url, e: reqwest::Error) -> Error {
    Error::Transport {
        url: shown_url(url),
        reason: describe(e),
    }
}

impl Connection {
    /// Signs in and returns the connection.
    pub async fn connect(config: ConnectionConfig) -> Result<Self, Error> {
        Self::connect_with(config, ConnectOptions::default()).await
    }

    /// Connects with explicit [`ConnectOptions`] (how to open the browser, when to sign in).
    pub async fn connect_with(
        config: ConnectionConfig,
        options: ConnectOptions,
    ) -> Result<Self, Error> {
        let endpoint = config.endpoint_url()?;
        let site = config
            .url
            .clone()
            .ok_or_else(|| Error::Config("no Url".into()))?;
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("acusql/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        let auth: Box<dyn Authenticator> = if config.auth_scheme.is_oauth() {
            Box::new(OAuthAuth::new(
                TokenManager::new(
                    config.clone(),
                    site.clone(),
                    http.clone(),
                    options.browser.clone(),
                    options.fresh_sign_in,
                )
                .allow_browser(options.allow_browser)
                .clock(options.clock.clone()),
            ))
        } else {
            Box::new(CookieAuth::new(config.clone(), site.clone(), http.clone()))
        };
        let conn = Self {
            inner: Arc::new(Inner {
                throttle: Semaphore::new(config.max_concurrent_requests.max(1)),
                auth,
                closed: AtomicBool::new(false),
                recent: Mutex::default(),
                metadata_read: std::sync::Mutex::default(),
                config,
                endpoint,
                http,
                counters: Counters::default(),
            }),
        };
        if options.sign_in == SignIn::AtConnect {
            conn.inner.auth.credential(None).await?;
        }
        Ok(conn)
    }

    /// `…/entity/<Endpoint>/<Version>/`
    pub fn endpoint_url(&self) -> &Url {
        &self.inner.endpoint
    }

    pub fn config(&self) -> &ConnectionConfig {
        &self.inner.config
    }

    pub fn stats(&self) -> ConnectionStats {
        let c = &self.inner.counters;
        ConnectionStats {
            requests: c.requests.load(Ordering::Relaxed),
            in_flight: c.in_flight.load(Ordering::Relaxed),
            bytes_received: c.bytes.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            logins: self.inner.auth.sign_ins(),
            logouts: c.logouts.load(Ordering::Relaxed),
        }
    }

    /// Waits until the `RequestsPerMinute` budget allows one more request.
    async fn pace(&self) {
        let limit = self.inner.config.requests_per_minute as usize;
        if limit == 0 {
            return;
        }
        loop {
            let wait = {
                let mut recent = self.inner.recent.lock().await;
                let now = Instant::now();
                while recent
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
                {
                    recent.pop_front();
                }
                if recent.len() < limit {
                    recent.push_back(now);
                    return;
                }
                (recent[0] + Duration::from_secs(60)).saturating_duration_since(now)
            };
            tracing::debug!("requests-per-minute budget spent; waiting {wait:?}");
            tokio::time::sleep(wait).await;
        }
    }

    /// Lists records: one page of a contract-based REST entity, as raw JSON bytes.
    pub async fn list(&self, query: &RestQuery) -> Result<Bytes, Error> {
        let url = join(&self.inner.endpoint, &query.render_path())?;
        self.get(url).await
    }

    /// One record by its key values (in the entity's key order) or, with one GUID, by its id.
    /// Acumatica answers a missing record with a 500 "No entity satisfies the condition."
    pub async fn get_by_keys(&self, query: &RestQuery, keys: &[&str]) -> Result<Bytes, Error> {
        let url = join(&self.inner.endpoint, &query.render_keys_path(keys))?;
        self.get(url).await
    }

    /// `<site>/t/<tenant>/api/odata/<gi|dac>/` (the tenant is `Company`).
    pub fn odata_url(&self, kind: crate::odata::ODataKind) -> Result<Url, Error> {
        let tenant = self
            .inner
            .config
            .company
            .as_deref()
            .ok_or_else(|| Error::Config("OData feeds need the tenant: set Company".into()))?;
        let site = self
            .inner
            .config
            .url
            .clone()
            .ok_or_else(|| Error::Config("no Url".into()))?;
        let mut url = site;
        url.path_segments_mut()
            .map_err(|_| Error::Config("bad site URL".into()))?
            .pop_if_empty()
            .extend(["t", tenant, "api", "odata", kind.segment(), ""]);
        Ok(url)
    }

    /// One request to a generic inquiry or DAC feed (JSON: `{"value": […]}`).
    pub async fn odata_get(
        &self,
        kind: crate::odata::ODataKind,
        query: &crate::odata::ODataQuery,
    ) -> Result<Bytes, Error> {
        let url = join(&self.odata_url(kind)?, &query.render_path())?;
        self.get(url).await
    }

    /// A feed's `$metadata` (EDMX), from the metadata cache when it holds a fresh copy.
    pub async fn odata_metadata(&self, kind: crate::odata::ODataKind) -> Result<Bytes, Error> {
        let url = join(&self.odata_url(kind)?, "$metadata")?;
        self.metadata_document(url, "application/xml").await
    }

    /// Follows a server-driven paging link (`@odata.nextLink`); only links to this site are
    /// followed, so credentials never go elsewhere.
    pub async fn odata_next(&self, link: &str) -> Result<Bytes, Error> {
        let site = self
            .inner
            .config
            .url
            .as_ref()
            .ok_or_else(|| Error::Config("no Url".into()))?;
        let url = site
            .join(link)
            .map_err(|e| Error::Config(format!("bad nextLink: {e}")))?;
        if url.origin() != site.origin() {
            return Err(Error::Config(format!(
                "refusing to follow a nextLink to another site: {}",
                url.origin().ascii_serialization()
            )));
        }
        self.get(url).await
    }

    /// `GET <Entity>/$adHocSchema`: the entity's custom fields (see
    /// [`crate::metadata::custom_fields_from_adhoc`]).
    pub async fn adhoc_schema(&self, entity: &str) -> Result<Bytes, Error> {
        let url = join(&self.inner.endpoint, &format!("{entity}/$adHocSchema"))?;
        self.get(url).await
    }

    /// The endpoint's `swagger.json` (its live schema), from the metadata cache when it holds
    /// a fresh copy.
    pub async fn swagger(&self) -> Result<Bytes, Error> {
        let url = join(&self.inner.endpoint, "swagger.json")?;
        self.metadata_document(url, "application/json").await
    }

    /// The metadata cache of this connection (`MetadataCache` property), if any.
    pub fn metadata_cache(&self) -> Option<MetadataCache> {
        let config = &self.inner.config;
        config
            .metadata_cache
            .as_ref()
            .map(|dir| MetadataCache::new(dir, config.metadata_cache_ttl))
    }

    /// The cache key of a metadata document: per site, tenant and user (a user's rights decide
    /// which inquiries a feed lists).
    fn metadata_key(&self, url: &Url) -> String {
        let config = &self.inner.config;
        let who = config
            .user
            .as_deref()
            .or(config.oauth_client_id.as_deref())
            .unwrap_or_default();
        format!(
            "{url} tenant={} user={who}",
            config.company.as_deref().unwrap_or_default()
        )
    }

    /// A metadata document: cached (per site, tenant and user) or read and then cached.
    async fn metadata_document(&self, url: Url, accept: &'static str) -> Result<Bytes, Error> {
        let shown = shown_url(&url);
        let Some(cache) = self.metadata_cache() else {
            let body = self.get_accepting(url, accept).await?;
            self.note_metadata(shown, None);
            return Ok(body);
        };
        let key = self.metadata_key(&url);
        if let Some((body, age)) = cache.load(&key) {
            tracing::info!(
                "{shown}: from the metadata cache ({} min old)",
                age.as_secs() / 60
            );
            self.note_metadata(shown, Some(age));
            return Ok(body);
        }
        let body = self.get_accepting(url, accept).await?;
        cache.store(&key, &body);
        tracing::info!("{shown}: read and cached");
        self.note_metadata(shown, None);
        Ok(body)
    }

    fn note_metadata(&self, document: String, cached_age: Option<Duration>) {
        if let Ok(mut read) = self.inner.metadata_read.lock() {
            read.retain(|m| m.document != document);
            read.push(MetadataRead {
                document,
                cached_age,
            });
        }
    }

    /// The metadata documents this connection has read, and whether the metadata cache
    /// answered (the latest read of each document, in the order they were read).
    pub fn metadata_read(&self) -> Vec<MetadataRead> {
        self.inner
            .metadata_read
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// Drops this connection's metadata from the metadata cache (`swagger.json` and both
    /// feeds' `$metadata`), so the next read asks the server. Returns how many cached
    /// documents there were.
    pub fn forget_metadata(&self) -> usize {
        let Some(cache) = self.metadata_cache() else {
            return 0;
        };
        let mut urls = vec![join(&self.inner.endpoint, "swagger.json")];
        for kind in [crate::odata::ODataKind::Gi, crate::odata::ODataKind::Dac] {
            urls.push(self.odata_url(kind).and_then(|u| join(&u, "$metadata")));
        }
        urls.into_iter()
            .flatten()
            .filter(|url| cache.remove(&self.metadata_key(url)))
            .count()
    }

    /// GETs a URL expecting JSON (retried: it is idempotent), signing in again if the
    /// session expired.
    pub async fn get(&self, url: Url) -> Result<Bytes, Error> {
        self.get_accepting(url, "application/json").await
    }

    /// GETs a URL (retried: it is idempotent), re-signing in once if the session expired.
    async fn get_accepting(&self, url: Url, accept: &'static str) -> Result<Bytes, Error> {
        let max = self.inner.config.max_retries;
        let mut attempt: u32 = 0;
        // A session can expire more than once during a long retry chain; re-sign-in each time,
        // up to the retry limit, so a persistent 401 still ends.
        let mut relogins: u32 = 0;
        let mut rejected: Option<Credential> = None;
        loop {
            let credential = self.inner.auth.credential(rejected.take().as_ref()).await?;
            let mut req = self
                .inner
                .http
                .request(Method::GET, url.clone())
                .header("Accept", accept);
            if let Credential::Bearer(t) = &credential {
                req = req.bearer_auth(t);
            }
            let result = self
                .exchange(req, async |resp| {
                    let status = resp.status();
                    let retry_after = resp
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok());
                    let html = is_html(&resp);
                    let body = read_capped(resp).await?;
                    Ok((status, retry_after, html, body))
                })
                .await?;
            let result = match result {
                Ok((status, _, _, None)) => {
                    return Err(Error::Server {
                        status: status.as_u16(),
                        message: format!(
                            "the response is larger than {} MiB, more than any page of records: \
                             read fewer rows per page",
                            MAX_RESPONSE_BYTES >> 20
                        ),
                        exception_message: None,
                        exception_type: None,
                    });
                }
                Ok((status, _, true, Some(body)))
                    if status.is_success() && accept == "application/json" =>
                {
                    return Err(Error::BadJson(format!(
                        "received an HTML page (\"{}\"): a sign-in or proxy page answered \
                         instead of the API; check Url",
                        crate::error::page_line(&body)
                    )));
                }
                Ok((status, retry_after, _, Some(body))) => Ok((status, retry_after, body)),
                Err(e) => Err(e),
            };
            let (reason, wait) = match result {
                Ok((status, _, body)) if status.is_success() => {
                    self.inner
                        .counters
                        .bytes
                        .fetch_add(body.len() as u64, Ordering::Relaxed);
                    return Ok(body);
                }
                Ok((StatusCode::UNAUTHORIZED, ..)) if relogins < max.max(1) => {
                    relogins += 1;
                    tracing::debug!("credential rejected (session expired?); signing in again");
                    rejected = Some(credential);
                    continue;
                }
                Ok((StatusCode::UNAUTHORIZED, _, body)) => {
                    let e = Error::from_response(401, &body);
                    return Err(Error::Auth(format!(
                        "the server still refuses the request after signing in again ({e})"
                    )));
                }
                Ok((status, retry_after, body))
                    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() =>
                {
                    let err = Error::from_response(status.as_u16(), &body);
                    // Deterministic server errors (not found, bad filter) are not worth retrying.
                    if status == StatusCode::INTERNAL_SERVER_ERROR
                        && matches!(
                            &err,
                            Error::Server {
                                exception_type: Some(_),
                                ..
                            }
                        )
                    {
                        return Err(err);
                    }
                    if attempt >= max {
                        return Err(if status == StatusCode::TOO_MANY_REQUESTS {
                            Error::RateLimited { retries: attempt }
                        } else {
                            err
                        });
                    }
                    (
                        format!("HTTP {status}"),
                        retry_after.map(Duration::from_secs),
                    )
                }
                Ok((status, _, body)) => return Err(Error::from_response(status.as_u16(), &body)),
                Err(e) => {
                    if attempt >= max {
                        return Err(transport(&url, e));
                    }
                    (format!("transport error: {}", describe(e)), None)
                }
            };
            attempt += 1;
            self.inner.counters.retries.fetch_add(1, Ordering::Relaxed);
            let backoff = wait.unwrap_or_else(|| {
                let base = 100_u64 << attempt.min(6);
                Duration::from_millis(base + rand::random::<u64>() % base)
            });
            tracing::debug!(
                "retrying GET {} in {:?} (attempt {attempt}): {reason}",
                url.path(),
                backoff
            );
            tokio::time::sleep(backoff).await;
        }
    }

    /// Sends one request within the requests-per-minute budget and the throttle, counting
    /// it; `read` reads the response (its body up to the cap). The outer error: the connection
    /// is closed; the inner: the request failed on the way.
    async fn exchange<T>(
        &self,
        request: reqwest::RequestBuilder,
        read: impl AsyncFnOnce(reqwest::Response) -> Result<T, reqwest::Error>,
    ) -> Result<Result<T, reqwest::Error>, Error> {
        self.pace().await;
        let _permit = self
            .inner
            .throttle
            .acquire()
            .await
            .map_err(|_| Error::Closed)?;
        let c = &self.inner.counters;
        c.in_flight.fetch_add(1, Ordering::Relaxed);
        c.requests.fetch_add(1, Ordering::Relaxed);
        let r = match request.send().await {
            Ok(resp) => read(resp).await,
            Err(e) => Err(e),
        };
        c.in_flight.fetch_sub(1, Ordering::Relaxed);
        Ok(r)
    }

    /// Sends one request that must not be repeated (a write: a repeated `PUT` that had
    /// succeeded could create a second document). Same session, throttle and
    /// requests-per-minute budget as reads. Only a 401 (the server refused the session, so
    /// nothing was done) is sent again, once, after signing in anew. Returns the status, the
    /// `Location` header and the body, whatever the status.
    pub(crate) async fn send_unretried(
        &self,
        method: Method,
        url: Url,
        headers: &[(&'static str, &'static str)],
        body: Option<Vec<u8>>,
    ) -> Result<(StatusCode, Option<String>, Bytes), Error> {
        let mut rejected: Option<Credential> = None;
        let mut signed_in_again = false;
        loop {
            let credential = self.inner.auth.credential(rejected.take().as_ref()).await?;
            let mut req = self
                .inner
                .http
                .request(method.clone(), url.clone())
                .header("Accept", "application/json");
            for (name, value) in headers {
                req = req.header(*name, *value);
            }
            req = match &body {
                Some(b) => req
                    .header("Content-Type", "application/json")
                    .body(b.clone()),
                None => req.header("Content-Length", "0"),
            };
            if let Credential::Bearer(t) = &credential {
                req = req.bearer_auth(t);
            }
            let result = self
                .exchange(req, async |resp| {
                    let status = resp.status();
                    let location = resp
                        .headers()
                        .get("location")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    let body = read_capped(resp).await?;
                    Ok((status, location, body))
                })
                .await?;
            match result {
                Err(e) => return Err(transport(&url, e)),
                Ok((status, _, None)) => {
                    return Err(Error::Server {
                        status: status.as_u16(),
                        message: format!(
                            "the response is larger than {} MiB",
                            MAX_RESPONSE_BYTES >> 20
                        ),
                        exception_message: None,
                        exception_type: None,
                    });
                }
                Ok((StatusCode::UNAUTHORIZED, ..)) if !signed_in_again => {
                    tracing::debug!("credential rejected (session expired?); signing in again");
                    signed_in_again = true;
                    rejected = Some(credential);
                    continue;
                }
                Ok((status, location, Some(body))) => {
                    self.inner
                        .counters
                        .bytes
                        .fetch_add(body.len() as u64, Ordering::Relaxed);
                    return Ok((status, location, body));
                }
            }
        }
    }

    /// Signs out. Safe to call more than once.
    pub async fn close(&self) -> Result<(), Error> {
        if self.inner.closed.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let signed_out = self.inner.auth.sign_out().await?;
        if signed_out {
            self.inner.counters.logouts.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The last clone is gone without `close()`: sign out in the background if possible,
        // because an API session is a licence seat for 10 minutes otherwise.
        // The task is tracked by `exit::settle`, which programs await before their runtime
        // stops (an untracked task would be dropped unfinished at shutdown).
        if !self.closed.load(Ordering::SeqCst)
            && tokio::runtime::Handle::try_current().is_ok()
            && let Some(req) = self.auth.sign_out_request()
        {
            crate::exit::spawn(async move {
                let _ = req.send().await;
            });
        }
    }
}
