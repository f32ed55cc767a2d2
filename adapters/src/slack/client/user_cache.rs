//! A small in-memory cache of `users.info` answers.
//!
//! The engine names people in every message it renders; asking Slack each
//! time would spend the method's Tier 4 budget on names that rarely change.
//! An entry lives for a fixed time-to-live, so a renamed user shows up
//! under the new name within the hour. The current instant is passed in,
//! which keeps expiry testable without waiting.

use super::methods::UserInfo;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Entries kept at most. A workspace's active responders fit many times
/// over; the bound only stops a flood of distinct ids growing it forever.
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug)]
pub(super) struct UserCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, CachedUser>>,
}

#[derive(Debug)]
struct CachedUser {
    fetched_at: Instant,
    info: UserInfo,
}

impl UserCache {
    pub(super) fn new(ttl: Duration) -> Self {
        UserCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub(super) fn get(&self, user: &str, now: Instant) -> Option<UserInfo> {
        let entries = self.lock();
        let cached = entries.get(user)?;
        self.is_fresh(cached, now).then(|| cached.info.clone())
    }

    pub(super) fn insert(&self, info: UserInfo, now: Instant) {
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, cached| self.is_fresh(cached, now));
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            info.id.clone(),
            CachedUser {
                fetched_at: now,
                info,
            },
        );
    }

    fn is_fresh(&self, cached: &CachedUser, now: Instant) -> bool {
        now.saturating_duration_since(cached.fetched_at) < self.ttl
    }

    /// A panic while the lock was held cannot leave a half-written entry
    /// (each insert is one `HashMap` call), so a poisoned map is still good.
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, CachedUser>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ana() -> UserInfo {
        UserInfo {
            id: "U1".to_owned(),
            name: "ana".to_owned(),
            real_name: Some("Ana Lima".to_owned()),
            display_name: None,
        }
    }

    #[test]
    fn an_entry_is_served_until_its_ttl_runs_out() {
        let cache = UserCache::new(Duration::from_secs(3600));
        let fetched = Instant::now();
        cache.insert(ana(), fetched);

        assert_eq!(
            cache.get("U1", fetched + Duration::from_secs(3599)),
            Some(ana())
        );
        assert_eq!(cache.get("U1", fetched + Duration::from_secs(3600)), None);
    }

    #[test]
    fn an_unknown_user_is_a_miss() {
        let cache = UserCache::new(Duration::from_secs(3600));
        assert_eq!(cache.get("U404", Instant::now()), None);
    }
}
