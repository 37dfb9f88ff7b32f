//! `sopflow sop`: the SOP versions a store holds, and which one new cases start on.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use sopflow_core::registry::Registry;
use sopflow_core::releases::{self, Releaser};
use time::OffsetDateTime;

use crate::serve::Config;

const DEFAULT_DB: &str = "sqlite://./sopflow.db";

#[derive(Subcommand)]
pub enum SopCommand {
    /// The SOPs, their versions, and which version new cases start on now and later.
    List {
        #[arg(long, default_value = DEFAULT_DB)]
        database: String,
        /// Configuration file: the office's time zone (effective dates start at its midnight).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Chooses the version new cases of an SOP start on (a rollback is choosing an earlier
    /// one), at once or from a date; recorded with who and why. A running `sopflow serve`
    /// uses it for the next case it opens.
    Release {
        sop_id: String,
        version: u32,
        /// Why (recorded).
        #[arg(long)]
        reason: String,
        /// From this local date (YYYY-MM-DD, midnight at the office) instead of now.
        #[arg(long)]
        on: Option<String>,
        /// Who decides (recorded); default: the login name.
        #[arg(long)]
        by: Option<String>,
        #[arg(long, default_value = DEFAULT_DB)]
        database: String,
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

pub async fn run(command: SopCommand) -> anyhow::Result<ExitCode> {
    match command {
        SopCommand::List { database, config } => {
            let (store, registry) = open(&database, config.as_deref()).await?;
            let now = OffsetDateTime::now_utc();
            let offset = registry.utc_offset();
            for v in store.latest_sop_versions().await? {
                let all = store.releases(Some(&v.sop_id)).await?;
                let in_force = match releases::in_force(&all, now, offset) {
                    Some(r) => r.version.to_string(),
                    None if all.is_empty() => v.version.to_string(),
                    None => "none yet".to_owned(),
                };
                println!(
                    "{}\tlatest version {}\tin force: {in_force}",
                    v.sop_id, v.version
                );
                for r in releases::scheduled(&all, now, offset) {
                    println!(
                        "\tscheduled: version {} from {}",
                        r.version,
                        releases::takes_effect(r, offset)
                    );
                }
            }
        }
        SopCommand::Release {
            sop_id,
            version,
            reason,
            on,
            by,
            database,
            config,
        } => {
            let (store, registry) = open(&database, config.as_deref()).await?;
            let effective = on
                .map(|d| {
                    time::Date::parse(
                        &d,
                        time::macros::format_description!("[year]-[month]-[day]"),
                    )
                    .with_context(|| format!("--on {d:?} is not a date like 2027-01-01"))
                })
                .transpose()?;
            let releaser = Releaser {
                source: "cli".to_owned(),
                by: by
                    .or_else(|| std::env::var("USER").ok())
                    .unwrap_or_else(|| "cli".to_owned()),
                reason,
            };
            let release = registry
                .release(&store, &sop_id, version, effective, &releaser)
                .await?;
            println!(
                "{sop_id}: version {} for new cases from {} (release {})",
                release.version,
                releases::takes_effect(&release, registry.utc_offset()),
                release.id
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn open(
    database: &str,
    config: Option<&std::path::Path>,
) -> anyhow::Result<(sopflow_store::Store, Registry)> {
    let config = match config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let store = sopflow_store::Store::connect(database)
        .await
        .with_context(|| format!("cannot open {}", crate::serve::redact_url(database)))?;
    Ok((store, Registry::new(config.utc_offset()?)))
}
