//! `firebreak bench load`: sustained mixed traffic for a while (60 s by
//! default) at half the ingest rate measured in the same run: signed Slack
//! messages in incident channels, chat commands through the API, and
//! incident listings. Counts every request that did not succeed, and
//! reports the resident set at the start and the end, which should match.

use crate::bench::{
    millis, open_loop, resident_set_bytes, wait_for_conversations, BenchDatabase, Latencies,
};
use crate::config::{Secret, Settings};
use crate::ingest_bench::{drive, signed, SIGNING_SECRET};
use crate::startup::Application;
use crate::storm_bench::{start_fake_slack, FakeSlack};
use serde_json::json;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Incidents the traffic is spread over.
const INCIDENTS: usize = 20;

#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub duration: Duration,
    /// Requests per second; half the measured ingest rate when `None`.
    pub rate: Option<f64>,
    pub database_url: Option<String>,
}

pub struct LoadReport {
    pub database: String,
    pub measured_ingest_rate: Option<f64>,
    pub rate: f64,
    pub duration: Duration,
    pub sent: usize,
    pub errors: usize,
    /// Errors by request kind and failure (`command_503`, `list_timeout`).
    pub failures: BTreeMap<String, usize>,
    pub latencies: Latencies,
    /// Answer times of each kind of request.
    pub latencies_by_kind: BTreeMap<&'static str, Latencies>,
    pub rss_start: u64,
    /// The resident set after each tenth of the run.
    pub rss_samples: Vec<u64>,
    pub rss_end: u64,
    pub backlog_end: u64,
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MIB: f64 = 1024.0 * 1024.0;
        writeln!(f, "load_database {} -", self.database)?;
        if let Some(rate) = self.measured_ingest_rate {
            writeln!(f, "load_measured_ingest_rate {rate:.0} acks/s")?;
        }
        writeln!(f, "load_rate {:.0} requests/s", self.rate)?;
        writeln!(f, "load_duration {:.0} s", self.duration.as_secs_f64())?;
        writeln!(f, "load_requests {} requests", self.sent)?;
        writeln!(f, "load_errors {} requests", self.errors)?;
        for (failure, count) in &self.failures {
            writeln!(f, "load_errors_{failure} {count} requests")?;
        }
        writeln!(f, "load_latency_p50 {} ms", millis(&self.latencies, 50.0))?;
        writeln!(f, "load_latency_p99 {} ms", millis(&self.latencies, 99.0))?;
        writeln!(f, "load_latency_max {} ms", millis(&self.latencies, 100.0))?;
        for (kind, latencies) in &self.latencies_by_kind {
            writeln!(f, "load_{kind}_latency_p50 {} ms", millis(latencies, 50.0))?;
            writeln!(f, "load_{kind}_latency_p99 {} ms", millis(latencies, 99.0))?;
        }
        writeln!(f, "load_rss_start {:.1} MiB", self.rss_start as f64 / MIB)?;
        for (tenth, rss) in self.rss_samples.iter().enumerate() {
            writeln!(
                f,
                "load_rss_at_{}_percent {:.1} MiB",
                (tenth + 1) * 10,
                *rss as f64 / MIB
            )?;
        }
        writeln!(f, "load_rss_end {:.1} MiB", self.rss_end as f64 / MIB)?;
        write!(f, "load_inbox_backlog_end {} rows", self.backlog_end)
    }
}

/// One request of the mix: mostly chat messages, some commands, some
/// listings, in a fixed rotation so every run sends the same traffic.
enum Request {
    Message { channel: String, n: usize },
    Command { incident: i64, n: usize },
    List,
}

fn request(n: usize, incidents: &[(i64, String)]) -> Request {
    let (incident, channel) = &incidents[n % incidents.len()];
    match n % 10 {
        0 => Request::Command {
            incident: *incident,
            n,
        },
        1 => Request::List,
        _ => Request::Message {
            channel: channel.clone(),
            n,
        },
    }
}

/// What happened to each kind of request, for the report.
#[derive(Default)]
struct Tally {
    /// Failed requests by kind and how they failed (`command_503`).
    failures: BTreeMap<String, usize>,
    /// Answer times of the requests that succeeded, by kind.
    latencies: BTreeMap<&'static str, Latencies>,
}

type SharedTally = Arc<Mutex<Tally>>;

async fn send(http: reqwest::Client, base: String, request: Request, tally: SharedTally) -> bool {
    let sent = Instant::now();
    let kind = match request {
        Request::Message { .. } => "message",
        Request::Command { .. } => "command",
        Request::List => "list",
    };
    let response = match request {
        Request::Message { channel, n } => {
            let body = json!({
                "token": "x", "team_id": "T0STORM", "api_app_id": "A0LOAD",
                "type": "event_callback", "event_id": format!("EvLOAD{n:010}"),
                "event_time": 1_700_000_000,
                "event": { "type": "message", "user": "U0LOAD", "text": format!("load {n}"),
                           "ts": format!("1700000000.{n:06}"), "channel": channel }
            })
            .to_string();
            signed(&http, &format!("{base}/slack/events"), body)
                .send()
                .await
        }
        Request::Command { incident, n } => {
            http.post(format!("{base}/api/v1/incidents/{incident}/commands"))
                .json(&json!({ "text": format!("note load {n}") }))
                .send()
                .await
        }
        Request::List => {
            http.get(format!("{base}/api/v1/incidents?limit=20"))
                .send()
                .await
        }
    };
    let failure = match response {
        Ok(response) if response.status().is_success() => {
            if let Ok(mut tally) = tally.lock() {
                tally
                    .latencies
                    .entry(kind)
                    .or_default()
                    .record(sent.elapsed());
            }
            return true;
        }
        Ok(response) => response.status().as_u16().to_string(),
        Err(error) if error.is_timeout() => "timeout".to_owned(),
        Err(error) if error.is_connect() => "connect".to_owned(),
        Err(_) => "transport".to_owned(),
    };
    if let Ok(mut tally) = tally.lock() {
        *tally
            .failures
            .entry(format!("{kind}_{failure}"))
            .or_default() += 1;
    }
    false
}

/// Must run inside an actix system.
pub async fn run(options: LoadOptions) -> anyhow::Result<LoadReport> {
    let database = BenchDatabase::new("load", options.database_url.clone());
    // Slack's limits are the storm's subject, not this one's: the fake
    // and the pacing run fast enough not to matter.
    let slack = start_fake_slack(FakeSlack::new(1e6))?;
    let mut settings = Settings::default();
    settings.server.addr = "127.0.0.1:0".parse()?;
    settings.database.url = Secret::new(database.url.clone());
    settings.slack.bot_token = Some(Secret::new("xoxb-load"));
    settings.slack.signing_secret = Some(Secret::new(SIGNING_SECRET));
    settings.slack.api_base_url = format!("http://{slack}/api/");
    settings.slack.pacing_speed = 1e6;
    let app = Application::build(settings).await?;
    let base = format!("http://{}", app.address());
    let store = app.store.clone();
    actix::spawn(app.run_until_stopped());

    let http = reqwest::Client::new();
    let mut incidents = Vec::with_capacity(INCIDENTS);
    for n in 0..INCIDENTS {
        let answer: serde_json::Value = http
            .post(format!("{base}/api/v1/incidents"))
            .json(&json!({ "title": format!("Load incident {n}"), "platform": "slack", "reporter": "U0LOAD" }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let id = answer["id"]
            .as_i64()
            .ok_or_else(|| anyhow::anyhow!("the declaration's answer has no id"))?;
        incidents.push(id);
    }
    let channels: Vec<(i64, String)> = incidents
        .iter()
        .copied()
        .zip(wait_for_conversations(&store, &incidents).await?)
        .collect();

    let measured_ingest_rate = match options.rate {
        Some(_) => None,
        None => Some(
            drive(&format!("{base}/slack/events"), 3_000, 32)
                .await
                .rate(),
        ),
    };
    let rate = options
        .rate
        .or(measured_ingest_rate.map(|measured| measured / 2.0))
        .unwrap_or(100.0)
        .max(1.0);
    while store.inbox_backlog().await? > 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let rss_start = resident_set_bytes()?;
    // The resident set every tenth of the run, to tell growth that levels
    // off (allocator, caches) from growth that does not.
    let tenth = options.duration / 10;
    let sampler = tokio::spawn(async move {
        let mut samples = Vec::with_capacity(10);
        for _ in 0..10 {
            tokio::time::sleep(tenth).await;
            samples.push(resident_set_bytes().unwrap_or(0));
        }
        samples
    });
    let total = (rate * options.duration.as_secs_f64()) as usize;
    let tally = SharedTally::default();
    let (latencies, errors) = open_loop(total, rate, |n| {
        send(
            http.clone(),
            base.clone(),
            request(n, &channels),
            tally.clone(),
        )
    })
    .await;
    let (failures, latencies_by_kind) = tally
        .lock()
        .map(|mut tally| {
            (
                std::mem::take(&mut tally.failures),
                std::mem::take(&mut tally.latencies),
            )
        })
        .unwrap_or_default();
    let drain_deadline = Instant::now() + Duration::from_secs(30);
    let mut backlog_end = store.inbox_backlog().await?;
    while backlog_end > 0 && Instant::now() < drain_deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
        backlog_end = store.inbox_backlog().await?;
    }
    let rss_end = resident_set_bytes()?;
    let rss_samples = sampler.await.unwrap_or_default();
    Ok(LoadReport {
        database: database.kind(),
        measured_ingest_rate,
        rate,
        duration: options.duration,
        sent: total,
        errors,
        failures,
        latencies,
        latencies_by_kind,
        rss_start,
        rss_samples,
        rss_end,
        backlog_end,
    })
}
