//! The `sopflow` binary: the command line over the engine (and, later, the service).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use sopflow_engine::render::Format;

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

fn main() -> anyhow::Result<ExitCode> {
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
