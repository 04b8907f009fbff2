//! Client authentication: a Basic handshake that returns a bearer token, or a configured token.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Instant;

use base64::Engine;
use subtle::ConstantTimeEq;
use tonic::Status;
use tonic::metadata::MetadataMap;

/// Who may use the server. Secrets are never shown by `Debug`.
#[derive(Clone)]
pub struct FlightAuth {
    users: Vec<(String, String)>,
    tokens: Vec<String>,
    /// How long a token handed out by the handshake stays valid.
    token_ttl: std::time::Duration,
    /// Most handshake tokens valid at once (the oldest is dropped beyond).
    max_tokens: usize,
}

impl Default for FlightAuth {
    fn default() -> Self {
        Self {
            users: Vec::new(),
            tokens: Vec::new(),
            token_ttl: std::time::Duration::from_secs(3600),
            max_tokens: 10_000,
        }
    }
}

impl fmt::Debug for FlightAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlightAuth")
            .field(
                "users",
                &self.users.iter().map(|(u, _)| u).collect::<Vec<_>>(),
            )
            .field("tokens", &format_args!("[{} redacted]", self.tokens.len()))
            .finish()
    }
}

impl FlightAuth {
    /// No authentication (only sensible on a loopback address).
    pub fn none() -> Self {
        Self::default()
    }

    /// One user with a password (Flight handshake with Basic credentials).
    pub fn basic(user: impl Into<String>, password: impl Into<String>) -> Self {
        Self::none().with_user(user, password)
    }

    pub fn with_user(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.users.push((user.into(), password.into()));
        self
    }

    /// A static bearer token clients may send as `authorization: Bearer <token>`.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.tokens.push(token.into());
        self
    }

    /// How long a handshake token stays valid (default one hour); an expired one is refused
    /// and the client signs in again.
    pub fn with_token_ttl(mut self, ttl: std::time::Duration) -> Self {
        self.token_ttl = ttl;
        self
    }

    /// Most handshake tokens valid at once (default 10,000); beyond it the oldest is revoked,
    /// so a client looping on the handshake cannot grow the server's memory.
    pub fn with_max_tokens(mut self, max: usize) -> Self {
        self.max_tokens = max.max(1);
        self
    }

    /// True when clients must authenticate.
    pub fn is_required(&self) -> bool {
        !self.users.is_empty() || !self.tokens.is_empty()
    }

    fn check_basic(&self, user: &str, password: &str) -> bool {
        self.users.iter().any(|(u, p)| {
            constant_time_eq(u.as_bytes(), user.as_bytes())
                & constant_time_eq(p.as_bytes(), password.as_bytes())
        })
    }
}

/// Compares in constant time, so timing does not reveal how much of a secret matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// The server's view of authentication: configuration plus the tokens it issued.
#[derive(Default)]
pub(crate) struct Authenticator {
    config: FlightAuth,
    /// Tokens handed out, with when they expire.
    issued: Mutex<HashMap<String, Instant>>,
}

/// Issued tokens are bearer credentials: `Debug` counts them, never shows them.
impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let issued = self.issued.lock().map(|s| s.len()).unwrap_or_default();
        f.debug_struct("Authenticator")
            .field("config", &self.config)
            .field("issued", &format_args!("[{issued} redacted]"))
            .finish()
    }
}

impl Authenticator {
    pub(crate) fn new(config: FlightAuth) -> Self {
        Self {
            config,
            issued: Mutex::default(),
        }
    }

    pub(crate) fn is_required(&self) -> bool {
        self.config.is_required()
    }

    /// Handles the handshake's `authorization` header and returns the bearer token to hand out.
    pub(crate) fn handshake(&self, metadata: &MetadataMap) -> Result<String, Status> {
        if let Some(header) = authorization(metadata)? {
            if let Some(basic) = strip_scheme(header, "Basic ") {
                let (user, password) = decode_basic(basic)?;
                if !self.is_required() || self.config.check_basic(&user, &password) {
                    return Ok(self.issue());
                }
                return Err(Status::unauthenticated("invalid user name or password"));
            }
            if strip_scheme(header, "Bearer ").is_some() {
                self.check(metadata)?;
                return Ok(self.issue());
            }
        }
        if self.is_required() {
            Err(Status::unauthenticated(
                "authentication required: send Basic credentials in the handshake or a bearer token",
            ))
        } else {
            Ok(self.issue())
        }
    }

    fn issue(&self) -> String {
        let token = uuid::Uuid::new_v4().simple().to_string();
        if let Ok(mut issued) = self.issued.lock() {
            let now = Instant::now();
            issued.retain(|_, expires| *expires > now);
            while issued.len() >= self.config.max_tokens {
                let oldest = issued
                    .iter()
                    .min_by_key(|(_, expires)| **expires)
                    .map(|(t, _)| t.clone());
                match oldest {
                    Some(t) => issued.remove(&t),
                    None => break,
                };
            }
            issued.insert(token.clone(), now + self.config.token_ttl);
        }
        token
    }

    /// True when `token` was handed out and has not expired (expired ones are forgotten).
    fn valid(&self, token: &str) -> bool {
        let Ok(mut issued) = self.issued.lock() else {
            return false;
        };
        match issued.get(token) {
            Some(expires) if *expires > Instant::now() => true,
            Some(_) => {
                issued.remove(token);
                false
            }
            None => false,
        }
    }

    /// Checks a call's credentials: an issued or configured bearer token, or Basic credentials.
    pub(crate) fn check(&self, metadata: &MetadataMap) -> Result<(), Status> {
        if !self.is_required() {
            return Ok(());
        }
        let Some(header) = authorization(metadata)? else {
            return Err(Status::unauthenticated(
                "authentication required: no authorization header",
            ));
        };
        if let Some(token) = strip_scheme(header, "Bearer ") {
            let token = token.trim();
            if self.valid(token)
                || self
                    .config
                    .tokens
                    .iter()
                    .any(|t| constant_time_eq(t.as_bytes(), token.as_bytes()))
            {
                return Ok(());
            }
            return Err(Status::unauthenticated("invalid or expired bearer token"));
        }
        if let Some(basic) = strip_scheme(header, "Basic ") {
            let (user, password) = decode_basic(basic)?;
            if self.config.check_basic(&user, &password) {
                return Ok(());
            }
            return Err(Status::unauthenticated("invalid user name or password"));
        }
        Err(Status::unauthenticated(
            "unsupported authorization scheme (use Basic or Bearer)",
        ))
    }
}

fn authorization(metadata: &MetadataMap) -> Result<Option<&str>, Status> {
    metadata
        .get("authorization")
        .map(|v| {
            v.to_str()
                .map_err(|_| Status::unauthenticated("authorization header is not text"))
        })
        .transpose()
}

fn strip_scheme<'a>(header: &'a str, scheme: &str) -> Option<&'a str> {
    header
        .get(..scheme.len())
        .filter(|s| s.eq_ignore_ascii_case(scheme))
        .map(|_| &header[scheme.len()..])
}

fn decode_basic(encoded: &str) -> Result<(String, String), Status> {
    // Go clients (ADBC) send unpadded base64; accept both forms.
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(encoded.trim().trim_end_matches('='))
        .map_err(|_| Status::unauthenticated("Basic credentials are not base64"))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Status::unauthenticated("Basic credentials are not UTF-8"))?;
    let (user, password) = text
        .split_once(':')
        .ok_or_else(|| Status::unauthenticated("Basic credentials lack a ':'"))?;
    Ok((user.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md(value: &str) -> MetadataMap {
        let mut m = MetadataMap::new();
        m.insert("authorization", value.parse().unwrap());
        m
    }

    fn basic(user: &str, pass: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
        )
    }

    #[test]
    fn handshake_issues_tokens_that_later_calls_accept() {
        let a = Authenticator::new(FlightAuth::basic("u", "p"));
        assert!(a.handshake(&md(&basic("u", "wrong"))).is_err());
        assert!(a.check(&MetadataMap::new()).is_err());
        let token = a.handshake(&md(&basic("u", "p"))).unwrap();
        a.check(&md(&format!("Bearer {token}"))).unwrap();
        assert!(a.check(&md("Bearer nope")).is_err());
    }

    #[test]
    fn handshake_tokens_expire_and_are_bounded_in_number() {
        let a = Authenticator::new(
            FlightAuth::basic("u", "p").with_token_ttl(std::time::Duration::from_millis(50)),
        );
        let token = a.handshake(&md(&basic("u", "p"))).unwrap();
        a.check(&md(&format!("Bearer {token}"))).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(80));
        let e = a.check(&md(&format!("Bearer {token}"))).unwrap_err();
        assert_eq!(e.code(), tonic::Code::Unauthenticated);
        let a = Authenticator::new(FlightAuth::basic("u", "p").with_max_tokens(3));
        let tokens: Vec<String> = (0..5)
            .map(|_| a.handshake(&md(&basic("u", "p"))).unwrap())
            .collect();
        assert_eq!(a.issued.lock().unwrap().len(), 3);
        assert!(
            a.check(&md(&format!("Bearer {}", tokens[0]))).is_err(),
            "oldest revoked"
        );
        a.check(&md(&format!("Bearer {}", tokens[4]))).unwrap();
    }

    #[test]
    fn static_tokens_and_open_servers() {
        let a = Authenticator::new(FlightAuth::none().with_token("t0k"));
        a.check(&md("Bearer t0k")).unwrap();
        assert!(a.check(&md("Bearer t0")).is_err());
        let open = Authenticator::new(FlightAuth::none());
        open.check(&MetadataMap::new()).unwrap();
        assert!(!open.handshake(&MetadataMap::new()).unwrap().is_empty());
    }

    #[test]
    fn debug_hides_secrets() {
        let s = format!(
            "{:?}",
            FlightAuth::basic("alice", "hunter2").with_token("tok3n")
        );
        assert!(
            s.contains("alice") && !s.contains("hunter2") && !s.contains("tok3n"),
            "{s}"
        );
        let a = Authenticator::new(FlightAuth::basic("alice", "hunter2"));
        let issued = a.handshake(&md(&basic("alice", "hunter2"))).unwrap();
        let s = format!("{a:?}");
        assert!(
            !s.contains(&issued) && !s.contains("hunter2") && s.contains("1 redacted"),
            "{s}"
        );
    }
}
