//! Tokens as persisted: who they belong to, whether they are fresh, and where they live (an
//! owner-only file written atomically, or memory).

use std::path::PathBuf;

use oauth2::TokenResponse;
use oauth2::basic::BasicTokenResponse;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use url::Url;

use crate::config::AuthScheme;
use crate::{ConnectionConfig, Error};

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
    pub(super) fn stamp(&mut self, c: &ConnectionConfig) {
        self.user = token_user(c);
        self.credential_check = (c.auth_scheme == AuthScheme::OAuthPassword).then(|| {
            let salt = uuid::Uuid::new_v4().simple().to_string();
            format!("{salt}${}", credential_hash(&salt, c))
        });
    }

    /// True when these tokens were issued for the configured user (and, for `OAuthPassword`,
    /// obtained with the configured password). A token never serves another user.
    pub(super) fn belongs_to(&self, c: &ConnectionConfig) -> bool {
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
        // Compared in constant time: the hash is a secret's digest.
        expected.as_bytes().ct_eq(hash.as_bytes()).into()
    }

    /// Usable at `now` (Unix seconds), and not within the refresh margin of its expiry.
    pub(super) fn fresh(&self, now: i64) -> bool {
        let margin = (self.expires_in / 4).clamp(1, 60);
        self.access_token.is_some() && now < self.expires_at - margin
    }

    /// Tokens from a token response received at `now` (Unix seconds).
    pub(super) fn from_response(
        r: &BasicTokenResponse,
        previous_refresh: Option<String>,
        now: i64,
    ) -> Self {
        let expires_in = r.expires_in().map_or(3600, |d| d.as_secs() as i64);
        Self {
            access_token: Some(r.access_token().secret().clone()),
            refresh_token: r
                .refresh_token()
                .map(|t| t.secret().clone())
                .or(previous_refresh),
            expires_at: now + expires_in,
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
        crate::private_file::write_atomic(
            path,
            &serde_json::to_vec_pretty(tokens).unwrap_or_default(),
        )
        .map_err(fail)
    }
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
            expires_at: chrono::Utc::now().timestamp() + 3600,
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
        assert!(back.fresh(chrono::Utc::now().timestamp()));
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
