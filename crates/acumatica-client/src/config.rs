//! Connection settings from a CData-style connection string, `ACUMATICA_*` environment
//! variables and TOML profiles.
//!
//! Precedence, highest first: the connection string, then the environment, then the profile,
//! then the defaults.

use std::fmt;
use std::time::Duration;

use url::Url;

use crate::Error;

/// A secret (password, client secret, token). `Debug` and `Display` never show it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

/// So command-line parsers (clap) can hold a secret directly and `Debug` of their options
/// stays redacted.
impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::new(s))
    }
}

/// How to sign in (CData's `AuthScheme`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthScheme {
    /// Cookie session: `/entity/auth/login` with user name and password.
    #[default]
    Basic,
    /// OAuth 2.0 authorization code with PKCE (a browser sign-in), or a static `OAuthAccessToken`.
    OAuth,
    /// OAuth 2.0 implicit flow: the token comes back in the redirect's URL fragment.
    OAuthImplicit,
    /// OAuth 2.0 resource-owner password grant.
    OAuthPassword,
}

impl AuthScheme {
    pub fn is_oauth(self) -> bool {
        self != Self::Basic
    }
}

/// When to run the interactive OAuth flow (CData's `InitiateOAuth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InitiateOAuth {
    /// Never: use `OAuthAccessToken` (or stored tokens) as they are.
    Off,
    /// Get a token when there is none (browser sign-in), refresh it when it expires.
    #[default]
    GetAndRefresh,
    /// Only refresh stored tokens; never start a browser sign-in.
    Refresh,
}

/// Everything needed to reach one Acumatica endpoint.
#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    /// The instance URL (site root, with its virtual directory).
    pub url: Option<Url>,
    pub endpoint_name: String,
    pub endpoint_version: String,
    pub auth_scheme: AuthScheme,
    pub user: Option<String>,
    pub password: Option<Secret>,
    /// Tenant login name.
    pub company: Option<String>,
    pub branch: Option<String>,
    pub locale: Option<String>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Requests in flight at once on this connection (the licence's processing cores).
    pub max_concurrent_requests: usize,
    /// Retries of an idempotent request after 429, 5xx or a dropped connection.
    pub max_retries: u32,
    /// Allow `http://` to a non-loopback host.
    pub allow_insecure_http: bool,
    /// Discover each entity's custom fields (`$adHocSchema`, one request per entity, on first
    /// use of its table) and offer them as columns.
    pub include_custom_fields: bool,
    /// Refuse every write (`INSERT`, `UPDATE`, `DELETE`) before any request is sent.
    pub read_only: bool,
    /// Allow `UPDATE` and `DELETE` without a `WHERE` (every record of the table).
    pub allow_writes_without_where: bool,
    /// Requests per minute this connection may send (0 = no budget; the server delays past half
    /// of its own limit anyway).
    pub requests_per_minute: u32,
    pub oauth_client_id: Option<String>,
    pub oauth_client_secret: Option<Secret>,
    /// A token obtained elsewhere (used as is; with `InitiateOAuth=OFF` nothing else is tried).
    pub oauth_access_token: Option<Secret>,
    pub oauth_refresh_token: Option<Secret>,
    /// Where tokens persist: a file path, or `memory://`. Default: a file per site and client in
    /// the user's config directory (`acusql/oauth/`).
    pub oauth_settings_location: Option<String>,
    pub initiate_oauth: InitiateOAuth,
    /// The loopback redirect URI registered for the connected application.
    pub callback_url: String,
    /// A pasted authorization code (or the whole redirected URL) for machines without a browser.
    pub oauth_verifier: Option<Secret>,
    /// OAuth scopes (space-separated). Default `api offline_access` (`api` for implicit).
    pub scope: Option<String>,
    /// Where `swagger.json` and the feeds' `$metadata` are cached across runs (`None`: not
    /// cached). The `acusql` binary defaults it to the user's cache directory.
    pub metadata_cache: Option<std::path::PathBuf>,
    /// How long a cached metadata document is used before it is read again.
    pub metadata_cache_ttl: Duration,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        Self {
            url: None,
            endpoint_name: "Default".into(),
            endpoint_version: "24.200.001".into(),
            auth_scheme: AuthScheme::Basic,
            user: None,
            password: None,
            company: None,
            branch: None,
            locale: None,
            timeout: Duration::from_secs(120),
            max_concurrent_requests: 4,
            max_retries: 5,
            allow_insecure_http: false,
            include_custom_fields: false,
            read_only: false,
            allow_writes_without_where: false,
            requests_per_minute: 0,
            oauth_client_id: None,
            oauth_client_secret: None,
            oauth_access_token: None,
            oauth_refresh_token: None,
            oauth_settings_location: None,
            initiate_oauth: InitiateOAuth::GetAndRefresh,
            callback_url: "http://localhost:33333/".into(),
            oauth_verifier: None,
            scope: None,
            metadata_cache: None,
            metadata_cache_ttl: crate::metadata_cache::DEFAULT_TTL,
        }
    }
}

/// Accepted property names (CData's, case-insensitive) for the did-you-mean hint.
const PROPERTIES: &[&str] = &[
    "AuthScheme",
    "Url",
    "User",
    "Password",
    "Company",
    "Branch",
    "Locale",
    "EndpointName",
    "EndpointVersion",
    "Timeout",
    "MaxConcurrentRequests",
    "MaxRetries",
    "AllowInsecureHttp",
    "RequestsPerMinute",
    "MaxSessions",
    "OAuthClientId",
    "OAuthClientSecret",
    "OAuthAccessToken",
    "OAuthRefreshToken",
    "OAuthSettingsLocation",
    "InitiateOAuth",
    "CallbackURL",
    "OAuthVerifier",
    "Scope",
    "Schema",
    "MetadataCache",
    "MetadataCacheTTL",
    "IncludeCustomFields",
    "ReadOnly",
    "AllowWritesWithoutWhere",
];

/// Edit distance of two property names, ignoring case.
fn distance(a: &str, b: &str) -> usize {
    strsim::levenshtein(&a.to_lowercase(), &b.to_lowercase())
}

/// Splits `Key=Value;Key="va;lue"` into pairs.
fn pairs(s: &str) -> Result<Vec<(String, String)>, Error> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        while i < chars.len() && (chars[i] == ';' || chars[i].is_whitespace()) {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let start = i;
        while i < chars.len() && chars[i] != '=' && chars[i] != ';' {
            i += 1;
        }
        let key: String = chars[start..i]
            .iter()
            .collect::<String>()
            .trim()
            .to_string();
        if i >= chars.len() || chars[i] != '=' {
            return Err(Error::Config(format!(
                "property {key:?} has no value (expected Key=Value)"
            )));
        }
        i += 1;
        while i < chars.len() && chars[i] == ' ' {
            i += 1;
        }
        let value = if i < chars.len() && (chars[i] == '"' || chars[i] == '\'') {
            let q = chars[i];
            i += 1;
            let mut v = String::new();
            loop {
                match chars.get(i) {
                    None => {
                        return Err(Error::Config(format!("unterminated quoted value of {key}")));
                    }
                    Some(&c) if c == q && chars.get(i + 1) == Some(&q) => {
                        v.push(q);
                        i += 2;
                    }
                    Some(&c) if c == q => {
                        i += 1;
                        break;
                    }
                    Some(&c) => {
                        v.push(c);
                        i += 1;
                    }
                }
            }
            v
        } else {
            let start = i;
            while i < chars.len() && chars[i] != ';' {
                i += 1;
            }
            chars[start..i]
                .iter()
                .collect::<String>()
                .trim()
                .to_string()
        };
        out.push((key, value));
    }
    Ok(out)
}

impl ConnectionConfig {
    /// Parses a CData-style connection string (property names are case-insensitive).
    pub fn from_connection_string(s: &str) -> Result<Self, Error> {
        let mut c = Self::default();
        c.apply_pairs(pairs(s)?)?;
        c.validate()?;
        Ok(c)
    }

    /// The connection string (if any), over `ACUMATICA_*` variables, over a profile from
    /// `acusql/config.toml` in the user's config directory.
    pub fn resolve(connection_string: Option<&str>, profile: Option<&str>) -> Result<Self, Error> {
        Self::resolve_over(Self::default(), connection_string, profile)
    }

    /// [`Self::resolve`] starting from `base` instead of the defaults (a program's own
    /// defaults, which the profile, environment and connection string then override).
    pub fn resolve_over(
        base: Self,
        connection_string: Option<&str>,
        profile: Option<&str>,
    ) -> Result<Self, Error> {
        let mut c = base;
        if let Some(name) = profile {
            c.apply_pairs(profile_pairs(name)?)?;
        }
        let env: Vec<(String, String)> = PROPERTIES
            .iter()
            .filter_map(|p| {
                std::env::var(format!("ACUMATICA_{}", p.to_ascii_uppercase()))
                    .ok()
                    .map(|v| (p.to_string(), v))
            })
            .collect();
        c.apply_pairs(env)?;
        if let Some(s) = connection_string {
            c.apply_pairs(pairs(s)?)?;
        }
        if c.url.is_none() {
            return Err(Error::Config(
                "no Url: give the Acumatica site URL (Url=https://…)".into(),
            ));
        }
        c.validate()?;
        Ok(c)
    }

    /// True when sign-in needs a password that was not given.
    pub fn needs_password(&self) -> bool {
        matches!(
            self.auth_scheme,
            AuthScheme::Basic | AuthScheme::OAuthPassword
        ) && self.password.is_none()
    }

    /// The scopes to request.
    pub fn scopes(&self) -> String {
        self.scope.clone().unwrap_or_else(|| {
            if self.auth_scheme == AuthScheme::OAuthImplicit {
                "api".into()
            } else {
                "api offline_access".into()
            }
        })
    }

    pub fn set_password(&mut self, password: impl Into<String>) {
        self.password = Some(Secret::new(password));
    }

    fn apply_pairs(&mut self, pairs: Vec<(String, String)>) -> Result<(), Error> {
        for (key, value) in pairs {
            self.set(&key, value)?;
        }
        Ok(())
    }

    fn set(&mut self, key: &str, value: String) -> Result<(), Error> {
        let number = |v: &str| -> Result<u64, Error> {
            v.trim()
                .parse()
                .map_err(|_| Error::Config(format!("{key} must be a whole number, got {v:?}")))
        };
        let flag = |v: &str| -> Result<bool, Error> {
            match v.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Ok(true),
                "false" | "0" | "no" | "off" => Ok(false),
                _ => Err(Error::Config(format!(
                    "{key} must be true or false, got {v:?}"
                ))),
            }
        };
        match key.to_ascii_lowercase().as_str() {
            "authscheme" => {
                self.auth_scheme = match value.to_ascii_lowercase().as_str() {
                    "basic" => AuthScheme::Basic,
                    "oauth" => AuthScheme::OAuth,
                    "oauthimplicit" => AuthScheme::OAuthImplicit,
                    "oauthpassword" => AuthScheme::OAuthPassword,
                    other => {
                        return Err(Error::Config(format!(
                            "AuthScheme {other:?} is not one of Basic, OAuth, OAuthImplicit, OAuthPassword"
                        )));
                    }
                }
            }
            "initiateoauth" => {
                self.initiate_oauth = match value.to_ascii_uppercase().as_str() {
                    "OFF" | "FALSE" => InitiateOAuth::Off,
                    "GETANDREFRESH" | "TRUE" => InitiateOAuth::GetAndRefresh,
                    "REFRESH" => InitiateOAuth::Refresh,
                    other => {
                        return Err(Error::Config(format!(
                            "InitiateOAuth {other:?} is not one of OFF, GETANDREFRESH, REFRESH"
                        )));
                    }
                }
            }
            "oauthclientid" => self.oauth_client_id = Some(value),
            "oauthclientsecret" => self.oauth_client_secret = Some(Secret::new(value)),
            "oauthaccesstoken" => self.oauth_access_token = Some(Secret::new(value)),
            "oauthrefreshtoken" => self.oauth_refresh_token = Some(Secret::new(value)),
            "oauthsettingslocation" => self.oauth_settings_location = Some(value),
            "callbackurl" => {
                let u = Url::parse(&value).map_err(|e| {
                    Error::Config(format!("CallbackURL {value:?} is not a URL: {e}"))
                })?;
                if u.scheme() != "http"
                    || !matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
                {
                    return Err(Error::Config(format!(
                        "CallbackURL {value:?} must be a loopback http:// URL (http://localhost:PORT/)"
                    )));
                }
                self.callback_url = value;
            }
            "oauthverifier" => self.oauth_verifier = Some(Secret::new(value)),
            "scope" => self.scope = Some(value),
            "metadatacache" => {
                self.metadata_cache = match value.trim().to_ascii_lowercase().as_str() {
                    "" | "off" | "none" | "false" => None,
                    _ => Some(std::path::PathBuf::from(value.trim())),
                }
            }
            "metadatacachettl" => self.metadata_cache_ttl = duration(key, &value)?,
            "requestsperminute" => self.requests_per_minute = number(&value)? as u32,
            // A connection holds exactly one API session (one sign-in at a time, renewed when
            // it expires). CData's property is accepted with that value only, never pretended.
            "maxsessions" => {
                if number(&value)? != 1 {
                    return Err(Error::Config(format!(
                        "MaxSessions={value}: a connection always holds exactly one API session; use MaxSessions=1 or leave it out (open several connections for several sessions)"
                    )));
                }
            }
            // CData's Schema selects REST or OData tables; acusql exposes both catalogs' schemas.
            "schema" => {
                if !matches!(
                    value.to_ascii_lowercase().as_str(),
                    "rest" | "odata" | "gi" | "dac"
                ) {
                    return Err(Error::Config(format!(
                        "Schema {value:?} is not one of REST, OData"
                    )));
                }
            }
            "url" => self.set_url(&value)?,
            "user" => self.user = Some(value),
            "password" => self.password = Some(Secret::new(value)),
            "company" | "tenant" => self.company = Some(value),
            "branch" => self.branch = Some(value),
            "locale" => self.locale = Some(value),
            "endpointname" => self.endpoint_name = value,
            "endpointversion" => self.endpoint_version = value,
            "timeout" => self.timeout = Duration::from_secs(number(&value)?),
            "maxconcurrentrequests" => {
                self.max_concurrent_requests = number(&value)?.max(1) as usize
            }
            "maxretries" => self.max_retries = number(&value)? as u32,
            "includecustomfields" => self.include_custom_fields = flag(&value)?,
            "readonly" => self.read_only = flag(&value)?,
            "allowwriteswithoutwhere" => self.allow_writes_without_where = flag(&value)?,
            "allowinsecurehttp" => {
                self.allow_insecure_http =
                    matches!(value.to_ascii_lowercase().as_str(), "true" | "1" | "yes")
            }
            _ => {
                let best = PROPERTIES
                    .iter()
                    .min_by_key(|p| distance(p, key))
                    .copied()
                    .unwrap_or("Url");
                let hint = if distance(best, key) <= 3 {
                    format!(" (did you mean {best}?)")
                } else {
                    String::new()
                };
                return Err(Error::Config(format!("unknown property {key:?}{hint}")));
            }
        }
        Ok(())
    }

    /// Accepts the site root or a full `…/entity/<Endpoint>/<Version>/` URL.
    fn set_url(&mut self, value: &str) -> Result<(), Error> {
        let mut url = Url::parse(value.trim())
            .map_err(|e| Error::Config(format!("Url {value:?} is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::Config(format!(
                "Url {value:?} must start with https://"
            )));
        }
        // Credentials in the URL would ride along in every error, log line and `Debug`.
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Error::Config(
                "Url must not contain a user name or password: give them with User= and Password="
                    .into(),
            ));
        }
        let path = url.path().trim_end_matches('/').to_string();
        if let Some(idx) = path.to_ascii_lowercase().find("/entity/") {
            let rest: Vec<&str> = path[idx + 8..]
                .split('/')
                .filter(|s| !s.is_empty())
                .collect();
            if let [name, version, ..] = rest.as_slice() {
                self.endpoint_name = (*name).to_string();
                self.endpoint_version = (*version).to_string();
            }
            url.set_path(&path[..idx]);
        }
        if !url.path().ends_with('/') {
            let p = format!("{}/", url.path());
            url.set_path(&p);
        }
        self.url = Some(url);
        Ok(())
    }

    fn validate(&self) -> Result<(), Error> {
        let url = self.url.as_ref().ok_or_else(|| {
            Error::Config("no Url: give the Acumatica site URL (Url=https://…)".into())
        })?;
        let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
        if url.scheme() == "http" && !loopback && !self.allow_insecure_http {
            return Err(Error::Config(format!(
                "refusing http:// to {} (credentials would travel in clear text); use https:// or AllowInsecureHttp=true",
                url.host_str().unwrap_or_default()
            )));
        }
        let needs_user = matches!(
            self.auth_scheme,
            AuthScheme::Basic | AuthScheme::OAuthPassword
        );
        if needs_user && self.user.is_none() {
            return Err(Error::Config(
                "no User: give the Acumatica user name".into(),
            ));
        }
        if self.auth_scheme.is_oauth()
            && self.oauth_access_token.is_none()
            && self.oauth_client_id.is_none()
        {
            return Err(Error::Config(format!(
                "AuthScheme={:?} needs OAuthClientId (the connected application's client ID, GUID@Tenant) or OAuthAccessToken",
                self.auth_scheme
            )));
        }
        Ok(())
    }

    /// `https://host/site/entity/Default/24.200.001/`
    pub fn endpoint_url(&self) -> Result<Url, Error> {
        let base = self
            .url
            .as_ref()
            .ok_or_else(|| Error::Config("no Url".into()))?;
        base.join(&format!(
            "entity/{}/{}/",
            self.endpoint_name, self.endpoint_version
        ))
        .map_err(|e| Error::Config(format!("bad endpoint URL: {e}")))
    }
}

/// `90`, `90s`, `30m`, `24h` or `7d`.
fn duration(key: &str, value: &str) -> Result<Duration, Error> {
    let v = value.trim();
    let (digits, unit) = match v.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => (&v[..i], v[i..].trim()),
        None => (v, "s"),
    };
    let n: u64 = digits.parse().map_err(|_| {
        Error::Config(format!(
            "{key} must be a duration such as 3600, 30m, 24h or 7d, got {value:?}"
        ))
    })?;
    let secs = match unit.to_ascii_lowercase().as_str() {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => {
            return Err(Error::Config(format!(
                "{key} must be a duration such as 3600, 30m, 24h or 7d, got {value:?}"
            )));
        }
    };
    Ok(Duration::from_secs(secs))
}

fn profile_pairs(name: &str) -> Result<Vec<(String, String)>, Error> {
    let path = dirs::config_dir()
        .map(|d| d.join("acusql").join("config.toml"))
        .ok_or_else(|| Error::Config("no config directory for profiles".into()))?;
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::Config(format!("cannot read profile file {}: {e}", path.display())))?;
    let doc: toml::Table = text
        .parse()
        .map_err(|e| Error::Config(format!("{} is not valid TOML: {e}", path.display())))?;
    let profile = doc
        .get("profiles")
        .and_then(|p| p.get(name))
        .and_then(|p| p.as_table())
        .ok_or_else(|| {
            Error::Config(format!(
                "no profile [profiles.{name}] in {}",
                path.display()
            ))
        })?;
    Ok(profile
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str().map_or_else(|| v.to_string(), str::to_string),
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cdata_strings_case_insensitively_with_quotes() {
        let c = ConnectionConfig::from_connection_string(
            "authscheme=Basic; URL=http://localhost:8080/Site/entity/Default/23.200.001/; user=admin; Password=\"p;w\"\"d\"; Company=Co",
        )
        .unwrap();
        assert_eq!(
            c.url.as_ref().unwrap().as_str(),
            "http://localhost:8080/Site/"
        );
        assert_eq!(c.endpoint_version, "23.200.001");
        assert_eq!(c.password.as_ref().unwrap().expose(), "p;w\"d");
        assert!(!format!("{c:?}").contains("p;w"));
        assert_eq!(
            c.endpoint_url().unwrap().as_str(),
            "http://localhost:8080/Site/entity/Default/23.200.001/"
        );
    }

    #[test]
    fn max_sessions_is_one_session_per_connection_never_more() {
        let base = "Url=https://erp.example.com;User=a";
        ConnectionConfig::from_connection_string(&format!("{base};MaxSessions=1")).unwrap();
        for n in ["0", "2", "8"] {
            let e = ConnectionConfig::from_connection_string(&format!("{base};MaxSessions={n}"))
                .unwrap_err()
                .to_string();
            assert!(e.contains("exactly one API session"), "{e}");
        }
    }

    #[test]
    fn one_clear_line_per_mistake() {
        let e = ConnectionConfig::from_connection_string("Ur=https://x;User=a")
            .unwrap_err()
            .to_string();
        assert!(e.contains("did you mean Url?"), "{e}");
        let e = ConnectionConfig::from_connection_string("Url=http://erp.example.com;User=a")
            .unwrap_err()
            .to_string();
        assert!(e.contains("https://"), "{e}");
        let e = ConnectionConfig::from_connection_string("Url=notaurl;User=a")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a URL"), "{e}");
        let e = ConnectionConfig::from_connection_string("Url=https://x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("User"), "{e}");
    }

    #[test]
    fn debug_and_errors_never_show_secrets() {
        let c = ConnectionConfig::from_connection_string(
            "Url=http://localhost/;AuthScheme=OAuthPassword;User=admin;Password=pw-hunter2;\
             OAuthClientId=id@Co;OAuthClientSecret=cs-hunter2;OAuthAccessToken=at-hunter2;\
             OAuthRefreshToken=rt-hunter2;OAuthVerifier=ov-hunter2",
        )
        .unwrap();
        let text = format!("{c:?} {c:#?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(
            text.contains("id@Co"),
            "non-secret fields stay visible: {text}"
        );
        let e = ConnectionConfig::from_connection_string(
            "Url=https://admin:url-hunter2@erp.example.com/;User=admin",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("must not contain a user name or password"),
            "{e}"
        );
        assert!(!e.contains("hunter2"), "{e}");
        let s: Secret = "parsed-hunter2".parse().unwrap();
        assert_eq!(s.expose(), "parsed-hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
