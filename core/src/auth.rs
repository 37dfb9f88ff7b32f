//! Who is asking. Bearer tokens (programs): random 256-bit, shown once, stored only as
//! SHA-256, compared in constant time. Passwords (people, the web pages): argon2id, stored as
//! PHC strings. Failed attempts of either are limited per client address, together.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sopflow_engine::case::Actor;
use sopflow_engine::case::chain::sha256_hex;
use sopflow_store::{Membership, Store};
use subtle::ConstantTimeEq;

/// Roles that are not SOP actors.
pub const ADMIN: &str = "admin";
pub const AUDITOR: &str = "auditor";
/// A display board: reads the queues and calls of its service points, nothing else.
pub const DISPLAY: &str = "display";
/// A head of section or of the office (kepala seksi, kepala dinas): the aggregate figures
/// of its service points (live load, reports, the satisfaction index), never a case's data.
pub const SUPERVISOR: &str = "supervisor";
/// The roles every deployment has, whatever its SOPs.
pub const BUILT_IN_ROLES: [&str; 4] = [ADMIN, AUDITOR, DISPLAY, SUPERVISOR];

/// Where a user made without memberships holds their role: admins and auditors at every
/// service point, others at the default one.
pub fn default_memberships(role: &str, default_point: &str) -> Vec<Membership> {
    let at = if role == ADMIN || role == AUDITOR {
        Membership::EVERYWHERE
    } else {
        default_point
    };
    vec![Membership {
        role: role.to_owned(),
        service_point: at.to_owned(),
    }]
}

/// A new token (64 hex characters = 256 bits) and the hash to store.
pub fn new_token() -> Result<(String, String), getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    let token = hex::encode(bytes);
    let hash = sha256_hex(token.as_bytes());
    Ok((token, hash))
}

/// A password's argon2id hash as a PHC string (salt from the OS, the crate's default cost:
/// 19 MiB, 2 passes), to store with the user.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    use argon2::password_hash::PasswordHasher as _;
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(PasswordError::TooShort);
    }
    argon2::Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` is the one `hash` (a PHC string) was made from. A malformed hash
/// matches nothing.
pub fn password_matches(password: &str, hash: &str) -> bool {
    use argon2::password_hash::PasswordVerifier as _;
    argon2::Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// Why a password was not hashed.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("a password needs at least {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    #[error("hashing failed: {0}")]
    Hash(String),
}

/// A random password for a user created by the system (the first admin): 20 characters of
/// an alphabet without look-alikes (~100 bits).
pub fn random_password() -> Result<String, getrandom::Error> {
    crate::codes::random_code(20)
}

/// Users recently authenticated, by token hash, so that a busy operator's requests do not
/// each read the users table. Only successful lookups are kept (a user added a moment ago is
/// found at once), each for [`KnownTokens::TTL`]: tokens are never changed in place, and a
/// removed user's token stops working within that time.
#[derive(Default)]
pub struct KnownTokens {
    users: Mutex<HashMap<String, (Instant, User)>>,
}

impl KnownTokens {
    pub const TTL: Duration = Duration::from_secs(10);
    /// Beyond this many tokens the map starts afresh (the cache, not the users, is bounded).
    const CAPACITY: usize = 10_000;

    fn get(&self, hash: &str) -> Option<User> {
        let users = self.users.lock().ok()?;
        users
            .get(hash)
            .filter(|(at, _)| at.elapsed() < Self::TTL)
            .map(|(_, user)| user.clone())
    }

    fn insert(&self, hash: String, user: User) {
        if let Ok(mut users) = self.users.lock() {
            if users.len() >= Self::CAPACITY {
                users.clear();
            }
            users.insert(hash, (Instant::now(), user));
        }
    }
}

/// Failed authentications per client address: a burst, then a steady rate; beyond it the
/// address is refused (429) for a while, valid token or not, so guessing tokens stays slow.
///
/// Keyed by the TCP peer address: behind a reverse proxy every client shares the proxy's
/// address, and the proxy should rate-limit itself.
pub struct AuthFailureLimiter {
    limiter: governor::RateLimiter<
        IpAddr,
        governor::state::keyed::HashMapStateStore<IpAddr>,
        governor::clock::DefaultClock,
    >,
    clock: governor::clock::DefaultClock,
    blocked: Mutex<HashMap<IpAddr, Instant>>,
}

/// Beyond this many blocked addresses, expired blocks are swept.
const BLOCKED_SWEEP_AT: usize = 10_000;

impl AuthFailureLimiter {
    /// `burst` failures at once, refilled at `per_minute`.
    pub fn new(burst: u32, per_minute: u32) -> Self {
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        let quota = governor::Quota::per_minute(per_minute).allow_burst(burst);
        let clock = governor::clock::DefaultClock::default();
        Self {
            limiter: governor::RateLimiter::new(
                quota,
                governor::state::keyed::HashMapStateStore::default(),
                clock.clone(),
            ),
            clock,
            blocked: Mutex::new(HashMap::new()),
        }
    }

    /// How long `ip` must still wait, if it is blocked.
    fn blocked_for(&self, ip: IpAddr) -> Option<Duration> {
        let blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        let until = *blocked.get(&ip)?;
        until.checked_duration_since(Instant::now())
    }

    /// Counts a failure; returns the wait when it used up the address's allowance.
    fn failed(&self, ip: IpAddr) -> Option<Duration> {
        use governor::clock::Clock as _;
        let wait = match self.limiter.check_key(&ip) {
            Ok(()) => return None,
            Err(not_until) => not_until
                .wait_time_from(self.clock.now())
                .max(Duration::from_secs(1)),
        };
        let mut blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if blocked.len() >= BLOCKED_SWEEP_AT {
            blocked.retain(|_, until| *until > now);
            self.limiter.retain_recent();
        }
        blocked.insert(ip, now + wait);
        Some(wait)
    }
}

/// The authenticated caller: their name, the role they were made with, and every role they
/// hold with where they hold it.
#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    /// The role the user was made with (`users.role`), the first of their roles.
    pub role: String,
    /// Never empty: a user stored without memberships holds `role` where
    /// [`default_memberships`] says.
    pub memberships: Vec<Membership>,
}

impl User {
    /// A user whose memberships are `stored`, or, when there are none, the defaults for
    /// `role` (see [`default_memberships`]).
    pub fn new(
        name: impl Into<String>,
        role: impl Into<String>,
        stored: Vec<Membership>,
        default_point: &str,
    ) -> Self {
        let role = role.into();
        let memberships = if stored.is_empty() {
            default_memberships(&role, default_point)
        } else {
            stored
        };
        Self {
            name: name.into(),
            role,
            memberships,
        }
    }

    /// The actor of the role the user was made with.
    pub fn actor(&self) -> Actor {
        Actor::new(self.name.clone(), self.role.clone())
    }

    /// The actor of one of the user's roles.
    pub fn actor_as(&self, role: &str) -> Actor {
        Actor::new(self.name.clone(), role.to_owned())
    }

    /// Whether the user holds `role` anywhere.
    pub fn is(&self, role: &str) -> bool {
        self.memberships.iter().any(|m| m.role == role)
    }

    /// Whether the user holds one of `roles` anywhere.
    pub fn has_any(&self, roles: &[&str]) -> bool {
        roles.iter().any(|r| self.is(r))
    }

    /// Whether the user holds `role` at `point`.
    pub fn holds(&self, role: &str, point: &str) -> bool {
        self.memberships.iter().any(|m| {
            m.role == role
                && (m.service_point == point || m.service_point == Membership::EVERYWHERE)
        })
    }

    /// The roles the user holds at `point`, in their order.
    pub fn roles_at<'u>(&'u self, point: &'u str) -> impl Iterator<Item = &'u str> + 'u {
        self.memberships
            .iter()
            .filter(move |m| m.service_point == point || m.service_point == Membership::EVERYWHERE)
            .map(|m| m.role.as_str())
    }

    /// Every role the user holds, once each, in their order.
    pub fn roles(&self) -> Vec<&str> {
        let mut roles: Vec<&str> = Vec::new();
        for m in &self.memberships {
            if !roles.contains(&m.role.as_str()) {
                roles.push(&m.role);
            }
        }
        roles
    }
}

/// Why a caller is not let in.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No credentials, or wrong ones.
    #[error("not authenticated")]
    Unauthenticated,
    /// Too many failures from this address: wait this long.
    #[error("too many failed authentications; try again in {} s", .0.as_secs().max(1))]
    RateLimited(Duration),
    #[error("user lookup failed: {0}")]
    Store(#[from] sopflow_store::Error),
}

/// Who is asking: bearer tokens checked against the store, remembered briefly; passwords;
/// failures of both limited per client address. Shared by every face.
pub struct Authenticator {
    limiter: AuthFailureLimiter,
    known: KnownTokens,
    /// A hash no password matches, checked for unknown users so that a wrong name takes as
    /// long as a wrong password.
    decoy: String,
    /// Where a user stored without memberships works (see [`default_memberships`]).
    default_point: String,
}

impl Authenticator {
    /// `burst` failed authentications at once per address, then `per_minute`.
    pub fn new(burst: u32, per_minute: u32) -> Self {
        Self {
            limiter: AuthFailureLimiter::new(burst, per_minute),
            known: KnownTokens::default(),
            decoy: hash_password("no password is this one").unwrap_or_default(),
            default_point: crate::offices::DEFAULT_POINT.to_owned(),
        }
    }

    /// The user `name` if `password` is theirs. Failures (unknown user, no password set,
    /// wrong password: one answer for all) count against `peer` like bad tokens; argon2 runs
    /// off the async threads.
    pub async fn password(
        &self,
        store: &Store,
        name: &str,
        password: &str,
        peer: Option<IpAddr>,
    ) -> Result<User, AuthError> {
        self.check(peer)?;
        let credentials = store.credentials(name.trim()).await?;
        let (hash, user) = match &credentials {
            Some(c) => (c.password_hash.clone(), Some(&c.user)),
            None => (None, None),
        };
        let known_hash = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.decoy.clone());
        let given = password.to_owned();
        let matches = tokio::task::spawn_blocking(move || password_matches(&given, &hash))
            .await
            .unwrap_or(false);
        match user {
            // A disabled user is refused like a wrong password (nothing tells them apart).
            Some(user) if matches && known_hash && user.disabled_at.is_none() => {
                let memberships = store.memberships(&user.name).await?;
                Ok(User::new(
                    user.name.clone(),
                    user.role.clone(),
                    memberships,
                    &self.default_point,
                ))
            }
            _ => {
                metrics::counter!("sopflow_auth_failures_total").increment(1);
                Err(self.refuse(peer))
            }
        }
    }

    /// Refuses an address that is blocked.
    pub fn check(&self, peer: Option<IpAddr>) -> Result<(), AuthError> {
        match peer.and_then(|ip| self.limiter.blocked_for(ip)) {
            Some(wait) => Err(AuthError::RateLimited(wait)),
            None => Ok(()),
        }
    }

    /// Counts a failure from `peer` (a wrong password, a guessed code): the error to answer.
    pub fn refuse(&self, peer: Option<IpAddr>) -> AuthError {
        match peer.and_then(|ip| self.limiter.failed(ip)) {
            Some(wait) => {
                metrics::counter!("sopflow_auth_rate_limited_total").increment(1);
                AuthError::RateLimited(wait)
            }
            None => AuthError::Unauthenticated,
        }
    }

    /// The deployment's default service point (see [`crate::offices::Offices::default_id`]).
    pub fn default_point(mut self, id: &str) -> Self {
        self.default_point = id.to_owned();
        self
    }

    /// The user whose bearer `token` this is. `peer` is the client address (none for
    /// in-process requests, which are not limited); a missing token is not a guess and does
    /// not count against the address.
    pub async fn bearer(
        &self,
        store: &Store,
        token: Option<&str>,
        peer: Option<IpAddr>,
    ) -> Result<User, AuthError> {
        self.check(peer)?;
        let refuse = || self.refuse(peer);
        let token = token
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::Unauthenticated)?;
        let hash = sha256_hex(token.as_bytes());
        if let Some(user) = self.known.get(&hash) {
            return Ok(user);
        }
        // Looked up by its hash: the lookup's timing depends on the hash, not on the token.
        let Some(user) = store.user_by_token_hash(&hash).await? else {
            metrics::counter!("sopflow_auth_failures_total").increment(1);
            return Err(refuse());
        };
        // Defence in depth: compare the hashes without an early exit.
        if !bool::from(user.token_hash.as_bytes().ct_eq(hash.as_bytes())) {
            return Err(refuse());
        }
        if user.disabled_at.is_some() {
            metrics::counter!("sopflow_auth_failures_total").increment(1);
            return Err(refuse());
        }
        let memberships = store.memberships(&user.name).await?;
        let user = User::new(user.name, user.role, memberships, &self.default_point);
        self.known.insert(hash, user.clone());
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ani() -> User {
        User::new("ani", "petugas_antrian", Vec::new(), "kantor")
    }

    #[test]
    fn a_user_holds_roles_where_their_memberships_say() {
        let m = |role: &str, at: &str| Membership {
            role: role.into(),
            service_point: at.into(),
        };
        let ani = ani();
        assert!(ani.holds("petugas_antrian", "kantor"));
        assert!(
            !ani.holds("petugas_antrian", "mpp"),
            "at the default point only"
        );
        let auditor = User::new("ina", AUDITOR, Vec::new(), "kantor");
        assert!(
            auditor.holds(AUDITOR, "mpp"),
            "auditors everywhere by default"
        );
        let budi = User::new(
            "budi",
            "petugas_antrian",
            vec![
                m("petugas_antrian", "kec_a"),
                m("operator_cetak", "kec_a"),
                m("adb", "*"),
            ],
            "kantor",
        );
        assert!(!budi.holds("petugas_antrian", "kantor"));
        assert_eq!(
            budi.roles_at("kec_a").collect::<Vec<_>>(),
            ["petugas_antrian", "operator_cetak", "adb"]
        );
        assert_eq!(budi.roles_at("mpp").collect::<Vec<_>>(), ["adb"]);
        assert!(budi.is("operator_cetak") && budi.has_any(&["x", "adb"]) && !budi.is(ADMIN));
    }

    #[test]
    fn known_tokens_answer_for_the_hash_they_were_given() {
        let known = KnownTokens::default();
        assert!(known.get("h1").is_none());
        known.insert("h1".into(), ani());
        let found = known.get("h1").map(|u| (u.name, u.role));
        assert_eq!(found, Some(("ani".into(), "petugas_antrian".into())));
        assert!(known.get("h2").is_none());
    }

    #[test]
    fn passwords_hash_to_argon2id_and_match_only_themselves() {
        let hash = hash_password("kata sandi rahasia").expect("hashed");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(password_matches("kata sandi rahasia", &hash));
        assert!(!password_matches("kata sandi rahasiA", &hash));
        assert!(!password_matches("kata sandi rahasia", "not a hash"));
        // Salted: the same password hashes differently each time.
        assert_ne!(hash, hash_password("kata sandi rahasia").expect("hashed"));
        assert!(matches!(
            hash_password("pendek"),
            Err(PasswordError::TooShort)
        ));
    }

    #[test]
    fn known_tokens_stay_bounded() {
        let known = KnownTokens::default();
        for i in 0..=KnownTokens::CAPACITY {
            known.insert(format!("h{i}"), ani());
        }
        let held = known.users.lock().map(|u| u.len()).unwrap_or(usize::MAX);
        assert!(held <= KnownTokens::CAPACITY, "{held} tokens held");
        assert!(known.get(&format!("h{}", KnownTokens::CAPACITY)).is_some());
    }
}
