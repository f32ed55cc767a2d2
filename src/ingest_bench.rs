//! `firebreak bench ingest`: signed Slack `event_callback`s sent over
//! loopback HTTP by concurrent keep-alive clients, each verified and
//! written to the durable inbox before it is acknowledged. Prints acks per
//! second and ack latency, next to a bare actix-web handler measured under
//! the same load in the same run, and the ratio of the two: absolute
//! numbers on a shared machine drift, the ratio much less.

use crate::bench::{millis, open_loop, start_bare_handler, BenchDatabase, Latencies};
use crate::config::{Secret, Settings};
use crate::startup::Application;
use firebreak_adapters::slack::verify;
use futures_util::stream::{self, StreamExt};
use std::fmt;
use std::time::{Duration, Instant};

pub(crate) const SIGNING_SECRET: &str = "bench-signing-secret";

#[derive(Debug, Clone)]
pub struct IngestOptions {
    pub events: usize,
    pub clients: usize,
    /// Events per second of the paced phase, which measures ack latency
    /// at a steady rate rather than flat out.
    pub paced_rate: f64,
    /// `sqlite://…` or `postgres://…`; a temporary SQLite file when `None`.
    pub database_url: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Load {
    pub acked: usize,
    pub failed: usize,
    pub elapsed: Duration,
    /// Per request, sorted.
    pub latencies: Latencies,
}

impl Load {
    pub fn rate(&self) -> f64 {
        self.acked as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

pub struct IngestReport {
    pub database: String,
    pub firebreak: Load,
    pub bare: Load,
    pub paced_rate: f64,
    /// Ack times in the paced phase, sorted, and how many failed.
    pub paced: (Latencies, usize),
}

impl fmt::Display for IngestReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "slack_ingest_database {} -", self.database)?;
        for (name, load) in [
            ("slack_ingest", &self.firebreak),
            ("bare_handler", &self.bare),
        ] {
            writeln!(f, "{name}_acks {} events", load.acked)?;
            writeln!(f, "{name}_failed {} events", load.failed)?;
            writeln!(f, "{name}_rate {:.0} acks/s", load.rate())?;
            writeln!(f, "{name}_latency_p50 {} ms", millis(&load.latencies, 50.0))?;
            writeln!(f, "{name}_latency_p99 {} ms", millis(&load.latencies, 99.0))?;
            writeln!(
                f,
                "{name}_latency_max {} ms",
                millis(&load.latencies, 100.0)
            )?;
        }
        writeln!(
            f,
            "slack_ingest_ratio {:.2} x_bare",
            self.firebreak.rate() / self.bare.rate().max(1e-9)
        )?;
        let (latencies, failed) = &self.paced;
        let name = format!("slack_ingest_at_{:.0}_per_s", self.paced_rate);
        writeln!(f, "{name}_acks {} events", latencies.len())?;
        writeln!(f, "{name}_failed {failed} events")?;
        writeln!(f, "{name}_latency_p50 {} ms", millis(latencies, 50.0))?;
        writeln!(f, "{name}_latency_p99 {} ms", millis(latencies, 99.0))?;
        write!(f, "{name}_latency_max {} ms", millis(latencies, 100.0))
    }
}

/// The `n`th event: a message in a channel no incident owns, so the
/// engine stores and then ignores it and no Web API call is made.
fn event(n: usize) -> String {
    format!(
        r#"{{"token":"x","team_id":"T0BENCH","api_app_id":"A0BENCH","type":"event_callback","event_id":"EvBENCH{n:09}","event_time":1700000000,"event":{{"type":"message","user":"U0ANA","text":"load {n}","ts":"1700000000.{n:06}","channel":"C0BENCH"}}}}"#
    )
}

/// A POST of `body` to `url` signed as Slack signs its requests.
pub(crate) fn signed(http: &reqwest::Client, url: &str, body: String) -> reqwest::RequestBuilder {
    let timestamp = chrono::Utc::now().timestamp();
    let signature = verify::sign(SIGNING_SECRET.as_bytes(), timestamp, body.as_bytes());
    http.post(url)
        .header("content-type", "application/json")
        .header("X-Slack-Request-Timestamp", timestamp.to_string())
        .header("X-Slack-Signature", signature)
        .body(body)
}

pub(crate) async fn drive(url: &str, events: usize, clients: usize) -> Load {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .unwrap_or_default();
    let started = Instant::now();
    let results: Vec<Option<Duration>> = stream::iter(0..events)
        .map(|n| {
            let http = http.clone();
            async move {
                let request = signed(&http, url, event(n));
                let sent = Instant::now();
                let response = request.send().await;
                match response {
                    Ok(response) if response.status().is_success() => Some(sent.elapsed()),
                    _ => None,
                }
            }
        })
        .buffer_unordered(clients)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let latencies: Latencies = results.iter().flatten().copied().collect();
    Load {
        acked: latencies.len(),
        failed: results.len() - latencies.len(),
        elapsed,
        latencies,
    }
}

/// Runs both loads. Must run inside an actix system.
pub async fn run(options: IngestOptions) -> anyhow::Result<IngestReport> {
    let clients = options.clients.max(1);
    let database = BenchDatabase::new("ingest", options.database_url.clone());
    let bare_address = start_bare_handler()?;

    let mut settings = Settings::default();
    settings.server.addr = "127.0.0.1:0".parse()?;
    settings.database.url = Secret::new(database.url.clone());
    settings.slack.bot_token = Some(Secret::new("xoxb-bench"));
    settings.slack.signing_secret = Some(Secret::new(SIGNING_SECRET));
    settings.slack.api_base_url = format!("http://{bare_address}/api/");
    let app = Application::build(settings).await?;
    let url = format!("http://{}/slack/events", app.address());
    let store = app.store.clone();
    actix::spawn(app.run_until_stopped());
    // The bare handler first: measured after, it would share the cores
    // with the engine still applying the events Firebreak just took in.
    let bare = drive(
        &format!("http://{bare_address}/slack/events"),
        options.events,
        clients,
    )
    .await;
    let firebreak = drive(&url, options.events, clients).await;
    // The steady rate is measured on its own, not while the engine still
    // applies the flat-out phase's events.
    while store.inbox_backlog().await? > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }

    // Five seconds' worth at the steady rate, at most as many as the
    // flat-out phases sent; ids after theirs so none is a redelivery.
    let paced_rate = options.paced_rate.max(1.0);
    let paced_count = options.events.min((paced_rate * 5.0) as usize);
    let http = reqwest::Client::new();
    let paced = open_loop(paced_count, paced_rate, |n| {
        let request = signed(&http, &url, event(options.events + n));
        async move {
            request
                .send()
                .await
                .is_ok_and(|response| response.status().is_success())
        }
    })
    .await;

    Ok(IngestReport {
        database: database.kind(),
        firebreak,
        bare,
        paced_rate,
        paced,
    })
}
