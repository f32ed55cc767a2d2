//! Time as a dependency. The engine asks [`Clock::now`] instead of the
//! system clock, and timers sleep through [`Clock::sleep_until`], so tests
//! drive hours of reminders with a [`ManualClock`] and never really wait.

use chrono::{DateTime, Utc};
use std::future::Future;
use std::pin::Pin;
use tokio::sync::watch;

pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// Resolves once `now()` has reached `at`.
    fn sleep_until(&self, at: DateTime<Utc>) -> Sleep;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep_until(&self, at: DateTime<Utc>) -> Sleep {
        let wait = (at - Utc::now()).to_std().unwrap_or_default();
        Box::pin(tokio::time::sleep(wait))
    }
}

/// A clock that moves only when told to. Cheap to clone; clones share the
/// time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: std::sync::Arc<watch::Sender<DateTime<Utc>>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: std::sync::Arc::new(watch::Sender::new(start)),
        }
    }

    /// Moves time forward, waking every sleeper whose time has come.
    pub fn advance(&self, by: chrono::Duration) {
        self.now.send_modify(|now| *now += by);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.borrow()
    }

    fn sleep_until(&self, at: DateTime<Utc>) -> Sleep {
        let mut now = self.now.subscribe();
        Box::pin(async move {
            // An error means the clock is gone: nothing will ever wake us,
            // so park forever rather than fire early.
            if now.wait_for(|now| *now >= at).await.is_err() {
                std::future::pending::<()>().await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[tokio::test]
    async fn a_manual_sleeper_wakes_only_when_time_is_advanced_past_its_deadline() {
        let start = Utc
            .with_ymd_and_hms(2026, 11, 24, 9, 0, 0)
            .single()
            .expect("valid time");
        let clock = ManualClock::new(start);
        let woke = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sleeper = clock.sleep_until(start + chrono::Duration::minutes(5));
        let flag = woke.clone();
        let task = tokio::spawn(async move {
            sleeper.await;
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        clock.advance(chrono::Duration::minutes(4));
        tokio::task::yield_now().await;
        assert!(!woke.load(std::sync::atomic::Ordering::SeqCst));
        clock.advance(chrono::Duration::minutes(1));
        task.await.expect("sleeper finishes");
        assert!(woke.load(std::sync::atomic::Ordering::SeqCst));
        assert_eq!(clock.now(), start + chrono::Duration::minutes(5));
    }
}
