//! The command line: `validate`, `schema`, `render`, `serve`, `user`, and the auditor's
//! commands (`audit_cli`).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use sopflow_engine::render::Format;

use crate::audit_cli;
use crate::serve::Config;

#[derive(Parser)]
#[command(
    name = "sopflow",
    version,
    about = "Run government SOPs written as declarative YAML"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check SOP files: YAML, format, references, graph and guards. Prints every problem as
    /// FILE:LINE:COLUMN: field: message and exits 1 if there is any.
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print the JSON Schema of the SOP format (committed as sop-definitions/sop.schema.json).
    Schema,
    /// Draw an SOP: a Mermaid flowchart, a Graphviz digraph, or the official PermenPAN-RB
    /// 35/2012 table as one printable HTML page. The file must validate first; if it does
    /// not, its problems are printed (to standard error, as `validate` prints them) and the
    /// exit code is 1.
    Render {
        /// The SOP file (YAML).
        file: PathBuf,
        #[arg(long, value_enum)]
        format: RenderFormat,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Run the service (the REST API and the pages): loads and watches the definitions, runs
    /// the time-budget timer. On a store without an admin, creates one and prints its password.
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080].
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// sqlite://PATH or postgres://USER:PASSWORD@HOST/DB [default: sqlite://./sopflow.db].
        #[arg(long)]
        database: Option<String>,
        /// Directory of SOP YAML files [default: ./sop-definitions].
        #[arg(long)]
        definitions: Option<PathBuf>,
        /// Configuration file (TOML); flags override it.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Manage API users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Simulate cases of an SOP through the engine with a scenario of arrivals, staff and
    /// service times: waiting, budgets kept, utilisation (`--staff-for 0.95`: the smallest
    /// staff that keeps 95% of cases within budget); optionally fitted from a store.
    Simulate(sopflow_sim::SimulateArgs),
    /// SOP versions and which one new cases start on (sop_cli.rs).
    Sop {
        #[command(subcommand)]
        command: crate::sop_cli::SopCommand,
    },
    // The auditor's commands: audit verify|anchor, replay, export, report (audit_cli.rs).
    #[command(flatten)]
    Audit(audit_cli::AuditCommands),
}

#[derive(Clone, Copy, ValueEnum)]
enum RenderFormat {
    /// Mermaid flowchart source.
    Mermaid,
    /// Graphviz DOT source.
    Dot,
    /// The official SOP layout, self-contained HTML.
    Html,
}

impl From<RenderFormat> for Format {
    fn from(format: RenderFormat) -> Self {
        match format {
            RenderFormat::Mermaid => Format::Mermaid,
            RenderFormat::Dot => Format::Dot,
            RenderFormat::Html => Format::Html,
        }
    }
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user and print its token, once, alone on the last line. With `--password`
    /// (asked on the terminal) or `--password-stdin`, the user can also log in to the pages.
    Add {
        name: String,
        /// An SOP actor id (e.g. petugas_antrian), `admin` or `auditor`.
        #[arg(long)]
        role: String,
        /// Ask for a password on the terminal (twice, not shown).
        #[arg(long, conflicts_with = "password_stdin")]
        password: bool,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[arg(long, default_value = "sqlite://./sopflow.db")]
        database: String,
    },
    /// Set (or reset) a user's password for the pages: asked on the terminal, or read from
    /// standard input with `--password-stdin`. Ends none of their bearer tokens.
    Password {
        name: String,
        #[arg(long)]
        password_stdin: bool,
        #[arg(long, default_value = "sqlite://./sopflow.db")]
        database: String,
    },
    /// List users (never their tokens).
    List {
        #[arg(long, default_value = "sqlite://./sopflow.db")]
        database: String,
    },
}

/// Parses the command line and runs the command.
pub fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Validate { files } => validate(&files),
        Command::Schema => {
            print!("{}", sopflow_engine::sop::schema_json());
            Ok(ExitCode::SUCCESS)
        }
        Command::Render {
            file,
            format,
            output,
        } => render(&file, format.into(), output.as_deref()),
        Command::Serve {
            listen,
            database,
            definitions,
            config,
        } => {
            init_logging();
            let mut cfg = match config {
                Some(path) => Config::load(&path)?,
                None => Config::default(),
            };
            if let Some(listen) = listen {
                cfg.listen = listen;
            }
            if let Some(database) = database {
                cfg.database = database;
            }
            if let Some(definitions) = definitions {
                cfg.definitions = definitions;
            }
            runtime()?.block_on(crate::serve::run(cfg))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::User { command } => runtime()?.block_on(user(command)),
        Command::Simulate(args) => {
            let out = sopflow_sim::run(&args)?;
            for note in &out.notes {
                eprintln!("{note}");
            }
            print!("{}", out.stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Sop { command } => runtime()?.block_on(crate::sop_cli::run(command)),
        Command::Audit(command) => runtime()?.block_on(audit_cli::run(command)),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// JSON logs when `SOPFLOW_LOG_FORMAT=json`, readable text otherwise; `RUST_LOG` filters.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var("SOPFLOW_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn user(command: UserCommand) -> anyhow::Result<ExitCode> {
    match command {
        UserCommand::Add {
            name,
            role,
            password,
            password_stdin,
            database,
        } => {
            let valid = !role.is_empty()
                && role
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !valid {
                anyhow::bail!(
                    "role {role:?} is not an id: use an SOP actor id, `admin` or `auditor`"
                );
            }
            let store = sopflow_store::Store::connect(&database)
                .await
                .with_context(|| format!("cannot open {}", crate::serve::redact_url(&database)))?;
            // Asked before the user exists: a refused password adds nobody.
            let password_hash = if password || password_stdin {
                Some(read_password(password_stdin)?)
            } else {
                None
            };
            let (token, hash) = sopflow_core::auth::new_token()
                .map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
            store
                .add_user(&name, &role, &hash, time::OffsetDateTime::now_utc())
                .await
                .with_context(|| format!("cannot add user {name}"))?;
            if let Some(password_hash) = password_hash {
                store
                    .set_password_hash(&name, Some(&password_hash))
                    .await
                    .with_context(|| format!("cannot set the password of {name}"))?;
                println!("user {name} may log in to the pages with that password");
            }
            println!("user {name} added with role {role}; its token (shown once):");
            println!("{token}");
        }
        UserCommand::Password {
            name,
            password_stdin,
            database,
        } => {
            let store = sopflow_store::Store::connect(&database)
                .await
                .with_context(|| format!("cannot open {}", crate::serve::redact_url(&database)))?;
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
            let store = sopflow_store::Store::connect(&database).await?;
            for u in store.list_users().await? {
                println!("{}\t{}\t{}", u.name, u.role, u.created_at);
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

fn render(file: &Path, format: Format, output: Option<&Path>) -> anyhow::Result<ExitCode> {
    let name = file.display().to_string();
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {name}"))?;
    let sop = match sopflow_engine::sop::load(&text) {
        Ok(sop) => sop,
        Err(problems) => {
            // Standard error: stdout carries only the drawing, so `> sop.html` never captures
            // diagnostics.
            for p in &problems {
                eprintln!("{}", p.display_with(&name));
            }
            return Ok(ExitCode::FAILURE);
        }
    };
    let drawing = sopflow_engine::render::render(sop.document(), format);
    match output {
        Some(path) => std::fs::write(path, drawing)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => {
            // Not `print!`, which panics when the reader has gone (`| head`).
            let mut stdout = std::io::stdout().lock();
            match stdout
                .write_all(drawing.as_bytes())
                .and_then(|()| stdout.flush())
            {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    return Err(e).context("cannot write to standard output");
                }
                _ => {}
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn validate(files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    for file in files {
        let name = file.display().to_string();
        let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {name}"))?;
        match sopflow_engine::sop::load(&text) {
            Ok(sop) => {
                // Warnings first, located like errors; the file still validates.
                for w in sop.warnings() {
                    println!("{}", w.display_with(&name));
                }
                println!("{name}: ok ({} steps)", sop.step_count());
            }
            Err(problems) => {
                failed = true;
                for p in &problems {
                    println!("{}", p.display_with(&name));
                }
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
