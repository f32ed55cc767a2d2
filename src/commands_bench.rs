//! `firebreak bench commands`: chat commands applied end to end (durable
//! inbox → supervisor → incident actor → decide → persist → a change
//! notice on the memory platform) across 1, 100 and 10,000 live
//! incidents. Prints commands applied per second and the time from a
//! row's arrival in the inbox to its processing (p50/p99/max).

use crate::bench::{declare_many, percentile, wait_for_conversations, BenchDatabase};
use crate::config::{Secret, Settings};
use crate::startup::Application;
use chrono::Utc;
use firebreak_adapters::Platform;
use std::fmt;
use std::time::{Duration, Instant};

/// Commands written to the inbox per transaction.
const BATCH: usize = 100;

#[derive(Debug, Clone)]
pub struct CommandsOptions {
    /// Live incident counts to measure at, e.g. `[1, 100, 10_000]`.
    pub incidents: Vec<usize>,
    /// Commands per measurement.
    pub commands: usize,
    pub database_url: Option<String>,
}

pub struct Round {
    pub incidents: usize,
    pub declare_time: Duration,
    pub applied: usize,
    pub elapsed: Duration,
    /// Arrival to processing, per command, sorted.
    pub latencies: Vec<chrono::Duration>,
}

pub struct CommandsReport {
    pub database: String,
    pub rounds: Vec<Round>,
}

impl fmt::Display for CommandsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "commands_database {} -", self.database)?;
        for round in &self.rounds {
            let name = format!("commands_{}_incidents", round.incidents);
            let ms = |percent: f64| {
                percentile(&round.latencies, percent)
                    .map(|latency| {
                        format!(
                            "{:.2}",
                            latency.num_microseconds().unwrap_or(0) as f64 / 1e3
                        )
                    })
                    .unwrap_or_else(|| "n/a".into())
            };
            writeln!(
                f,
                "{name}_declare_time {:.2} s",
                round.declare_time.as_secs_f64()
            )?;
            writeln!(f, "{name}_applied {} commands", round.applied)?;
            writeln!(
                f,
                "{name}_rate {:.0} commands/s",
                round.applied as f64 / round.elapsed.as_secs_f64().max(1e-9)
            )?;
            writeln!(f, "{name}_latency_p50 {} ms", ms(50.0))?;
            writeln!(f, "{name}_latency_p99 {} ms", ms(99.0))?;
            writeln!(f, "{name}_latency_max {} ms", ms(100.0))?;
        }
        Ok(())
    }
}

/// Runs every round on one application, adding incidents as it goes.
/// Must run inside an actix system.
pub async fn run(options: CommandsOptions) -> anyhow::Result<CommandsReport> {
    let database = BenchDatabase::new("commands", options.database_url.clone());
    let mut settings = Settings::default();
    settings.server.addr = "127.0.0.1:0".parse()?;
    settings.database.url = Secret::new(database.url.clone());
    settings.memory.enabled = true;
    let app = Application::build(settings).await?;
    let mut ids = Vec::new();
    let mut rounds = Vec::new();
    let mut sizes = options.incidents.clone();
    sizes.sort_unstable();
    for size in sizes {
        let started = Instant::now();
        let missing = size.saturating_sub(ids.len());
        ids.extend(declare_many(&app.supervisor, missing, Platform::Memory).await?);
        let declare_time = started.elapsed();
        // Each incident needs its conversation before chat can reach it.
        let conversations = wait_for_conversations(&app.store, &ids[..size]).await?;

        let first = first_row(&app).await?;
        let started = Instant::now();
        // Written in batches, as a busy webhook's group commit would: one
        // insert at a time would measure this loop, not the engine.
        let rows: Vec<(String, String)> = (0..options.commands)
            .map(|n| {
                let conversation = &conversations[n % conversations.len()];
                let event_id = format!("bench-{size}-{n}");
                let payload = serde_json::json!({
                    "platform": "memory", "event_id": event_id, "type": "command",
                    "conversation": { "platform": "memory", "id": conversation },
                    "user": { "platform": "memory", "id": "bench", "name": "bench" },
                    "text": format!("note bench {n}"),
                })
                .to_string();
                (event_id, payload)
            })
            .collect();
        for (n, batch) in rows.chunks(BATCH).enumerate() {
            app.store
                .inbox_insert_batch(
                    Platform::Memory,
                    batch,
                    "bench:commands",
                    &n.to_string(),
                    Utc::now(),
                )
                .await?;
            app.inbox_wake.notify_one();
        }
        loop {
            if app.store.inbox_backlog().await? == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let elapsed = started.elapsed();
        let mut latencies = app.store.inbox_processing_times(first).await?;
        latencies.sort_unstable();
        rounds.push(Round {
            incidents: size,
            declare_time,
            applied: latencies.len(),
            elapsed,
            latencies,
        });
    }
    Ok(CommandsReport {
        database: database.kind(),
        rounds,
    })
}

/// The id the next inbox row will get, near enough: one past the highest.
async fn first_row(app: &Application) -> anyhow::Result<i64> {
    let marker = format!(
        "bench-marker-{}",
        Utc::now().timestamp_nanos_opt().unwrap_or_default()
    );
    match app
        .store
        .inbox_insert(Platform::Api, &marker, "{}", Utc::now())
        .await?
    {
        firebreak_actors::store::InboxInsert::Inserted(id) => Ok(id + 1),
        firebreak_actors::store::InboxInsert::Duplicate => anyhow::bail!("marker row collided"),
    }
}
