//! `firebreak bench actors`: the memory a live incident actor holds, as
//! the resident set's growth while 10,000 and then 100,000 incidents are
//! declared and left open, divided by their number, and how long declaring
//! them took. The incidents are on no chat platform, so what is measured
//! is the actors (and the store's caches), not a platform's call log.

use crate::bench::{declare_many, growth, resident_set_bytes, BenchDatabase};
use crate::config::{Secret, Settings};
use crate::startup::Application;
use firebreak_adapters::Platform;
use std::fmt;
use std::time::{Duration, Instant};

pub struct Step {
    pub live: usize,
    pub declare_time: Duration,
    /// Resident set growth since before the first declaration (signed).
    pub memory_growth: i64,
}

pub struct ActorsReport {
    pub database: String,
    pub steps: Vec<Step>,
}

impl fmt::Display for ActorsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "actors_database {} -", self.database)?;
        for step in &self.steps {
            let name = format!("actors_{}_live", step.live);
            let per_actor = step.memory_growth / i64::try_from(step.live.max(1)).unwrap_or(1);
            writeln!(f)?;
            writeln!(
                f,
                "{name}_declare_time {:.2} s",
                step.declare_time.as_secs_f64()
            )?;
            writeln!(
                f,
                "{name}_declare_rate {:.0} incidents/s",
                step.live as f64 / step.declare_time.as_secs_f64().max(1e-9)
            )?;
            writeln!(
                f,
                "{name}_memory {:.1} MiB",
                step.memory_growth as f64 / (1024.0 * 1024.0)
            )?;
            write!(f, "{name}_memory_per_actor {per_actor} bytes")?;
        }
        Ok(())
    }
}

/// Declares up to each of `counts` live incidents in turn on one
/// application. Must run inside an actix system.
pub async fn run(
    mut counts: Vec<usize>,
    database_url: Option<String>,
) -> anyhow::Result<ActorsReport> {
    counts.sort_unstable();
    let database = BenchDatabase::new("actors", database_url);
    let mut settings = Settings::default();
    settings.server.addr = "127.0.0.1:0".parse()?;
    settings.database.url = Secret::new(database.url.clone());
    let app = Application::build(settings).await?;
    let before = resident_set_bytes()?;
    let started = Instant::now();
    let mut live = 0;
    let mut steps = Vec::new();
    for count in counts {
        let missing = count.saturating_sub(live);
        live += declare_many(&app.supervisor, missing, Platform::Api)
            .await?
            .len();
        let after = resident_set_bytes()?;
        steps.push(Step {
            live,
            declare_time: started.elapsed(),
            memory_growth: growth(before, after),
        });
    }
    Ok(ActorsReport {
        database: database.kind(),
        steps,
    })
}
