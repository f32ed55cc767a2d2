//! Keeps Web API calls inside Slack's published rate limits, so a burst of
//! work (an alert storm declaring hundreds of incidents) is spread out by
//! the bot instead of being answered with 429s.
//!
//! Slack limits each method per app per workspace by tier (Tier 2 "20+ per
//! minute", Tier 3 "50+", Tier 4 "100+") and `chat.postMessage` to about
//! one message per second per channel
//! (<https://api.slack.com/apis/rate-limits>). Each call reserves the next
//! free slot of its key (the method, or method and channel for posts)
//! spaced one interval after the previous one; the caller waits for its
//! slot. A 429 from Slack pushes the key's next slot past its
//! `Retry-After`, so the calls queued behind it wait too rather than
//! collecting 429s of their own.
//!
//! Slots are spaced evenly with no burst credit: Slack counts per minute,
//! and a credit spent at the end of one minute and again at the start of
//! the next would break the limit inside a sliding minute. The intervals
//! carry a margin for requests that arrive closer together than they left.
//!
//! This is per process: replicas sharing one workspace each pace
//! themselves.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Spacing on top of the nominal interval, for network jitter.
const MARGIN: f64 = 1.1;

/// Past this many keys, those whose slot is in the past are forgotten.
const PRUNE_AT: usize = 4096;

/// Calls per minute Slack publishes for a method (its tier's floor), per
/// workspace, or per channel where [`per_channel`] says so.
pub fn published_per_minute(method: &str) -> f64 {
    match method {
        // Tier 1
        "apps.connections.open" => 1.0,
        // Tier 2
        "conversations.create"
        | "conversations.rename"
        | "conversations.setTopic"
        | "conversations.setPurpose"
        | "pins.add"
        | "bookmarks.add" => 20.0,
        // Special: about one per second per channel.
        "chat.postMessage" => 60.0,
        // Tier 4
        "users.info" | "auth.test" | "views.open" | "views.update" | "chat.postEphemeral" => 100.0,
        // Tier 3 is the common case (`chat.update`, `conversations.invite`,
        // `conversations.info`, `reactions.add`, …).
        _ => 50.0,
    }
}

/// Methods limited per channel rather than per workspace.
pub fn per_channel(method: &str) -> bool {
    method == "chat.postMessage"
}

/// The pace for `method`, or `None` for one not paced here:
/// `apps.connections.open` is how Socket Mode reconnects, and after a drop
/// the bot must be back at once; the socket has its own backoff.
fn per_minute(method: &str) -> Option<f64> {
    (method != "apps.connections.open").then(|| published_per_minute(method))
}

#[derive(Debug)]
pub struct Pacer {
    /// How many times faster than Slack's real limits to pace: 1 for
    /// Slack itself; more only against a fake Web API with limits sped up
    /// by the same factor (the storm benchmark, the test suite).
    speed: f64,
    next_free: Mutex<HashMap<String, Instant>>,
}

impl Pacer {
    pub fn new(speed: f64) -> Self {
        let speed = if speed.is_finite() && speed > 0.0 {
            speed
        } else {
            1.0
        };
        Self {
            speed,
            next_free: Mutex::new(HashMap::new()),
        }
    }

    /// The spacing between two calls of `method` on one key.
    pub fn interval(&self, method: &str) -> Duration {
        per_minute(method).map_or(Duration::ZERO, |limit| {
            Duration::from_secs_f64(60.0 / limit * MARGIN / self.speed)
        })
    }

    /// Reserves the next slot for `method` (on `channel`, for per-channel
    /// methods) and says how long after `now` it is.
    pub fn reserve(&self, method: &str, channel: Option<&str>, now: Instant) -> Duration {
        let key = key(method, channel);
        let interval = self.interval(method);
        let mut slots = self.slots();
        if slots.len() >= PRUNE_AT {
            slots.retain(|_, free| *free > now);
        }
        let slot = slots.get(&key).copied().map_or(now, |free| free.max(now));
        slots.insert(key, slot + interval);
        slot - now
    }

    /// Slack said 429: nothing more on this key until `retry_after` from
    /// `now`.
    pub fn pause(&self, method: &str, channel: Option<&str>, now: Instant, retry_after: Duration) {
        if per_minute(method).is_none() {
            return;
        }
        let resume = now + retry_after;
        let mut slots = self.slots();
        let free = slots.entry(key(method, channel)).or_insert(resume);
        *free = (*free).max(resume);
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        // A panic while holding the lock leaves a valid map behind.
        self.next_free
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn key(method: &str, channel: Option<&str>) -> String {
    match channel {
        Some(channel) if per_channel(method) => format!("{method} {channel}"),
        _ => method.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(value: f64) -> Duration {
        Duration::from_secs_f64(value)
    }

    #[test]
    fn the_first_call_goes_at_once_and_the_next_ones_are_spaced_by_the_tier() {
        let pacer = Pacer::new(1.0);
        let now = Instant::now();
        let waits: Vec<Duration> = (0..3)
            .map(|_| pacer.reserve("conversations.create", None, now))
            .collect();
        // Tier 2: 20 a minute is one per 3 s, plus the margin.
        let interval = pacer.interval("conversations.create");
        assert_eq!(interval, Duration::from_millis(3300));
        assert_eq!(waits, vec![Duration::ZERO, interval, interval * 2]);
    }

    #[test]
    fn posts_are_paced_per_channel_and_other_methods_per_workspace() {
        let pacer = Pacer::new(1.0);
        let now = Instant::now();
        assert_eq!(
            pacer.reserve("chat.postMessage", Some("C1"), now),
            Duration::ZERO
        );
        assert_eq!(
            pacer.reserve("chat.postMessage", Some("C2"), now),
            Duration::ZERO
        );
        assert_eq!(
            pacer.reserve("chat.postMessage", Some("C1"), now),
            Duration::from_millis(1100)
        );
        assert_eq!(
            pacer.reserve("chat.update", Some("C1"), now),
            Duration::ZERO
        );
        assert_eq!(
            pacer.reserve("chat.update", Some("C2"), now),
            Duration::from_millis(1320)
        );
    }

    #[test]
    fn time_that_passed_counts_and_is_not_saved_up() {
        let pacer = Pacer::new(1.0);
        let start = Instant::now();
        assert_eq!(pacer.reserve("pins.add", None, start), Duration::ZERO);
        // Long after: free at once, and an idle stretch gives no burst.
        let later = start + secs(60.0);
        assert_eq!(pacer.reserve("pins.add", None, later), Duration::ZERO);
        assert_eq!(
            pacer.reserve("pins.add", None, later),
            pacer.interval("pins.add")
        );
    }

    #[test]
    fn a_429_holds_back_every_call_queued_on_the_key() {
        let pacer = Pacer::new(1.0);
        let now = Instant::now();
        pacer.reserve("conversations.invite", None, now);
        pacer.pause("conversations.invite", None, now, secs(30.0));
        assert_eq!(pacer.reserve("conversations.invite", None, now), secs(30.0));
        // A pause shorter than the queue already waiting changes nothing.
        pacer.pause("conversations.invite", None, now, secs(1.0));
        assert_eq!(
            pacer.reserve("conversations.invite", None, now),
            secs(30.0) + pacer.interval("conversations.invite")
        );
    }

    #[test]
    fn speed_scales_every_interval_and_nonsense_speeds_mean_real_slack() {
        assert_eq!(
            Pacer::new(10.0).interval("conversations.create"),
            Duration::from_millis(330)
        );
        for speed in [0.0, -3.0, f64::NAN, f64::INFINITY] {
            assert_eq!(
                Pacer::new(speed).interval("conversations.create"),
                Duration::from_millis(3300)
            );
        }
    }

    #[test]
    fn socket_mode_reconnects_are_left_to_the_socket_backoff() {
        let pacer = Pacer::new(1.0);
        let now = Instant::now();
        pacer.pause("apps.connections.open", None, now, Duration::from_secs(120));
        for _ in 0..3 {
            assert_eq!(
                pacer.reserve("apps.connections.open", None, now),
                Duration::ZERO
            );
        }
    }

    #[test]
    fn many_channels_do_not_grow_the_table_without_bound() {
        let pacer = Pacer::new(1.0);
        let start = Instant::now();
        for n in 0..PRUNE_AT * 2 {
            let now = start + secs(n as f64 * 2.0);
            pacer.reserve("chat.postMessage", Some(&format!("C{n}")), now);
        }
        assert!(pacer.slots().len() <= PRUNE_AT);
    }
}
