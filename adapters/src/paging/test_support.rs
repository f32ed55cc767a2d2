//! Shared pieces of the paging and status-page tests: a sleeper that
//! records the retry schedule instead of waiting, and a short retry policy.

use crate::retry::{RetryPolicy, Sleeper};
use async_trait::async_trait;
use std::sync::Mutex;
use std::time::Duration;

/// Records each requested delay and returns at once.
#[derive(Default)]
pub(crate) struct RecordingSleeper {
    delays: Mutex<Vec<Duration>>,
}

impl RecordingSleeper {
    pub(crate) fn delays(&self) -> Vec<Duration> {
        self.delays.lock().expect("sleeper lock").clone()
    }
}

#[async_trait]
impl Sleeper for RecordingSleeper {
    async fn sleep(&self, delay: Duration) {
        self.delays.lock().expect("sleeper lock").push(delay);
    }
}

/// Three attempts, backing off 100 ms then 200 ms.
pub(crate) fn test_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        first_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(30),
        max_retry_after: Duration::from_secs(60),
    }
}
