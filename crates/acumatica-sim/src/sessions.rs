//! Who is signed in: cookie sessions, OAuth grants and tokens, with the licence's session cap
//! and the idle timeout. Everything sits behind one mutex: the simulator favours being obviously
//! right over being clever.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rand::Rng;

use crate::clock::Clock;

/// An opaque random string of `len` base64url characters (tokens, codes, session ids).
pub fn random_token(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

#[derive(Debug)]
struct Session {
    last_seen: Instant,
    /// Index into `data::BRANCHES`: the branch chosen at sign-in.
    branch: usize,
}

/// An issued access token.
#[derive(Debug, Clone)]
struct Token {
    expires: Instant,
    grant: u64,
    revoked: bool,
}

/// One sign-in through OAuth: the tokens issued from it (first one and every refresh) share its
/// API session, as documented for `offline_access`.
#[derive(Debug, Clone)]
struct Grant {
    scope: String,
    client_id: String,
    session: Option<String>,
}

impl Grant {
    fn offline(&self) -> bool {
        self.scope.split(' ').any(|s| s == "offline_access")
    }
}

/// An authorization code waiting to be exchanged.
#[derive(Debug, Clone)]
pub struct Code {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub challenge: Option<String>,
    pub expires: Instant,
}

/// Why a request is not authenticated.
#[derive(Debug, PartialEq, Eq)]
pub enum Denied {
    /// No credentials, or they expired: 401.
    NotSignedIn,
    /// A token needs a new session and the licence has none left: 429.
    LoginLimit,
}

#[derive(Debug, Default)]
pub struct Sessions {
    sessions: HashMap<String, Session>,
    tokens: HashMap<String, Token>,
    grants: HashMap<u64, Grant>,
    refresh: HashMap<String, u64>,
    codes: HashMap<String, Code>,
    next_grant: u64,
    pub refreshes: u64,
    pub tokens_issued: u64,
    /// Most sessions open at once.
    pub peak: usize,
    /// What expiries are measured on.
    clock: Clock,
}

impl Sessions {
    pub(crate) fn with_clock(clock: Clock) -> Self {
        Self {
            clock,
            ..Self::default()
        }
    }

    /// Now, on the clock expiries are measured on.
    pub(crate) fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Closes sessions idle for longer than `idle`, and the sessions of expired tokens without
    /// `offline_access`; forgets expired tokens and codes.
    pub fn sweep(&mut self, idle: Duration) {
        let now = self.clock.now();
        self.sessions
            .retain(|_, s| now.duration_since(s.last_seen) < idle);
        let expired: Vec<u64> = self
            .tokens
            .values()
            .filter(|t| t.expires <= now)
            .map(|t| t.grant)
            .collect();
        self.tokens.retain(|_, t| t.expires > now);
        for g in expired {
            let live = self.tokens.values().any(|t| t.grant == g);
            if let Some(grant) = self.grants.get_mut(&g)
                && !grant.offline()
                && !live
                && let Some(s) = grant.session.take()
            {
                self.sessions.remove(&s);
            }
        }
        let grants_in_use: std::collections::HashSet<u64> = self
            .tokens
            .values()
            .map(|t| t.grant)
            .chain(self.refresh.values().copied())
            .collect();
        self.grants.retain(|g, _| grants_in_use.contains(g));
        self.codes.retain(|_, c| c.expires > now);
    }

    pub fn open_count(&self) -> usize {
        self.sessions.len()
    }

    /// Opens a session, or `None` when the licence cap is reached.
    pub fn open(&mut self, max: usize) -> Option<String> {
        if self.sessions.len() >= max {
            return None;
        }
        let id: String = random_token(24)
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { 'a' })
            .collect();
        self.sessions.insert(
            id.clone(),
            Session {
                last_seen: self.clock.now(),
                branch: 0,
            },
        );
        self.peak = self.peak.max(self.sessions.len());
        Some(id)
    }

    /// Closes a session (sign-out). Tokens stay valid and open a new session when used again.
    pub fn close(&mut self, id: &str) -> bool {
        for g in self.grants.values_mut() {
            if g.session.as_deref() == Some(id) {
                g.session = None;
            }
        }
        self.sessions.remove(id).is_some()
    }

    /// Selects the session's branch (sign-in with `branch`).
    pub fn set_branch(&mut self, id: &str, branch: usize) {
        if let Some(s) = self.sessions.get_mut(id) {
            s.branch = branch;
        }
    }

    /// The session's branch.
    pub fn branch(&self, id: &str) -> Option<usize> {
        self.sessions.get(id).map(|s| s.branch)
    }

    /// Marks a session as used now; false when it does not exist (any more).
    pub fn touch(&mut self, id: &str) -> bool {
        match self.sessions.get_mut(id) {
            Some(s) => {
                s.last_seen = self.clock.now();
                true
            }
            None => false,
        }
    }

    /// The session a bearer token's request runs in, opened on first use.
    pub fn bearer(&mut self, token: &str, max: usize) -> Result<String, Denied> {
        let t = self.tokens.get(token).ok_or(Denied::NotSignedIn)?;
        if t.revoked || t.expires <= self.clock.now() {
            return Err(Denied::NotSignedIn);
        }
        let g = t.grant;
        if let Some(s) = self.grants.get(&g).and_then(|g| g.session.clone())
            && self.touch(&s)
        {
            return Ok(s);
        }
        let s = self.open(max).ok_or(Denied::LoginLimit)?;
        if let Some(grant) = self.grants.get_mut(&g) {
            grant.session = Some(s.clone());
        }
        Ok(s)
    }

    /// Issues an access token (and a refresh token with `offline_access`) for a new grant, or
    /// for `grant` when refreshing.
    fn issue_for(&mut self, grant: u64, lifetime: Duration) -> (String, Option<String>) {
        let access = random_token(43);
        self.tokens.insert(
            access.clone(),
            Token {
                expires: self.clock.now() + lifetime,
                grant,
                revoked: false,
            },
        );
        self.tokens_issued += 1;
        let offline = self.grants.get(&grant).is_some_and(Grant::offline);
        let refresh = offline.then(|| {
            let r = random_token(43);
            self.refresh.insert(r.clone(), grant);
            r
        });
        (access, refresh)
    }

    /// Signs in through OAuth: a new grant and its first tokens.
    pub fn issue(
        &mut self,
        client_id: &str,
        scope: &str,
        lifetime: Duration,
    ) -> (String, Option<String>) {
        self.next_grant += 1;
        let g = self.next_grant;
        self.grants.insert(
            g,
            Grant {
                scope: scope.to_string(),
                client_id: client_id.to_string(),
                session: None,
            },
        );
        self.issue_for(g, lifetime)
    }

    /// Exchanges a refresh token (single use: rotation) for new tokens of the same grant.
    /// Returns the grant's scope with the tokens.
    pub fn refresh(
        &mut self,
        token: &str,
        client_id: &str,
        lifetime: Duration,
    ) -> Option<(String, Option<String>, String)> {
        let g = *self.refresh.get(token)?;
        let grant = self.grants.get(&g)?;
        if !grant.client_id.eq_ignore_ascii_case(client_id) {
            return None;
        }
        let scope = grant.scope.clone();
        self.refresh.remove(token);
        self.refreshes += 1;
        let (a, r) = self.issue_for(g, lifetime);
        Some((a, r, scope))
    }

    pub fn store_code(&mut self, code: Code) -> String {
        let c = random_token(43);
        self.codes.insert(c.clone(), code);
        c
    }

    /// Takes a code (single use).
    pub fn take_code(&mut self, code: &str) -> Option<Code> {
        self.codes
            .remove(code)
            .filter(|c| c.expires > self.clock.now())
    }

    pub fn revoke(&mut self, token: &str) {
        if let Some(t) = self.tokens.get_mut(token) {
            t.revoked = true;
        }
        self.refresh.remove(token);
    }

    /// Makes a token look expired (fault injection) without closing its session.
    pub fn expire_token(&mut self, token: &str) {
        if let Some(t) = self.tokens.get_mut(token) {
            t.expires = self.clock.now();
        }
    }

    /// The session of a bearer token, if it has one open.
    pub fn session_of_token(&self, token: &str) -> Option<String> {
        let g = self.tokens.get(token)?.grant;
        self.grants.get(&g)?.session.clone()
    }
}
