//! Benchmarks run by `firebreak bench …`. They print numbers and assert
//! nothing: performance is measured, not asserted, and a slow machine
//! should give a slow number, not a failure.
//!
//! `timers` measures the [`TimerWheel`] on the real [`SystemClock`]: what
//! it costs to schedule N timers (wall time and resident memory), and how
//! late they fire. A small [`LatenessCollector`] stands where the
//! supervisor would and records, for each [`TimerFired`], how long after
//! its due time it arrived. So lateness includes the wheel's sleep, its
//! `fire_due` pass and the supervisor's mailbox, which is what an incident
//! would see.

use actix::{Actor, Context, Handler, Message};
use chrono::{DateTime, Utc};
use firebreak_actors::clock::SystemClock;
use firebreak_actors::engine::{
    AttachSupervisor, PendingCount, Reschedule, TimerFired, TimerWheel,
};
use firebreak_actors::incident::IncidentId;
use firebreak_actors::store::PendingTimer;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// How far ahead of "now" the earliest timer is due, so that scheduling
/// normally finishes before anything fires.
pub const LEAD_TIME: Duration = Duration::from_millis(500);

/// How long to keep waiting for the last timer after its latest possible
/// due time before giving up and reporting what fired.
pub const GRACE: Duration = Duration::from_secs(30);

/// Reminder names carry their due time so the collector needs no lookup.
const REMINDER_PREFIX: &str = "bench:";

#[derive(Debug, Clone, Copy)]
pub struct TimerBenchOptions {
    /// How many incidents get one timer each.
    pub count: u64,
    /// Due times are spread uniformly over `now + LEAD_TIME ..= now +
    /// LEAD_TIME + spread`.
    pub spread: Duration,
}

/// The measured numbers; `Display` prints them as `name value unit` lines.
#[derive(Debug, Clone)]
pub struct TimerReport {
    pub scheduled: u64,
    /// What the wheel said was pending right after scheduling. Less than
    /// `scheduled` only if scheduling outlasted [`LEAD_TIME`].
    pub pending: usize,
    pub schedule_time: Duration,
    /// Growth of the resident set across scheduling, in bytes (signed: the
    /// allocator may hand memory back).
    pub memory_growth: i64,
    /// Lateness of every fired timer in nanoseconds, sorted.
    pub lateness_nanos: Vec<i64>,
}

impl TimerReport {
    pub fn fired(&self) -> u64 {
        self.lateness_nanos.len() as u64
    }

    /// Whether every scheduled timer fired before the timeout.
    pub fn is_complete(&self) -> bool {
        self.fired() == self.scheduled
    }
}

impl fmt::Display for TimerReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MIB: f64 = 1024.0 * 1024.0;
        let per_timer = self.memory_growth / i64::try_from(self.scheduled.max(1)).unwrap_or(1);
        let lateness = |percent: f64| match percentile(&self.lateness_nanos, percent) {
            Some(nanos) => format!("{:.2}", nanos as f64 / 1e6),
            None => "n/a".to_owned(),
        };
        writeln!(f, "timers_pending {} timers", self.pending)?;
        writeln!(
            f,
            "timers_schedule_time {:.1} ms",
            self.schedule_time.as_secs_f64() * 1e3
        )?;
        writeln!(
            f,
            "timers_memory {:.1} MiB",
            self.memory_growth as f64 / MIB
        )?;
        writeln!(f, "timers_memory_per_timer {per_timer} bytes")?;
        writeln!(f, "timers_lateness_p50 {} ms", lateness(50.0))?;
        writeln!(f, "timers_lateness_p99 {} ms", lateness(99.0))?;
        writeln!(f, "timers_lateness_max {} ms", lateness(100.0))?;
        write!(f, "timers_fired {} timers", self.fired())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("actor mailbox error: {0}")]
    Mailbox(#[from] actix::MailboxError),
    #[error("could not read /proc/self/status for the resident set size")]
    ReadStatus(#[source] std::io::Error),
    #[error("/proc/self/status has no readable VmRSS line")]
    NoRss,
    #[error("{0} timers is more than incident ids can number")]
    TooMany(u64),
    #[error("a due time is outside the range chrono can express in nanoseconds")]
    TimeOutOfRange,
}

/// Schedules `options.count` timers on a fresh wheel, waits for them all
/// to fire (or for the timeout), and returns the numbers. Must run inside
/// an actix `System`.
pub async fn run_timers(options: TimerBenchOptions) -> Result<TimerReport, BenchError> {
    let count = usize::try_from(options.count).map_err(|_| BenchError::TooMany(options.count))?;
    let last_id = i64::try_from(options.count).map_err(|_| BenchError::TooMany(options.count))?;
    let spread_nanos = u64::try_from(options.spread.as_nanos()).unwrap_or(u64::MAX);
    let lead_nanos = i64::try_from(LEAD_TIME.as_nanos()).unwrap_or(i64::MAX);

    // Everything the driver needs is allocated and touched before the
    // first RSS reading, so the growth is the wheel's (plus the transient
    // messages the allocator keeps for reuse).
    let mut random = SplitMix64(0x5eed_f12e_b2ea_c0de);
    let offsets: Vec<i64> = (0..count)
        .map(|_| {
            let jitter = random.next() % spread_nanos.saturating_add(1);
            lead_nanos.saturating_add(i64::try_from(jitter).unwrap_or(i64::MAX))
        })
        .collect();
    let (done_sender, done) = oneshot::channel();
    let collector = LatenessCollector {
        expected: count,
        lateness_nanos: Vec::with_capacity(count),
        done: Some(done_sender),
    }
    .start();
    let wheel = TimerWheel::new(Arc::new(SystemClock)).start();
    wheel
        .send(AttachSupervisor(collector.clone().recipient()))
        .await?;
    let rss_before = resident_set_bytes()?;

    let start = Utc::now();
    let start_nanos = start
        .timestamp_nanos_opt()
        .ok_or(BenchError::TimeOutOfRange)?;
    let started = Instant::now();
    for (id, offset) in (1..=last_id).zip(&offsets) {
        let due_nanos = start_nanos
            .checked_add(*offset)
            .ok_or(BenchError::TimeOutOfRange)?;
        // `send().await`, not `do_send` (which the engine uses): one message
        // in flight at a time keeps the mailbox from holding N messages at
        // once, which would show up as the wheel's memory. The time thus
        // includes one round trip per incident.
        wheel
            .send(Reschedule {
                incident: IncidentId(id),
                timers: vec![PendingTimer {
                    reminder: format!("{REMINDER_PREFIX}{due_nanos}"),
                    due_at: DateTime::from_timestamp_nanos(due_nanos),
                }],
            })
            .await?;
    }
    let schedule_time = started.elapsed();
    let rss_after = resident_set_bytes()?;
    let pending = wheel.send(PendingCount).await?;

    let deadline = LEAD_TIME + options.spread + GRACE;
    let remaining = deadline.saturating_sub(started.elapsed());
    // On timeout (or if the collector died) report what fired so far.
    let _ = tokio::time::timeout(remaining, done).await;
    let mut lateness_nanos = collector.send(TakeLateness).await?;
    lateness_nanos.sort_unstable();

    Ok(TimerReport {
        scheduled: options.count,
        pending,
        schedule_time,
        memory_growth: growth(rss_before, rss_after),
        lateness_nanos,
    })
}

/// The value at `percent` (0–100) of an ascending slice, by nearest rank:
/// the smallest value with at least `percent`% of the values at or below
/// it. 100 gives the maximum; `None` for an empty slice.
pub fn percentile<T: Copy>(sorted: &[T], percent: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (percent.clamp(0.0, 100.0) / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// Answer times, kept as counts in buckets 1 % wide: a few KiB however
/// long the run, so a load test's memory is the server's, not a list of
/// samples growing by one per request.
#[derive(Debug, Clone, Default)]
pub struct Latencies {
    counts: Vec<u64>,
    total: u64,
    max: Duration,
}

impl Latencies {
    /// Each bucket is this much wider than the one before, from 1 µs.
    const GROWTH: f64 = 1.01;

    fn bucket(latency: Duration) -> usize {
        let micros = latency.as_secs_f64() * 1e6;
        if micros <= 1.0 {
            return 0;
        }
        (micros.ln() / Self::GROWTH.ln()).ceil() as usize
    }

    pub fn record(&mut self, latency: Duration) {
        let bucket = Self::bucket(latency);
        if self.counts.len() <= bucket {
            self.counts.resize(bucket + 1, 0);
        }
        self.counts[bucket] += 1;
        self.total += 1;
        self.max = self.max.max(latency);
    }

    pub fn len(&self) -> usize {
        self.total as usize
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The latency at `percent` (0–100), to within 1 %: the upper edge of
    /// its bucket, never above the largest seen; `None` when empty.
    pub fn percentile(&self, percent: f64) -> Option<Duration> {
        if self.total == 0 {
            return None;
        }
        let rank = ((percent.clamp(0.0, 100.0) / 100.0 * self.total as f64).ceil() as u64)
            .clamp(1, self.total);
        let mut seen = 0;
        for (bucket, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                let edge = Duration::from_secs_f64(Self::GROWTH.powi(bucket as i32) / 1e6);
                return Some(edge.min(self.max));
            }
        }
        Some(self.max)
    }
}

impl FromIterator<Duration> for Latencies {
    fn from_iter<I: IntoIterator<Item = Duration>>(latencies: I) -> Self {
        let mut all = Latencies::default();
        for latency in latencies {
            all.record(latency);
        }
        all
    }
}

/// The latency at `percent`, in milliseconds with two decimals, or `n/a`
/// when there are none: how every table prints a latency.
pub fn millis(latencies: &Latencies, percent: f64) -> String {
    latencies
        .percentile(percent)
        .map(|latency| format!("{:.2}", latency.as_secs_f64() * 1e3))
        .unwrap_or_else(|| "n/a".into())
}

/// How much the resident set grew from `before` to `after`, in bytes;
/// negative when the allocator handed memory back.
pub fn growth(before: u64, after: u64) -> i64 {
    i64::try_from(after)
        .unwrap_or(i64::MAX)
        .saturating_sub(i64::try_from(before).unwrap_or(i64::MAX))
}

/// Waits until each of `ids` has its conversation and returns their ids
/// in the same order; an incident still without one after ten minutes is
/// an error.
pub async fn wait_for_conversations(
    store: &firebreak_actors::store::Store,
    ids: &[i64],
) -> anyhow::Result<Vec<String>> {
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut found = Vec::with_capacity(ids.len());
    for id in ids {
        loop {
            let record = store
                .get_incident(firebreak_actors::incident::IncidentId(*id))
                .await?;
            if let Some(conversation) = record.and_then(|record| record.conversation_id) {
                found.push(conversation);
                break;
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "incident {id} never got its conversation"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    Ok(found)
}

/// The database a benchmark runs on: `DATABASE_URL` when given, else a
/// temporary SQLite file that is removed when this is dropped.
pub struct BenchDatabase {
    pub url: String,
    temp: Option<std::path::PathBuf>,
}

impl BenchDatabase {
    pub fn new(name: &str, given: Option<String>) -> Self {
        match given {
            Some(url) => Self { url, temp: None },
            None => {
                let path = std::env::temp_dir()
                    .join(format!("firebreak-bench-{name}-{}.db", std::process::id()));
                Self {
                    url: format!("sqlite://{}?mode=rwc", path.display()),
                    temp: Some(path),
                }
            }
        }
    }

    /// `sqlite` or `postgres`, for the report.
    pub fn kind(&self) -> String {
        self.url.split(':').next().unwrap_or("sqlite").to_owned()
    }
}

impl Drop for BenchDatabase {
    fn drop(&mut self) {
        if let Some(path) = &self.temp {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
    }
}

/// Starts the bare handler every HTTP scenario is compared with: actix-web
/// answering 200 to anything, doing nothing else. It also answers the bot's one
/// start-up Web API call (`auth.test`), so a bot pointed at it for Slack
/// makes no other call. Must run inside an actix system.
pub fn start_bare_handler() -> std::io::Result<std::net::SocketAddr> {
    use actix_web::{web, App, HttpResponse, HttpServer};
    let server = HttpServer::new(|| {
        App::new()
            .route(
                "/api/auth.test",
                web::post().to(|| async {
                    HttpResponse::Ok().json(serde_json::json!({
                        "ok": true, "user_id": "UBENCH", "team_id": "T0BENCH", "bot_id": "BBENCH"
                    }))
                }),
            )
            // It reads the body it is sent: one left unread makes actix
            // close the connection, and the comparison would be with a
            // handler that reconnects for every request.
            .default_service(web::to(|_body: web::Bytes| async {
                HttpResponse::Ok().finish()
            }))
    })
    .bind(("127.0.0.1", 0))?;
    let address = server
        .addrs()
        .first()
        .copied()
        .ok_or_else(|| std::io::Error::other("the bare handler has no address"))?;
    actix::spawn(server.run());
    Ok(address)
}

/// Declares `count` incidents on `platform` through the supervisor, 32 at
/// a time, and returns their ids.
pub async fn declare_many(
    supervisor: &actix::Addr<firebreak_actors::engine::Supervisor>,
    count: usize,
    platform: firebreak_adapters::Platform,
) -> anyhow::Result<Vec<i64>> {
    use firebreak_actors::engine::{Declare, DeclareRequest};
    use futures_util::stream::{self, StreamExt};
    let declared: Vec<anyhow::Result<i64>> = stream::iter(0..count)
        .map(|n| {
            let supervisor = supervisor.clone();
            async move {
                let request = DeclareRequest {
                    title: format!("Bench incident {n}"),
                    severity: None,
                    summary: None,
                    impact: None,
                    reporter: firebreak_adapters::UserRef::new(platform, "bench"),
                    lead: None,
                    platform,
                    private: false,
                    report: None,
                    labels: Default::default(),
                    announce: None,
                };
                let incident = supervisor
                    .send(Declare {
                        request,
                        origin: None,
                    })
                    .await??
                    .ok_or_else(|| anyhow::anyhow!("declaration not stored"))?;
                Ok(incident.id().0)
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    declared.into_iter().collect()
}

/// An open-loop load: request `n` of `count` is started at `n / rate`
/// seconds, whether or not earlier ones have been answered, as real
/// senders do. `send(n)` says whether request `n` succeeded. Returns the
/// times of those that did, and how many did not.
pub async fn open_loop<F, Fut>(count: usize, rate: f64, send: F) -> (Latencies, usize)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let spacing = Duration::from_secs_f64(1.0 / rate.max(1e-3));
    let started = tokio::time::Instant::now();
    // Results come back over a channel and the tasks are detached: a task
    // kept for joining keeps its whole future's memory until joined, and
    // in a long run that would be the generator's memory growing, not
    // the server's.
    let (results, mut answers) = tokio::sync::mpsc::unbounded_channel();
    for n in 0..count {
        tokio::time::sleep_until(started + spacing.mul_f64(n as f64)).await;
        let request = send(n);
        let results = results.clone();
        tokio::spawn(async move {
            let sent = Instant::now();
            let _ = results.send(request.await.then(|| sent.elapsed()));
        });
    }
    drop(results);
    let mut latencies = Latencies::default();
    while let Some(answer) = answers.recv().await {
        if let Some(latency) = answer {
            latencies.record(latency);
        }
    }
    // A task that panicked sent nothing: it failed too.
    let failed = count - latencies.len();
    (latencies, failed)
}

/// This process's resident set size, from `VmRSS` in `/proc/self/status`
/// (Linux only).
pub fn resident_set_bytes() -> Result<u64, BenchError> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(BenchError::ReadStatus)?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|kib| kib.trim().parse::<u64>().ok())
        .map(|kib| kib * 1024)
        .ok_or(BenchError::NoRss)
}

/// Stands in for the supervisor: notes how late each timer arrived and
/// says when the expected number have.
struct LatenessCollector {
    expected: usize,
    lateness_nanos: Vec<i64>,
    done: Option<oneshot::Sender<()>>,
}

impl Actor for LatenessCollector {
    type Context = Context<Self>;
}

impl Handler<TimerFired> for LatenessCollector {
    type Result = ();

    fn handle(&mut self, message: TimerFired, _ctx: &mut Self::Context) {
        let Some(now) = Utc::now().timestamp_nanos_opt() else {
            return;
        };
        let due = message
            .reminder
            .strip_prefix(REMINDER_PREFIX)
            .and_then(|nanos| nanos.parse::<i64>().ok());
        // Only the benchmark's own timers reach this wheel.
        if let Some(due) = due {
            self.lateness_nanos.push(now.saturating_sub(due));
        }
        if self.lateness_nanos.len() >= self.expected {
            if let Some(done) = self.done.take() {
                let _ = done.send(());
            }
        }
    }
}

/// Hands over the lateness recorded so far (unsorted).
#[derive(Message)]
#[rtype(result = "Vec<i64>")]
struct TakeLateness;

impl Handler<TakeLateness> for LatenessCollector {
    type Result = Vec<i64>;

    fn handle(&mut self, _message: TakeLateness, _ctx: &mut Self::Context) -> Vec<i64> {
        std::mem::take(&mut self.lateness_nanos)
    }
}

/// A tiny deterministic generator (Steele, Lea and Flood's SplitMix64),
/// so due times are spread the same way on every run without a `rand`
/// dependency.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::{millis, percentile, Latencies};
    use std::time::Duration;

    #[test]
    fn latencies_keep_percentiles_to_within_a_percent_in_fixed_memory() {
        let latencies: Latencies = (1..=10_000u64).map(Duration::from_micros).collect();
        assert_eq!(latencies.len(), 10_000);
        let near = |percent: f64, micros: f64| {
            let got = latencies.percentile(percent).expect("some").as_secs_f64() * 1e6;
            assert!(
                (got - micros).abs() <= micros * 0.011,
                "p{percent}: {got} µs, not within 1 % of {micros}"
            );
        };
        near(50.0, 5_000.0);
        near(99.0, 9_900.0);
        assert_eq!(
            latencies.percentile(100.0),
            Some(Duration::from_micros(10_000))
        );
        assert!(
            latencies.counts.len() < 1_000,
            "{} buckets",
            latencies.counts.len()
        );
        assert_eq!(Latencies::default().percentile(50.0), None);
        assert_eq!(millis(&Latencies::default(), 50.0), "n/a");
    }

    #[test]
    fn percentile_of_an_empty_slice_is_none() {
        assert_eq!(percentile::<i64>(&[], 50.0), None);
    }

    #[test]
    fn percentile_picks_the_nearest_rank() {
        let values: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile(&values, 50.0), Some(50));
        assert_eq!(percentile(&values, 99.0), Some(99));
        assert_eq!(percentile(&values, 99.5), Some(100));
        assert_eq!(percentile(&values, 100.0), Some(100));
        assert_eq!(percentile(&values, 0.0), Some(1));
    }

    #[test]
    fn percentile_of_few_values_rounds_the_rank_up() {
        assert_eq!(percentile(&[7], 50.0), Some(7));
        assert_eq!(percentile(&[1, 2, 3], 50.0), Some(2));
        assert_eq!(percentile(&[1, 2, 3, 4], 50.0), Some(2));
        assert_eq!(percentile(&[1, 2, 3, 4], 99.0), Some(4));
    }

    #[test]
    fn out_of_range_percentages_are_clamped() {
        assert_eq!(percentile(&[1, 2, 3], -5.0), Some(1));
        assert_eq!(percentile(&[1, 2, 3], 250.0), Some(3));
    }
}
