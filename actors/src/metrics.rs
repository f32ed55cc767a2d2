//! Counters the engine keeps for `/metrics`. Plain atomics: the binary
//! renders them in Prometheus text format, so no metrics crate is needed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the command latency histogram buckets.
pub const LATENCY_BUCKETS: [f64; 10] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Debug, Default)]
pub struct EngineMetrics {
    pub events_appended: AtomicU64,
    pub commands_accepted: AtomicU64,
    pub commands_rejected: AtomicU64,
    pub inbox_processed: AtomicU64,
    pub inbox_failures: AtomicU64,
    pub effect_failures: AtomicU64,
    pub actor_restarts: AtomicU64,
    pub live_incidents: AtomicU64,
    /// Alerts that arrived, however they were filed.
    pub alerts_received: AtomicU64,
    /// Alerts that joined an incident already open (their group's, or a
    /// storm's first).
    pub alerts_grouped: AtomicU64,
    /// Alerts recorded without an incident: too mild to open one.
    pub alerts_recorded: AtomicU64,
    pub incidents_opened_by_alerts: AtomicU64,
    latency: Histogram,
}

impl EngineMetrics {
    pub fn observe_command(&self, elapsed: Duration) {
        self.latency.observe(elapsed);
    }

    pub fn command_latency(&self) -> HistogramSnapshot {
        self.latency.snapshot()
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn read(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

#[derive(Debug, Default)]
struct Histogram {
    /// Non-cumulative counts per bucket; the last is +Inf.
    buckets: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

/// Cumulative bucket counts, as Prometheus wants them.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    pub cumulative: Vec<(f64, u64)>,
    pub count: u64,
    pub sum_seconds: f64,
}

impl Histogram {
    fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let index = LATENCY_BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.buckets[index].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(
            elapsed.as_micros().min(u128::from(u64::MAX)) as u64,
            Ordering::Relaxed,
        );
    }

    fn snapshot(&self) -> HistogramSnapshot {
        let mut running = 0;
        let mut cumulative = Vec::with_capacity(LATENCY_BUCKETS.len() + 1);
        for (index, bucket) in self.buckets.iter().enumerate() {
            running += bucket.load(Ordering::Relaxed);
            let bound = LATENCY_BUCKETS.get(index).copied().unwrap_or(f64::INFINITY);
            cumulative.push((bound, running));
        }
        HistogramSnapshot {
            cumulative,
            count: self.count.load(Ordering::Relaxed),
            sum_seconds: self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let metrics = EngineMetrics::default();
        metrics.observe_command(Duration::from_micros(500));
        metrics.observe_command(Duration::from_millis(20));
        metrics.observe_command(Duration::from_secs(10));
        let snapshot = metrics.command_latency();
        assert_eq!(snapshot.count, 3);
        assert_eq!(snapshot.cumulative.first(), Some(&(0.001, 1)));
        assert_eq!(snapshot.cumulative[4], (0.025, 2));
        assert_eq!(snapshot.cumulative.last(), Some(&(f64::INFINITY, 3)));
        assert!((snapshot.sum_seconds - 10.0205).abs() < 1e-6);
    }
}
