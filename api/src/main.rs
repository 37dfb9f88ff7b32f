//! The `sopflow` binary: the command line over the engine (and, later, the service).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

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
}

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Validate { files } => validate(&files),
        Command::Schema => {
            print!("{}", sopflow_engine::sop::schema_json());
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn validate(files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    for file in files {
        let name = file.display().to_string();
        let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {name}"))?;
        match sopflow_engine::sop::load(&text) {
            Ok(sop) => println!("{name}: ok ({} steps)", sop.step_count()),
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
