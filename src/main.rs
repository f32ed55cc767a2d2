//! `firebreak`: the incident-response bot.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use firebreak::config::Settings;
use firebreak::startup::{connect_and_migrate, Application};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "firebreak",
    version,
    about = "Incident-response chat bot for Slack, Microsoft Teams and Matrix"
)]
struct Cli {
    /// Configuration file; missing is fine (defaults and environment apply).
    #[arg(long, global = true, default_value = "firebreak.toml")]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Migrate the database, then serve webhooks, the admin API and the engine.
    Serve,
    /// Bring the database schema up to date and exit.
    Migrate,
    /// Slack helpers.
    Slack {
        #[command(subcommand)]
        command: SlackCommand,
    },
    /// Microsoft Teams helpers.
    Teams {
        #[command(subcommand)]
        command: TeamsCommand,
    },
    /// Measure parts of the engine and print `name value unit` lines.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Debug, Clone, PartialEq, Subcommand)]
enum BenchCommand {
    /// Open incidents in the database: time from start to ready, and the
    /// memory each live incident actor holds.
    Rehydrate {
        #[arg(long, default_value_t = 10_000)]
        incidents: usize,
    },
    /// Chat commands applied end to end (inbox → actor → store → chat)
    /// with 1, 100, 10,000 … live incidents: commands/s and latency.
    Commands {
        /// Live incident counts, comma separated.
        #[arg(long, value_delimiter = ',', default_values_t = vec![1, 100, 10_000])]
        incidents: Vec<usize>,
        /// Commands per count.
        #[arg(long, default_value_t = 2_000)]
        commands: usize,
    },
    /// Signed Slack events over loopback HTTP into the durable inbox:
    /// acks/s and ack latency, beside a bare handler under the same load.
    Ingest {
        #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..))]
        events: u64,
        /// Concurrent keep-alive clients.
        #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..))]
        clients: u64,
        /// Events per second of the paced phase (ack latency at a steady rate).
        #[arg(long, default_value_t = 1_000.0)]
        paced_rate: f64,
    },
    /// An alert storm declared through the API on a fake Slack that
    /// enforces Slack's rate limits: time to drain, 429s drawn.
    Storm {
        #[arg(long, default_value_t = 500)]
        incidents: usize,
        /// The declarations are spread over this many seconds.
        #[arg(long, default_value_t = 10)]
        within_s: u64,
        /// How many times faster than Slack the fake's limits (and the
        /// bot's pacing) run, so the storm drains in seconds.
        #[arg(long, default_value_t = 30.0)]
        speed: f64,
        /// Send Alertmanager alerts (one per delivery) instead of API
        /// declarations, spread over this many services: reports the
        /// incidents opened per alert.
        #[arg(long)]
        alert_services: Option<usize>,
    },
    /// Memory per live incident actor and the time to declare them.
    Actors {
        /// Live incident counts, comma separated.
        #[arg(long, value_delimiter = ',', default_values_t = vec![10_000, 100_000])]
        incidents: Vec<usize>,
    },
    /// Idle memory, start-up time (empty and loaded), binary size.
    Footprint {
        /// Open incidents in the loaded database.
        #[arg(long, default_value_t = 100_000)]
        incidents: usize,
    },
    /// Sustained mixed traffic (Slack events, API commands, listings):
    /// errors, latency, memory at start and end.
    Load {
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Requests per second; half the measured ingest rate if not given.
        #[arg(long)]
        rate: Option<f64>,
    },
    /// Every scenario above with its defaults, one table after another.
    All,
    /// Schedule timers on the real clock: time, memory and lateness.
    Timers {
        /// How many incidents get one timer each.
        #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
        count: u64,
        /// Due times are spread uniformly over this many milliseconds,
        /// starting 500 ms from now.
        #[arg(long, default_value_t = 2_000)]
        spread_ms: u64,
    },
}

#[derive(Debug, Subcommand)]
enum SlackCommand {
    /// Print the Slack app manifest to paste at api.slack.com/apps.
    Manifest {
        /// The public base URL Slack will call (https://bot.example.com).
        #[arg(long)]
        url: String,
    },
}

#[derive(Debug, Subcommand)]
enum TeamsCommand {
    /// Write the Teams app package (manifest.json and icons, zipped) to
    /// upload in Teams.
    Manifest {
        /// The bot's Microsoft App ID (a GUID).
        #[arg(long)]
        app_id: String,
        /// The public base URL Teams will call (https://bot.example.com).
        #[arg(long)]
        url: String,
        /// Where to write the package.
        #[arg(long, default_value = "firebreak-teams.zip")]
        out: std::path::PathBuf,
    },
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Slack {
        command: SlackCommand::Manifest { url },
    } = &cli.command
    {
        let manifest = firebreak::slack_manifest::manifest(url);
        println!("{}", serde_json::to_string_pretty(&manifest)?);
        return Ok(());
    }
    if let Command::Teams {
        command: TeamsCommand::Manifest { app_id, url, out },
    } = &cli.command
    {
        let package = firebreak::teams_manifest::TeamsPackage::new(app_id, url)?;
        if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("could not create {}", parent.display()))?;
        }
        std::fs::write(out, package.zip())
            .with_context(|| format!("could not write {}", out.display()))?;
        println!("{}", out.display());
        return Ok(());
    }
    if let Command::Bench { command } = cli.command {
        let database = std::env::var("DATABASE_URL")
            .ok()
            .filter(|url| !url.is_empty());
        let scenarios = match command {
            BenchCommand::All => all_scenarios(),
            single => vec![single],
        };
        if let [scenario] = &scenarios[..] {
            println!("{}", run_bench(scenario.clone(), database).await?);
        } else {
            // Each scenario in a process of its own, so none inherits the
            // memory or the live actors of the one before.
            let program = std::env::current_exe().context("where is this program?")?;
            for (n, scenario) in scenarios.iter().enumerate() {
                if n > 0 {
                    println!();
                }
                let args = bench_args(scenario);
                let status = std::process::Command::new(&program)
                    .arg("bench")
                    .args(&args)
                    .status()
                    .with_context(|| format!("could not run bench {}", args.join(" ")))?;
                anyhow::ensure!(status.success(), "bench {} failed", args.join(" "));
            }
        }
        // The engine's actors still hold database connections; tearing the
        // runtime down under them is noise, not a result. Leave at once.
        std::process::exit(0);
    }
    let settings = Settings::load(&cli.config, std::env::vars().collect())?;
    firebreak::telemetry::init(&settings.log);
    match cli.command {
        Command::Serve => {
            if settings.api.token.is_none() {
                tracing::warn!(
                    "no API token configured: the admin API is open to anyone on this machine"
                );
            }
            let application = Application::build(settings).await?;
            application
                .run_until_stopped()
                .await
                .context("server failed")?;
        }
        Command::Migrate => {
            connect_and_migrate(settings.database.url.expose()).await?;
            tracing::info!("database is up to date");
        }
        Command::Slack { .. } | Command::Teams { .. } | Command::Bench { .. } => {}
    }
    Ok(())
}

/// Runs one scenario and returns its table. Must run inside an actix
/// system.
async fn run_bench(command: BenchCommand, database: Option<String>) -> anyhow::Result<String> {
    use firebreak::*;
    Ok(match command {
        BenchCommand::Rehydrate { incidents } => rehydrate_bench::run(incidents, database)
            .await
            .context("rehydrate benchmark failed")?
            .to_string(),
        BenchCommand::Commands {
            incidents,
            commands,
        } => commands_bench::run(commands_bench::CommandsOptions {
            incidents,
            commands,
            database_url: database,
        })
        .await
        .context("commands benchmark failed")?
        .to_string(),
        BenchCommand::Ingest {
            events,
            clients,
            paced_rate,
        } => ingest_bench::run(ingest_bench::IngestOptions {
            events: events as usize,
            clients: clients as usize,
            paced_rate,
            database_url: database,
        })
        .await
        .context("ingest benchmark failed")?
        .to_string(),
        BenchCommand::Storm {
            incidents,
            within_s,
            speed,
            alert_services,
        } => storm_bench::run(storm_bench::StormOptions {
            incidents,
            within: std::time::Duration::from_secs(within_s),
            speed,
            database_url: database,
            alert_services,
        })
        .await
        .context("storm benchmark failed")?
        .to_string(),
        BenchCommand::Actors { incidents } => actors_bench::run(incidents, database)
            .await
            .context("actors benchmark failed")?
            .to_string(),
        BenchCommand::Footprint { incidents } => footprint_bench::run(incidents, database)
            .await
            .context("footprint benchmark failed")?
            .to_string(),
        BenchCommand::Load { seconds, rate } => load_bench::run(load_bench::LoadOptions {
            duration: std::time::Duration::from_secs(seconds),
            rate,
            database_url: database,
        })
        .await
        .context("load benchmark failed")?
        .to_string(),
        BenchCommand::Timers { count, spread_ms } => {
            let options = bench::TimerBenchOptions {
                count,
                spread: std::time::Duration::from_millis(spread_ms),
            };
            let report = bench::run_timers(options)
                .await
                .context("timer benchmark failed")?;
            if report.schedule_time > bench::LEAD_TIME {
                eprintln!(
                    "note: scheduling took longer than the {} ms lead time, so some timers \
                     fired while others were still being scheduled",
                    bench::LEAD_TIME.as_millis()
                );
            }
            if !report.is_complete() {
                anyhow::bail!(
                    "only {} of {} timers fired before the timeout",
                    report.fired(),
                    report.scheduled
                );
            }
            report.to_string()
        }
        BenchCommand::All => anyhow::bail!("`all` runs the others; it is not one of them"),
    })
}

/// What `bench all` runs, each with its defaults.
fn all_scenarios() -> Vec<BenchCommand> {
    vec![
        BenchCommand::Timers {
            count: 100_000,
            spread_ms: 2_000,
        },
        BenchCommand::Ingest {
            events: 20_000,
            clients: 32,
            paced_rate: 1_000.0,
        },
        BenchCommand::Commands {
            incidents: vec![1, 100, 10_000],
            commands: 2_000,
        },
        BenchCommand::Actors {
            incidents: vec![10_000, 100_000],
        },
        BenchCommand::Rehydrate { incidents: 10_000 },
        BenchCommand::Storm {
            incidents: 500,
            within_s: 10,
            speed: 30.0,
            alert_services: None,
        },
        BenchCommand::Storm {
            incidents: 500,
            within_s: 10,
            speed: 30.0,
            alert_services: Some(10),
        },
        BenchCommand::Footprint { incidents: 100_000 },
        BenchCommand::Load {
            seconds: 60,
            rate: None,
        },
    ]
}

/// The command line that runs `scenario` on its own.
fn bench_args(scenario: &BenchCommand) -> Vec<String> {
    let list = |values: &[usize]| {
        values
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    let args: Vec<String> = match scenario {
        BenchCommand::Rehydrate { incidents } => {
            vec![
                "rehydrate".into(),
                "--incidents".into(),
                incidents.to_string(),
            ]
        }
        BenchCommand::Commands {
            incidents,
            commands,
        } => vec![
            "commands".into(),
            "--incidents".into(),
            list(incidents),
            "--commands".into(),
            commands.to_string(),
        ],
        BenchCommand::Ingest {
            events,
            clients,
            paced_rate,
        } => vec![
            "ingest".into(),
            "--events".into(),
            events.to_string(),
            "--clients".into(),
            clients.to_string(),
            "--paced-rate".into(),
            paced_rate.to_string(),
        ],
        BenchCommand::Storm {
            incidents,
            within_s,
            speed,
            alert_services,
        } => {
            let mut args = vec![
                "storm".into(),
                "--incidents".into(),
                incidents.to_string(),
                "--within-s".into(),
                within_s.to_string(),
                "--speed".into(),
                speed.to_string(),
            ];
            if let Some(services) = alert_services {
                args.extend(["--alert-services".into(), services.to_string()]);
            }
            args
        }
        BenchCommand::Actors { incidents } => {
            vec!["actors".into(), "--incidents".into(), list(incidents)]
        }
        BenchCommand::Footprint { incidents } => {
            vec![
                "footprint".into(),
                "--incidents".into(),
                incidents.to_string(),
            ]
        }
        BenchCommand::Load { seconds, rate } => {
            let mut args = vec!["load".into(), "--seconds".into(), seconds.to_string()];
            if let Some(rate) = rate {
                args.extend(["--rate".into(), rate.to_string()]);
            }
            args
        }
        BenchCommand::Timers { count, spread_ms } => vec![
            "timers".into(),
            "--count".into(),
            count.to_string(),
            "--spread-ms".into(),
            spread_ms.to_string(),
        ],
        BenchCommand::All => vec!["all".into()],
    };
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_of_bench_all_runs_alone_with_the_same_settings() {
        for scenario in all_scenarios() {
            let args = bench_args(&scenario);
            let parsed = Cli::try_parse_from(
                ["firebreak", "bench"]
                    .into_iter()
                    .map(str::to_owned)
                    .chain(args.clone()),
            )
            .unwrap_or_else(|error| panic!("bench {}: {error}", args.join(" ")));
            match parsed.command {
                Command::Bench { command } => assert_eq!(command, scenario),
                other => panic!("bench {} parsed as {other:?}", args.join(" ")),
            }
        }
    }
}
