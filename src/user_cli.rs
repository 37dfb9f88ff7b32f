//! `sopflow user`: API users, their roles and the service points where they hold them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use sopflow_core::auth::{ADMIN, AUDITOR};
use sopflow_core::registry::Registry;
use sopflow_store::{Membership, Store};

use crate::serve::Config;

const DEFAULT_DB: &str = "sqlite://./sopflow.db";

/// Where the roles and service points a user may be given are found.
#[derive(clap::Args)]
pub struct Known {
    #[arg(long, default_value = DEFAULT_DB)]
    database: String,
    /// The SOP files `serve` deploys: their roles are known before the first `serve`.
    #[arg(long, default_value = "./sop-definitions")]
    definitions: PathBuf,
    /// The configuration file: its service points are known before the first `serve`.
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user and print its token, once, alone on the last line. The role must be a
    /// built-in one (admin, auditor, display, supervisor) or one an SOP knows (an actor, a
    /// role that records a step or calls a queue); anything else is refused with the list.
    Add {
        name: String,
        /// An SOP role (e.g. petugas_antrian), `admin`, `auditor`, `display` or `supervisor`.
        #[arg(long)]
        role: String,
        /// A service point where the user holds the role (repeat for several; `*` for every
        /// one). Default: admins and auditors everywhere, others at the only service point
        /// (required when there are several).
        #[arg(long = "at")]
        at: Vec<String>,
        /// Ask for a password for the pages on the terminal (twice, not shown).
        #[arg(long, conflicts_with = "password_stdin")]
        password: bool,
        /// Read the password for the pages from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        known: Known,
    },
    /// Set (or reset) a user's password for the pages: asked on the terminal, or read from
    /// standard input with `--password-stdin`. Ends none of their bearer tokens.
    Password {
        name: String,
        #[arg(long)]
        password_stdin: bool,
        #[arg(long, default_value = DEFAULT_DB)]
        database: String,
    },
    /// Give a user one more role, or the same role at more service points.
    Grant {
        name: String,
        #[arg(long)]
        role: String,
        #[arg(long = "at", required = true)]
        at: Vec<String>,
        #[command(flatten)]
        known: Known,
    },
    /// List users, their roles and where they hold them (never their tokens).
    List {
        #[arg(long, default_value = DEFAULT_DB)]
        database: String,
    },
}

pub async fn run(command: UserCommand) -> anyhow::Result<ExitCode> {
    match command {
        UserCommand::Add {
            name,
            role,
            at,
            password,
            password_stdin,
            known,
        } => {
            let (store, memberships) = checked(&known, &role, &at).await?;
            // Asked before the user exists: a refused password adds nobody.
            let password_hash = if password || password_stdin {
                Some(read_password(password_stdin)?)
            } else {
                None
            };
            let (token, hash) = sopflow_core::auth::new_token()
                .map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
            store
                .add_user_with(
                    &name,
                    &role,
                    &hash,
                    &memberships,
                    time::OffsetDateTime::now_utc(),
                )
                .await
                .with_context(|| format!("cannot add user {name}"))?;
            if let Some(password_hash) = password_hash {
                store
                    .set_password_hash(&name, Some(&password_hash))
                    .await
                    .with_context(|| format!("cannot set the password of {name}"))?;
                println!("user {name} may log in to the pages with that password");
            }
            let places = describe(&memberships);
            println!("user {name} added with role {role}{places}; its token (shown once):");
            println!("{token}");
        }
        UserCommand::Grant {
            name,
            role,
            at,
            known,
        } => {
            let (store, memberships) = checked(&known, &role, &at).await?;
            for m in &memberships {
                store
                    .grant(&name, m)
                    .await
                    .with_context(|| format!("cannot grant {role} to {name}"))?;
            }
            println!("user {name} holds role {role}{}", describe(&memberships));
        }
        UserCommand::Password {
            name,
            password_stdin,
            database,
        } => {
            let store = connect(&database).await?;
            if store.credentials(&name).await?.is_none() {
                anyhow::bail!("no user {name}");
            }
            let hash = read_password(password_stdin)?;
            store
                .set_password_hash(&name, Some(&hash))
                .await
                .with_context(|| format!("cannot set the password of {name}"))?;
            println!("password of {name} set");
        }
        UserCommand::List { database } => {
            let store = connect(&database).await?;
            for u in store.list_users().await? {
                let held = store.memberships(&u.name).await?;
                let held = if held.is_empty() {
                    format!("{} (default)", u.role)
                } else {
                    held.iter()
                        .map(|m| format!("{}@{}", m.role, m.service_point))
                        .collect::<Vec<_>>()
                        .join(",")
                };
                println!("{}\t{}\t{}", u.name, held, u.created_at);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A new password, hashed: the first line of standard input, or asked twice on the terminal.
fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        let first = rpassword::prompt_password("Password: ").context("cannot read the password")?;
        let again = rpassword::prompt_password("Again: ").context("cannot read the password")?;
        if first != again {
            anyhow::bail!("the two passwords differ");
        }
        first
    };
    sopflow_core::auth::hash_password(&password).map_err(|e| anyhow::anyhow!("{e}"))
}

fn describe(memberships: &[Membership]) -> String {
    if memberships.is_empty() {
        return " at the default service point".to_owned();
    }
    let at: Vec<&str> = memberships
        .iter()
        .map(|m| match m.service_point.as_str() {
            Membership::EVERYWHERE => "every service point",
            other => other,
        })
        .collect();
    format!(" at {}", at.join(", "))
}

async fn connect(database: &str) -> anyhow::Result<Store> {
    Store::connect(database)
        .await
        .with_context(|| format!("cannot open {}", crate::serve::redact_url(database)))
}

/// The store, and the memberships of `role` at `at`, once the role and the service points
/// are known ones.
async fn checked(
    known: &Known,
    role: &str,
    at: &[String],
) -> anyhow::Result<(Store, Vec<Membership>)> {
    let config = match &known.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let store = connect(&known.database).await?;
    let registry = Registry::new(config.utc_offset()?);
    let mut roles = sopflow_core::access::known_roles(&store, &registry).await?;
    roles.extend(folder_roles(&known.definitions));
    if !roles.contains(role) {
        anyhow::bail!(
            "unknown role {role:?}: the known roles are {}",
            roles.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    let mut points: BTreeSet<String> = store
        .service_points()
        .await?
        .into_iter()
        .map(|p| p.id)
        .collect();
    points.extend(config.service_points.iter().map(|p| p.id.clone()));
    if points.is_empty() {
        // What the first `serve` creates.
        points.insert(sopflow_core::offices::DEFAULT_POINT.to_owned());
    }
    let list = || points.iter().cloned().collect::<Vec<_>>().join(", ");
    let mut memberships = Vec::new();
    for point in at {
        if point != Membership::EVERYWHERE && !points.contains(point) {
            anyhow::bail!(
                "unknown service point {point:?}: the service points are {} (or `*` for every one)",
                list()
            );
        }
        memberships.push(Membership {
            role: role.to_owned(),
            service_point: point.clone(),
        });
    }
    if memberships.is_empty() {
        if role == ADMIN || role == AUDITOR {
            memberships.push(Membership {
                role: role.to_owned(),
                service_point: Membership::EVERYWHERE.to_owned(),
            });
        } else if points.len() > 1 {
            anyhow::bail!(
                "say where {role} works: --at one of {} (or `*` for every one)",
                list()
            );
        }
        // One service point: the user works at the default one (see `default_memberships`).
    }
    Ok((store, memberships))
}

/// The roles of the SOP files in `dir` that validate (nothing when there is no such folder).
fn folder_roles(dir: &Path) -> BTreeSet<String> {
    let mut roles = BTreeSet::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return roles;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let yaml = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
        if !yaml {
            continue;
        }
        if let Ok(text) = std::fs::read_to_string(&path)
            && let Ok(sop) = sopflow_engine::sop::load(&text)
        {
            roles.extend(sopflow_core::access::working_roles(&sop));
        }
    }
    roles
}
