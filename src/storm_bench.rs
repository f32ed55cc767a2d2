//! `firebreak bench storm`: an alert storm. N incidents are declared
//! through the API within a few seconds on Slack, against a fake Slack
//! that enforces Slack's published limits: each method's tier per minute
//! and `chat.postMessage` about once a second per channel, with 429 and
//! `Retry-After` beyond. Every incident must get its channel and its
//! headline in the end; the table says how long that took, how many 429s
//! the bot drew, and how the API answered meanwhile.
//!
//! Slack's limits make a real storm slow by design (500 channels at
//! `conversations.create`'s 20 a minute take 25 minutes), so the fake and
//! the bot's pacing both run `speed` times faster than Slack; the drain
//! time is also printed scaled back to Slack's clock.

use crate::bench::{millis, open_loop, start_bare_handler, BenchDatabase, Latencies};
use crate::config::{Secret, Settings};
use crate::startup::Application;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use firebreak_adapters::slack::client::{per_channel, published_per_minute, Pacer};
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ANNOUNCE: &str = "C0ANNOUNCE";

#[derive(Debug, Clone)]
pub struct StormOptions {
    pub incidents: usize,
    /// The declarations are spread evenly over this long.
    pub within: Duration,
    /// How many times faster than Slack the fake and the pacing run.
    pub speed: f64,
    pub database_url: Option<String>,
    /// Send Alertmanager deliveries instead of API declarations: one alert
    /// per delivery, each its own group, spread over this many services
    /// (the storm label), so the bot should open one incident per service.
    pub alert_services: Option<usize>,
}

pub struct StormReport {
    pub database: String,
    pub options: StormOptions,
    pub declared: usize,
    pub declare_failed: usize,
    /// API answer times for the declarations, sorted.
    pub api_latencies: Latencies,
    /// The bare handler's answer times under the same schedule, sorted.
    pub bare_latencies: Latencies,
    /// From the first declaration to the last incident having its channel
    /// and headline; `None` if that never happened before the deadline.
    pub drained: Option<Duration>,
    pub channels: usize,
    pub headlines: usize,
    pub calls: usize,
    pub rate_limited: usize,
    /// In the alert storm: the incidents the alerts opened.
    pub opened_by_alerts: Option<u64>,
    /// In the alert storm: from the first alert to the last one filed with
    /// its incident.
    pub filed: Option<Duration>,
}

impl fmt::Display for StormReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "storm_database {} -", self.database)?;
        writeln!(f, "storm_speed {} x_slack", self.options.speed)?;
        writeln!(
            f,
            "storm_declare_window {:.1} s",
            self.options.within.as_secs_f64()
        )?;
        match (self.opened_by_alerts, self.options.alert_services) {
            (Some(opened), Some(services)) => {
                writeln!(f, "storm_alerts_sent {} alerts", self.declared)?;
                writeln!(f, "storm_alerts_failed {} alerts", self.declare_failed)?;
                writeln!(f, "storm_alert_services {services} services")?;
                writeln!(f, "storm_incidents_opened {opened} incidents")?;
                writeln!(
                    f,
                    "storm_incidents_per_alert {:.3} incidents",
                    opened as f64 / self.declared.max(1) as f64
                )?;
                if let Some(filed) = self.filed {
                    writeln!(f, "storm_alerts_filed_time {:.1} s", filed.as_secs_f64())?;
                }
            }
            _ => {
                writeln!(f, "storm_declared {} incidents", self.declared)?;
                writeln!(f, "storm_declare_failed {} incidents", self.declare_failed)?;
            }
        }
        for (name, latencies) in [
            ("storm_api", &self.api_latencies),
            ("bare_handler", &self.bare_latencies),
        ] {
            for percent in [50.0, 99.0] {
                writeln!(
                    f,
                    "{name}_latency_p{percent} {} ms",
                    millis(latencies, percent)
                )?;
            }
        }
        let p50 = |latencies: &Latencies| {
            latencies
                .percentile(50.0)
                .map_or(0.0, |latency| latency.as_secs_f64())
        };
        writeln!(
            f,
            "storm_api_latency_ratio {:.1} x_bare",
            p50(&self.api_latencies) / p50(&self.bare_latencies).max(1e-9)
        )?;
        writeln!(f, "storm_channels_created {} channels", self.channels)?;
        writeln!(f, "storm_headlines_posted {} headlines", self.headlines)?;
        writeln!(f, "storm_slack_calls {} calls", self.calls)?;
        writeln!(f, "storm_slack_429s {} responses", self.rate_limited)?;
        match self.drained {
            Some(drained) => {
                writeln!(f, "storm_drain_time {:.1} s", drained.as_secs_f64())?;
                write!(
                    f,
                    "storm_drain_time_at_slack_speed {:.1} min",
                    drained.as_secs_f64() * self.options.speed / 60.0
                )
            }
            None => write!(f, "storm_drain_time n/a s"),
        }
    }
}

/// A Slack Web API that counts in sliding windows the way Slack's limits
/// read: at most a tier's number of calls per method in any minute, and
/// one `chat.postMessage` per channel in any second (both shortened by
/// `speed`).
pub(crate) struct FakeSlack {
    speed: f64,
    windows: Mutex<HashMap<String, VecDeque<Instant>>>,
    tally: Mutex<Tally>,
}

#[derive(Default, Clone)]
struct Tally {
    calls: usize,
    rate_limited: usize,
    /// When the latest channel was created and headline posted.
    last_channel: Option<Instant>,
    last_headline: Option<Instant>,
    channels: usize,
    headlines: usize,
}

impl FakeSlack {
    /// A fake whose limits run `speed` times faster than Slack's.
    pub(crate) fn new(speed: f64) -> Arc<Self> {
        Arc::new(Self {
            speed,
            windows: Mutex::default(),
            tally: Mutex::default(),
        })
    }

    /// `Err(retry_after)` when the call is over its limit.
    fn admit(&self, method: &str, channel: Option<&str>, now: Instant) -> Result<(), Duration> {
        let (key, limit, window) = match channel {
            Some(channel) if per_channel(method) => (format!("{method} {channel}"), 1, 1.0),
            _ => (
                method.to_owned(),
                published_per_minute(method) as usize,
                60.0,
            ),
        };
        let window = Duration::from_secs_f64(window / self.speed);
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let calls = windows.entry(key).or_default();
        while calls
            .front()
            .is_some_and(|at| now.duration_since(*at) >= window)
        {
            calls.pop_front();
        }
        if calls.len() >= limit.max(1) {
            let oldest = calls.front().copied().unwrap_or(now);
            return Err(window.saturating_sub(now.duration_since(oldest)));
        }
        calls.push_back(now);
        Ok(())
    }

    fn answer(&self, method: &str, body: &Value) -> HttpResponse {
        let channel = body["channel"].as_str();
        let mut tally = self
            .tally
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        tally.calls += 1;
        if let Err(retry_after) = self.admit(method, channel, Instant::now()) {
            tally.rate_limited += 1;
            // Slack sends whole seconds.
            let seconds = retry_after.as_secs_f64().ceil().max(1.0) as u64;
            return HttpResponse::TooManyRequests()
                .insert_header(("Retry-After", seconds.to_string()))
                .json(json!({ "ok": false, "error": "ratelimited" }));
        }
        let n = tally.calls;
        let answer = match method {
            "auth.test" => json!({
                "ok": true, "user_id": "U0BOT", "bot_id": "B0BOT", "team_id": "T0STORM",
                "team": "Storm", "user": "firebreak", "url": "https://storm.slack.com/"
            }),
            "conversations.create" => {
                tally.channels += 1;
                tally.last_channel = Some(Instant::now());
                json!({ "ok": true, "channel": {
                    "id": format!("C0INC{n:06}"), "name": body["name"],
                    "is_channel": true, "is_private": body["is_private"]
                } })
            }
            "chat.postMessage" => {
                if channel == Some(ANNOUNCE) {
                    tally.headlines += 1;
                    tally.last_headline = Some(Instant::now());
                }
                let ts = format!("1700000000.{n:06}");
                json!({ "ok": true, "channel": channel, "ts": ts,
                        "message": { "text": body["text"], "ts": ts } })
            }
            "chat.update" => {
                json!({ "ok": true, "channel": channel, "ts": body["ts"], "text": body["text"] })
            }
            "users.info" => json!({ "ok": true, "user": {
                "id": body["user"], "name": "storm", "real_name": "Storm Reporter",
                "profile": { "display_name": "storm" }
            } }),
            _ => json!({ "ok": true }),
        };
        HttpResponse::Ok().json(answer)
    }

    fn tally(&self) -> Tally {
        self.tally
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// JSON for writes, form-encoded for the read methods, as Slack takes them.
fn parameters(body: &[u8]) -> Value {
    serde_json::from_slice::<Value>(body)
        .ok()
        .or_else(|| {
            serde_urlencoded::from_bytes::<serde_json::Map<String, Value>>(body)
                .ok()
                .map(Value::Object)
        })
        .unwrap_or(Value::Null)
}

pub(crate) fn start_fake_slack(fake: Arc<FakeSlack>) -> std::io::Result<std::net::SocketAddr> {
    let server = HttpServer::new(move || {
        let fake = fake.clone();
        App::new().route(
            "/api/{method}",
            web::post().to(move |request: HttpRequest, body: web::Bytes| {
                let fake = fake.clone();
                async move {
                    let method = request.match_info().get("method").unwrap_or_default();
                    fake.answer(method, &parameters(&body))
                }
            }),
        )
    })
    .bind(("127.0.0.1", 0))?;
    let address = server
        .addrs()
        .first()
        .copied()
        .ok_or_else(|| std::io::Error::other("the fake Slack has no address"))?;
    actix::spawn(server.run());
    Ok(address)
}

/// Sends `count` declarations to `url`, evenly spread over `within`.
async fn declare_on_schedule(url: &str, count: usize, within: Duration) -> (Latencies, usize) {
    let http = reqwest::Client::new();
    let rate = count as f64 / within.as_secs_f64().max(1e-3);
    open_loop(count, rate, |n| {
        let request = http.post(url).json(&json!({
            "title": format!("Storm alert {n}: checkout latency"),
            "severity": 2,
            "platform": "slack",
            "reporter": "U0STORM",
        }));
        succeeded(request)
    })
    .await
}

/// Whether `request` got a success answer.
async fn succeeded(request: reqwest::RequestBuilder) -> bool {
    request
        .send()
        .await
        .is_ok_and(|response| response.status().is_success())
}

const ALERT_TOKEN: &str = "storm-alert-token";

/// Sends `count` Alertmanager deliveries to `url`, evenly spread over
/// `within`: each one alert of its own name (so its own group), on one of
/// `services` services.
async fn alert_on_schedule(
    url: &str,
    count: usize,
    within: Duration,
    services: usize,
) -> (Latencies, usize) {
    let http = reqwest::Client::new();
    let rate = count as f64 / within.as_secs_f64().max(1e-3);
    // Each run's alerts are its own: on a database kept from an earlier
    // run, the same deliveries would be redeliveries (stored once, so
    // never filed again) and the same services would fold into that run's
    // incidents.
    let run = chrono::Utc::now().timestamp_millis();
    open_loop(count, rate, |n| {
        let service = format!("service-{}-{run}", n % services.max(1));
        let name = format!("StormCheck{n}");
        let labels = json!({ "alertname": name, "service": service, "severity": "critical" });
        let request = http.post(url).bearer_auth(ALERT_TOKEN).json(&json!({
            "version": "4",
            "groupKey": format!("{{}}:{{alertname=\"{name}\", service=\"{service}\"}}"),
            "truncatedAlerts": 0,
            "status": "firing",
            "receiver": "firebreak",
            "groupLabels": { "alertname": name, "service": service },
            "commonLabels": labels,
            "commonAnnotations": { "summary": format!("{service} checks failing") },
            "externalURL": "http://alertmanager.example:9093",
            "alerts": [{
                "status": "firing",
                "labels": labels,
                "annotations": { "summary": format!("{service} checks failing") },
                "startsAt": "2026-11-25T10:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.example/graph",
                "fingerprint": format!("{n:016x}"),
            }],
        }));
        succeeded(request)
    })
    .await
}

/// A counter's value in the app's `/metrics`.
async fn metric(base: &str, name: &str) -> Option<u64> {
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// Must run inside an actix system.
pub async fn run(options: StormOptions) -> anyhow::Result<StormReport> {
    let database = BenchDatabase::new("storm", options.database_url.clone());
    let fake = FakeSlack::new(options.speed);
    let slack = start_fake_slack(fake.clone())?;
    let mut settings = Settings::default();
    settings.server.addr = "127.0.0.1:0".parse()?;
    settings.database.url = Secret::new(database.url.clone());
    settings.slack.bot_token = Some(Secret::new("xoxb-storm"));
    settings.slack.signing_secret = Some(Secret::new("storm-signing-secret"));
    settings.slack.api_base_url = format!("http://{slack}/api/");
    settings.slack.announce_channel = Some(ANNOUNCE.to_owned());
    settings.slack.pacing_speed = options.speed;
    if options.alert_services.is_some() {
        settings.alerts.sources.insert(
            "storm".to_owned(),
            crate::config::AlertSourceSettings {
                kind: "alertmanager".to_owned(),
                token: Some(Secret::new(ALERT_TOKEN)),
                storm_labels: vec!["service".to_owned()],
                // The whole storm is one window.
                group_window: "1h".to_owned(),
                platform: Some("slack".to_owned()),
                ..Default::default()
            },
        );
    }
    let app = Application::build(settings).await?;
    let base = format!("http://{}", app.address());
    actix::spawn(app.run_until_stopped());

    let started = Instant::now();
    let (api_latencies, declare_failed) = match options.alert_services {
        Some(services) => {
            alert_on_schedule(
                &format!("{base}/api/v1/alerts/alertmanager"),
                options.incidents,
                options.within,
                services,
            )
            .await
        }
        None => {
            declare_on_schedule(
                &format!("{base}/api/v1/incidents"),
                options.incidents,
                options.within,
            )
            .await
        }
    };
    let sent = api_latencies.len();
    // With alerts, what drains is the incidents they opened: wait until
    // every delivery was filed, then count.
    let (opened_by_alerts, filed) = match options.alert_services {
        Some(_) => {
            let deadline = Instant::now() + Duration::from_secs(600);
            while metric(&base, "firebreak_alerts_received_total")
                .await
                .unwrap_or(0)
                < sent as u64
                && Instant::now() < deadline
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let opened = metric(&base, "firebreak_incidents_opened_by_alerts_total")
                .await
                .unwrap_or(0);
            (Some(opened), Some(started.elapsed()))
        }
        None => (None, None),
    };
    let declared = opened_by_alerts.map_or(sent, |opened| opened as usize);

    // The slowest pipeline's pace (one channel per incident, at
    // `conversations.create`'s), doubled, plus a minute: past that, it is
    // stuck.
    let expected = Pacer::new(options.speed)
        .interval("conversations.create")
        .mul_f64(declared as f64);
    let deadline = started + options.within + expected * 2 + Duration::from_secs(60);
    let drained = loop {
        let tally = fake.tally();
        if tally.channels >= declared && tally.headlines >= declared {
            // With alerts the incidents are all known only once every
            // alert is filed; they drained when their last channel and
            // headline came, which may be long before.
            let last = tally.last_channel.max(tally.last_headline);
            break Some(match (filed, last) {
                (Some(_), Some(last)) => last.saturating_duration_since(started),
                _ => started.elapsed(),
            });
        }
        if Instant::now() > deadline {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    let bare = start_bare_handler()?;
    let (bare_latencies, _) = declare_on_schedule(
        &format!("http://{bare}/api/v1/incidents"),
        options.incidents,
        options.within,
    )
    .await;
    let tally = fake.tally();
    Ok(StormReport {
        database: database.kind(),
        options,
        declared: sent,
        opened_by_alerts,
        filed,
        declare_failed,
        api_latencies,
        bare_latencies,
        drained,
        channels: tally.channels,
        headlines: tally.headlines,
        calls: tally.calls,
        rate_limited: tally.rate_limited,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake(speed: f64) -> Arc<FakeSlack> {
        FakeSlack::new(speed)
    }

    #[test]
    fn the_fake_allows_a_tier_per_minute_and_says_when_the_oldest_call_leaves() {
        let slack = fake(1.0);
        let start = Instant::now();
        for n in 0..20 {
            let at = start + Duration::from_secs(n);
            assert_eq!(slack.admit("conversations.create", None, at), Ok(()));
        }
        let refused = slack.admit(
            "conversations.create",
            None,
            start + Duration::from_secs(30),
        );
        assert_eq!(refused, Err(Duration::from_secs(30)));
        // A minute after the first call, its place is free again.
        let later = start + Duration::from_secs(60);
        assert_eq!(slack.admit("conversations.create", None, later), Ok(()));
    }

    #[test]
    fn the_fake_limits_posts_per_channel_per_second() {
        let slack = fake(1.0);
        let now = Instant::now();
        assert_eq!(slack.admit("chat.postMessage", Some("C1"), now), Ok(()));
        assert_eq!(slack.admit("chat.postMessage", Some("C2"), now), Ok(()));
        assert!(slack.admit("chat.postMessage", Some("C1"), now).is_err());
        let later = now + Duration::from_secs(1);
        assert_eq!(slack.admit("chat.postMessage", Some("C1"), later), Ok(()));
    }

    #[test]
    fn form_bodies_are_read_like_json_ones() {
        assert_eq!(
            parameters(b"user=U1&include_locale=true"),
            json!({ "user": "U1", "include_locale": "true" })
        );
        assert_eq!(
            parameters(br#"{"channel":"C1"}"#),
            json!({ "channel": "C1" })
        );
    }
}
