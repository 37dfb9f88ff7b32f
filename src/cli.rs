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
    /// Draw an SOP: a Mermaid flowchart, a Graphviz digraph, an SVG flowchart, or the
    /// official PermenPAN-RB 35/2012 table as one printable HTML page. The file must validate first; if it does
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
        command: crate::user_cli::UserCommand,
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
    /// A swimlane flowchart as one SVG drawing (no script, no style sheet).
    Svg,
}

impl From<RenderFormat> for Format {
    fn from(format: RenderFormat) -> Self {
        match format {
            RenderFormat::Mermaid => Format::Mermaid,
            RenderFormat::Dot => Format::Dot,
            RenderFormat::Html => Format::Html,
            RenderFormat::Svg => Format::Svg,
        }
    }
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
        Command::User { command } => runtime()?.block_on(crate::user_cli::run(command)),
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
