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
        Command::Slack { .. } => {}
    }
    Ok(())
}
