//! `firebreak bench rehydrate`: with N open incidents in the database,
//! the time from starting the application to ready (every incident's actor
//! rehydrated from its event log) and the resident memory the live actors
//! hold, per actor.

use crate::bench::{growth, resident_set_bytes, BenchDatabase};
use crate::config::{Secret, Settings};
use crate::startup::{connect_and_migrate, Application};
use chrono::Utc;
use firebreak_actors::incident::{duties_on_declare, schedule, DomainEvent, Severity};
use firebreak_actors::store::{Change, PendingTimer, RecordedEvent};
use firebreak_adapters::{Platform, UserRef};
use std::fmt;
use std::time::{Duration, Instant};

pub struct RehydrateReport {
    pub database: String,
    pub incidents: usize,
    pub seed_time: Duration,
    pub start_to_ready: Duration,
    /// Resident set growth across start-up, in bytes (signed).
    pub memory_growth: i64,
}

impl fmt::Display for RehydrateReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let per_actor = self.memory_growth / i64::try_from(self.incidents.max(1)).unwrap_or(1);
        writeln!(f, "rehydrate_database {} -", self.database)?;
        writeln!(f, "rehydrate_open_incidents {} incidents", self.incidents)?;
        writeln!(
            f,
            "rehydrate_seed_time {:.2} s",
            self.seed_time.as_secs_f64()
        )?;
        writeln!(
            f,
            "rehydrate_start_to_ready {:.2} s",
            self.start_to_ready.as_secs_f64()
        )?;
        writeln!(
            f,
            "actors_memory {:.1} MiB",
            self.memory_growth as f64 / (1024.0 * 1024.0)
        )?;
        write!(f, "actors_memory_per_incident {per_actor} bytes")
    }
}

/// Seeds `incidents` open incidents as the engine would have left them
/// (duties carried out, reminders stored, on no chat platform, so start-up
/// owes them no chat calls), then starts the application on them.
/// Must run inside an actix system.
pub async fn run(
    incidents: usize,
    database_url: Option<String>,
) -> anyhow::Result<RehydrateReport> {
    let database = BenchDatabase::new("rehydrate", database_url);
    let url = database.url.clone();
    let store = connect_and_migrate(&url).await?;
    let policy = Settings::default().policy()?;
    let seeding = Instant::now();
    for n in 0..incidents {
        let declared = RecordedEvent {
            event: DomainEvent::Declared {
                title: format!("Rehydrated {n}"),
                severity: Severity::new(3)?,
                summary: None,
                impact: None,
                reporter: UserRef::new(Platform::Api, "bench"),
                lead: Some(UserRef::new(Platform::Api, "lead")),
                platform: Platform::Api,
                private: false,
                report: None,
                labels: Default::default(),
                announce: None,
            },
            actor: None,
            at: Utc::now(),
        };
        let Some(incident) = store
            .create_incident(&declared, None, |_| Vec::new())
            .await?
        else {
            anyhow::bail!("seed incident {n} was not stored");
        };
        // What the engine writes after a declaration too: the severity's
        // duties and the reminders. Without them every start-up would owe
        // them and write them, which is not what a restart costs.
        let mut next = incident.clone();
        let mut events = Vec::new();
        if let Some(duties) = duties_on_declare(&incident, &policy) {
            next.apply(&duties, declared.at);
            events.push(RecordedEvent {
                event: duties,
                actor: None,
                at: declared.at,
            });
        }
        let timers: Vec<PendingTimer> = schedule(&next, &policy)
            .into_iter()
            .map(|due| PendingTimer {
                reminder: due.reminder.to_string(),
                due_at: due.at,
            })
            .collect();
        store
            .append(&Change {
                timers: Some(timers),
                ..Change::new(&incident, next, events)
            })
            .await?;
    }
    let seed_time = seeding.elapsed();
    drop(store);

    let mut settings = Settings::default();
    settings.server.addr = "127.0.0.1:0".parse()?;
    settings.database.url = Secret::new(url.clone());
    let before = resident_set_bytes()?;
    let starting = Instant::now();
    let app = Application::build(settings).await?;
    let start_to_ready = starting.elapsed();
    let after = resident_set_bytes()?;
    drop(app);
    Ok(RehydrateReport {
        database: database.kind(),
        incidents,
        seed_time,
        start_to_ready,
        memory_growth: growth(before, after),
    })
}
