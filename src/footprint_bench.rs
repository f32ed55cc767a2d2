//! `firebreak bench footprint`: what Firebreak costs to keep running. The
//! resident set of an idle process, the time from start to ready on an
//! empty database and on one with many open incidents, and the size of
//! the binary (meaningful for a release build).

use crate::bench::{resident_set_bytes, BenchDatabase};
use crate::config::{Secret, Settings};
use crate::rehydrate_bench::RehydrateReport;
use crate::startup::Application;
use std::fmt;
use std::time::{Duration, Instant};

pub struct FootprintReport {
    pub database: String,
    pub idle_rss: u64,
    pub empty_start_to_ready: Duration,
    pub loaded: RehydrateReport,
    pub binary_bytes: u64,
    pub profile: &'static str,
}

impl fmt::Display for FootprintReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MIB: f64 = 1024.0 * 1024.0;
        writeln!(f, "footprint_database {} -", self.database)?;
        writeln!(f, "footprint_build {} -", self.profile)?;
        writeln!(
            f,
            "footprint_binary_size {:.1} MiB",
            self.binary_bytes as f64 / MIB
        )?;
        writeln!(
            f,
            "footprint_idle_rss {:.1} MiB",
            self.idle_rss as f64 / MIB
        )?;
        writeln!(
            f,
            "footprint_start_to_ready_empty {:.0} ms",
            self.empty_start_to_ready.as_secs_f64() * 1e3
        )?;
        write!(
            f,
            "footprint_start_to_ready_{}_incidents {:.2} s",
            self.loaded.incidents,
            self.loaded.start_to_ready.as_secs_f64()
        )
    }
}

/// Must run inside an actix system.
pub async fn run(
    incidents: usize,
    database_url: Option<String>,
) -> anyhow::Result<FootprintReport> {
    let binary_bytes = std::env::current_exe()
        .and_then(std::fs::metadata)
        .map(|metadata| metadata.len())
        .unwrap_or(0);
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };

    // Idle: an application on an empty database that has been left alone
    // for a moment, so start-up's transient allocations are settled.
    let empty = BenchDatabase::new("footprint", None);
    let mut settings = Settings::default();
    settings.server.addr = "127.0.0.1:0".parse()?;
    settings.database.url = Secret::new(empty.url.clone());
    let starting = Instant::now();
    let app = Application::build(settings).await?;
    let empty_start_to_ready = starting.elapsed();
    actix::spawn(app.run_until_stopped());
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_rss = resident_set_bytes()?;

    let loaded = crate::rehydrate_bench::run(incidents, database_url).await?;
    Ok(FootprintReport {
        database: loaded.database.clone(),
        idle_rss,
        empty_start_to_ready,
        loaded,
        binary_bytes,
        profile,
    })
}
