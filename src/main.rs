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

#[derive(Debug, Subcommand)]
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
    },
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
    if let Command::Bench {
        command: BenchCommand::Rehydrate { incidents },
    } = &cli.command
    {
        let database = std::env::var("DATABASE_URL")
            .ok()
            .filter(|url| !url.is_empty());
        let report = firebreak::rehydrate_bench::run(*incidents, database)
            .await
            .context("rehydrate benchmark failed")?;
        println!("{report}");
        std::process::exit(0);
    }
    if let Command::Bench {
        command: BenchCommand::Commands {
            incidents,
            commands,
        },
    } = &cli.command
    {
        let report = firebreak::commands_bench::run(firebreak::commands_bench::CommandsOptions {
            incidents: incidents.clone(),
            commands: *commands,
            database_url: std::env::var("DATABASE_URL")
                .ok()
                .filter(|url| !url.is_empty()),
        })
        .await
        .context("commands benchmark failed")?;
        println!("{report}");
        // As for `bench ingest`: leave before the runtime is torn down
        // under the engine's database connections.
        std::process::exit(0);
    }
    if let Command::Bench {
        command: BenchCommand::Ingest { events, clients },
    } = cli.command
    {
        let report = firebreak::ingest_bench::run(firebreak::ingest_bench::IngestOptions {
            events: events as usize,
            clients: clients as usize,
            database_url: std::env::var("DATABASE_URL")
                .ok()
                .filter(|url| !url.is_empty()),
        })
        .await
        .context("ingest benchmark failed")?;
        println!("{report}");
        // The engine's actors still hold database connections; tearing the
        // runtime down under them is noise, not a result. Leave at once.
        std::process::exit(0);
    }
    if let Command::Bench {
        command: BenchCommand::Timers { count, spread_ms },
    } = cli.command
    {
        let options = firebreak::bench::TimerBenchOptions {
            count,
            spread: std::time::Duration::from_millis(spread_ms),
        };
        let report = firebreak::bench::run_timers(options)
            .await
            .context("timer benchmark failed")?;
        println!("{report}");
        if report.schedule_time > firebreak::bench::LEAD_TIME {
            eprintln!(
                "note: scheduling took longer than the {} ms lead time, so some timers \
                 fired while others were still being scheduled",
                firebreak::bench::LEAD_TIME.as_millis()
            );
        }
        if !report.is_complete() {
            anyhow::bail!(
                "only {} of {} timers fired before the timeout",
                report.fired(),
                report.scheduled
            );
        }
        return Ok(());
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
