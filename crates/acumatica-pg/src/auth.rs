//! Client authentication: SCRAM-SHA-256 with a configured user and password, or none (only
//! on a loopback address). Upstream Acumatica credentials are never involved: clients sign in
//! to this server, the server alone talks to Acumatica.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use futures::Sink;
use pgwire::api::auth::sasl::SASLAuthStartupHandler;
use pgwire::api::auth::sasl::scram::{SCRAM_ITERATIONS, ScramAuth, gen_salted_password};
use pgwire::api::auth::{
    AuthSource, DefaultServerParameterProvider, LoginInfo, Password, StartupHandler,
};
use pgwire::api::{
    ClientInfo, PgWireConnectionState, PidSecretKeyGenerator, RandomPidSecretKeyGenerator,
};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};

use crate::catalog::SERVER_VERSION;

/// Who may connect. Passwords are never shown by `Debug`.
#[derive(Clone, Default)]
pub struct PgAuth {
    users: Vec<(String, String)>,
}

impl fmt::Debug for PgAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgAuth")
            .field(
                "users",
                &self.users.iter().map(|(u, _)| u).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl PgAuth {
    /// No authentication: any user name is accepted (only sensible on a loopback address).
    pub fn none() -> Self {
        Self::default()
    }

    /// One user with a password, checked with SCRAM-SHA-256 (the password never crosses the
    /// network, not even hashed).
    pub fn password(user: impl Into<String>, password: impl Into<String>) -> Self {
        Self::none().with_user(user, password)
    }

    pub fn with_user(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.users.push((user.into(), password.into()));
        self
    }

    /// True when clients must authenticate.
    pub fn is_required(&self) -> bool {
        !self.users.is_empty()
    }
}

/// The SCRAM verifiers, computed once: the salted password of each user.
pub(crate) struct ScramSource {
    salt: Vec<u8>,
    users: Vec<(String, Vec<u8>)>,
    /// Given for unknown users, so that they fail exactly like a wrong password (no
    /// difference in messages or timing reveals which user names exist).
    decoy: Vec<u8>,
}

impl fmt::Debug for ScramSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScramSource")
            .field(
                "users",
                &self.users.iter().map(|(u, _)| u).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl ScramSource {
    pub(crate) fn new(auth: &PgAuth) -> Self {
        let salt = rand::random::<[u8; 16]>().to_vec();
        let users = auth
            .users
            .iter()
            .map(|(u, p)| (u.clone(), gen_salted_password(p, &salt, SCRAM_ITERATIONS)))
            .collect();
        let decoy = rand::random::<[u8; 32]>().to_vec();
        Self { salt, users, decoy }
    }
}

#[async_trait]
impl AuthSource for ScramSource {
    async fn get_password(&self, login: &LoginInfo) -> PgWireResult<Password> {
        let user = login.user().unwrap_or_default();
        let mut found = None;
        for (u, salted) in &self.users {
            if constant_time_eq(u.as_bytes(), user.as_bytes()) {
                found = Some(salted.clone());
            }
        }
        Ok(Password::new(
            Some(self.salt.clone()),
            found.unwrap_or_else(|| self.decoy.clone()),
        ))
    }
}

/// Compares without an early exit, so timing does not reveal how much of a name matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        diff |= usize::from(x ^ b.get(i).copied().unwrap_or(0));
    }
    diff == 0
}

/// The parameters reported to clients after sign-in.
pub(crate) fn server_parameters(search_path: &str) -> DefaultServerParameterProvider {
    let mut p = DefaultServerParameterProvider::default();
    p.server_version = format!("{SERVER_VERSION} (acusql {})", env!("CARGO_PKG_VERSION"));
    p.search_path = search_path.to_string();
    p.is_superuser = false;
    p.default_transaction_read_only = true;
    p
}

/// The startup (sign-in) handler of one connection.
pub(crate) enum Startup {
    /// No authentication: the startup message is answered at once.
    Open(Arc<DefaultServerParameterProvider>),
    /// SCRAM-SHA-256 (this handler holds the connection's SASL state).
    Scram(SASLAuthStartupHandler<DefaultServerParameterProvider>),
}

impl Startup {
    pub(crate) fn new(
        source: Option<&Arc<ScramSource>>,
        params: Arc<DefaultServerParameterProvider>,
    ) -> Self {
        match source {
            None => Startup::Open(params),
            Some(source) => Startup::Scram(
                SASLAuthStartupHandler::new(params)
                    .with_scram(ScramAuth::new(source.clone() as Arc<dyn AuthSource>)),
            ),
        }
    }
}

static PIDS: std::sync::LazyLock<RandomPidSecretKeyGenerator> =
    std::sync::LazyLock::new(RandomPidSecretKeyGenerator::default);

#[async_trait]
impl StartupHandler for Startup {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: fmt::Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match self {
            Startup::Scram(h) => h.on_startup(client, message).await,
            Startup::Open(params) => {
                if let PgWireFrontendMessage::Startup(ref startup) = message {
                    pgwire::api::auth::protocol_negotiation(client, startup).await?;
                    pgwire::api::auth::save_startup_parameters_to_metadata(client, startup);
                    client.set_state(PgWireConnectionState::AuthenticationInProgress);
                    let (pid, secret) = PIDS.generate(client);
                    client.set_pid_and_secret_key(pid, secret);
                    pgwire::api::auth::finish_authentication(client, params.as_ref()).await?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_passwords() {
        let a = PgAuth::password("alice", "hunter2");
        let s = format!("{a:?} {:?}", ScramSource::new(&a));
        assert!(s.contains("alice") && !s.contains("hunter2"), "{s}");
        assert!(a.is_required() && !PgAuth::none().is_required());
    }

    #[tokio::test]
    async fn unknown_users_get_a_verifier_that_matches_nothing() {
        let source = ScramSource::new(&PgAuth::password("alice", "pw"));
        let known = source
            .get_password(&LoginInfo::new(Some("alice"), None, "127.0.0.1".into()))
            .await
            .unwrap();
        let unknown = source
            .get_password(&LoginInfo::new(Some("mallory"), None, "127.0.0.1".into()))
            .await
            .unwrap();
        assert_eq!(
            known.password(),
            gen_salted_password("pw", known.salt().unwrap(), SCRAM_ITERATIONS)
        );
        assert_ne!(known.password(), unknown.password());
        assert_eq!(known.salt(), unknown.salt());
    }
}
