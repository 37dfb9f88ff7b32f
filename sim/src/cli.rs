//! `sopflow simulate`: the flags ([`SimulateArgs`]) and the whole command ([`run`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sopflow_engine::sop::Sop;
use time::{OffsetDateTime, UtcOffset};

use crate::SimError;
use crate::fit::{Fitter, read_store, to_toml};
use crate::model::{CompileOptions, Model};
use crate::report::{Report, simulate};
use crate::scenario::Scenario;

/// Simulate cases of an SOP through the real engine: will it keep its time budgets with
/// this many staff and this many applicants?
#[derive(Debug, Clone, clap::Args)]
pub struct SimulateArgs {
    /// The SOP file (YAML).
    pub sop: PathBuf,
    /// The scenario (TOML): arrivals, staff and their hours, times, data; with --fit-from,
    /// what a fit cannot tell (seed, replications, delays, attended adapters).
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// Fit the scenario from the cases of this SOP in a store: sqlite://PATH or
    /// postgres://USER:PASSWORD@HOST/DB.
    #[arg(long, value_name = "DATABASE")]
    pub fit_from: Option<String>,
    /// With --fit-from: cases opened from this time (RFC 3339, or YYYY-MM-DD at the
    /// scenario's UTC offset) [default: 30 days before --to].
    #[arg(long, requires = "fit_from")]
    pub from: Option<String>,
    /// With --fit-from: cases opened before this time [default: now].
    #[arg(long, requires = "fit_from")]
    pub to: Option<String>,
    /// With --fit-from: write the fitted scenario (TOML) to edit and simulate again.
    #[arg(long, value_name = "FILE", requires = "fit_from")]
    pub write_fit: Option<PathBuf>,
    /// Search the smallest staff per role that keeps this share of cases within budget
    /// (e.g. 0.95).
    #[arg(long, value_name = "SHARE")]
    pub staff_for: Option<f64>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Write the report to this file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replications, instead of the scenario's.
    #[arg(long)]
    pub replications: Option<u32>,
    /// Master seed, instead of the scenario's.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Days to simulate, instead of the scenario's.
    #[arg(long)]
    pub days: Option<u32>,
    /// Also write the first replication's cases as real event histories into this store
    /// (a separate one: never the office's own), for `sopflow report`, replay and the pages.
    #[arg(long, value_name = "DATABASE")]
    pub write_histories: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Tables for the terminal.
    Table,
    /// The whole report as JSON.
    Json,
    /// A self-contained, printable HTML page with SVG charts.
    Html,
}

/// What the command produced.
#[derive(Debug)]
pub struct Output {
    pub report: Report,
    /// The report in the format asked for.
    pub rendered: String,
    /// Written to `--output`, or to be printed.
    pub written_to: Option<PathBuf>,
    /// The fitted scenario (TOML), when `--fit-from` was given.
    pub fitted: Option<String>,
    /// What the fit says about itself, and files written: for standard error.
    pub notes: Vec<String>,
}

impl Output {
    /// What goes to standard output: the report, unless it went to a file.
    pub fn stdout(&self) -> &str {
        if self.written_to.is_some() {
            ""
        } else {
            &self.rendered
        }
    }
}

fn read(path: &Path) -> Result<String, SimError> {
    std::fs::read_to_string(path).map_err(|source| SimError::Read {
        path: path.display().to_string(),
        source,
    })
}

fn write(path: &Path, text: &str) -> Result<(), SimError> {
    std::fs::write(path, text).map_err(|source| SimError::Write {
        path: path.display().to_string(),
        source,
    })
}

/// Loads and compiles an SOP file; its problems as `FILE:LINE:COLUMN: field: message`.
pub fn load_sop(path: &Path) -> Result<Sop, SimError> {
    let text = read(path)?;
    let name = path.display().to_string();
    sopflow_engine::sop::load(&text).map_err(|problems| {
        SimError::Sop(
            problems
                .iter()
                .map(|p| p.display_with(&name).to_string())
                .collect(),
        )
    })
}

/// Reads a scenario file.
pub fn load_scenario(path: &Path) -> Result<Scenario, SimError> {
    let text = read(path)?;
    Scenario::parse(&text).map_err(|e| SimError::ScenarioSyntax {
        file: path.display().to_string(),
        message: e.to_string(),
    })
}

/// Compiles `scenario` for `sop`, naming `file` in its problems.
pub fn compile(
    sop: Arc<Sop>,
    scenario: &Scenario,
    file: &str,
    options: CompileOptions,
) -> Result<Model, SimError> {
    let id = sop.id().to_owned();
    Model::compile(sop, scenario, options).map_err(|problems| SimError::Scenario {
        file: file.to_owned(),
        sop: id,
        problems,
    })
}

/// A time flag: RFC 3339, or a date at local midnight.
fn instant(text: &str, offset: UtcOffset, flag: &str) -> Result<OffsetDateTime, SimError> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(t);
    }
    time::Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map(|d| d.midnight().assume_offset(offset))
    .map_err(|_| {
        SimError::Invalid(format!(
            "{flag} {text:?}: expected RFC 3339 (2026-03-01T00:00:00+07:00) or a date (2026-03-01)"
        ))
    })
}

/// Runs replication 0 of `model` again keeping its histories, and writes them to the store
/// at `url` (the SOP text deployed there first, so the cases are pinned to its version).
pub fn write_histories(model: &Model, yaml: &str, url: &str) -> Result<usize, SimError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| SimError::Read {
            path: "the store".into(),
            source,
        })?;
    runtime.block_on(async {
        let store = sopflow_store::Store::connect(url).await?;
        let result = async {
            let version = crate::history::deploy(&store, &model.sop, yaml, model.base).await?;
            let mut model = model.clone();
            model.sop_version = version;
            let out = crate::sim::run_replication(&model, 0, true)?;
            crate::history::write(&store, &model.sop, version, model.seed, &out.histories).await
        }
        .await;
        store.close().await;
        result
    })
}

/// The whole `sopflow simulate` command: load, fit (if asked), simulate (or search a
/// staffing), render, and write the files asked for. The caller prints
/// [`Output::stdout`] and the notes (to standard error).
pub fn run(args: &SimulateArgs) -> Result<Output, SimError> {
    let sop = Arc::new(load_sop(&args.sop)?);
    let base = match &args.scenario {
        Some(path) => Some(load_scenario(path)?),
        None => None,
    };
    let mut notes = Vec::new();
    let (mut scenario, source, fitted) = match (&args.fit_from, base) {
        (None, None) => {
            return Err(SimError::Invalid(
                "give a scenario (--scenario FILE) or a store to fit one from (--fit-from DATABASE)"
                    .into(),
            ));
        }
        (None, Some(s)) => {
            let file = args
                .scenario
                .as_ref()
                .and_then(|p| p.file_name())
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            (s, file, None)
        }
        (Some(url), base) => {
            let offset = base
                .as_ref()
                .and_then(|b| {
                    UtcOffset::parse(
                        &b.time_zone,
                        time::macros::format_description!(
                            "[offset_hour sign:mandatory]:[offset_minute]"
                        ),
                    )
                    .ok()
                })
                .unwrap_or(time::macros::offset!(+7));
            let to = match &args.to {
                Some(t) => instant(t, offset, "--to")?,
                None => OffsetDateTime::now_utc(),
            };
            let from = match &args.from {
                Some(f) => instant(f, offset, "--from")?,
                None => to - time::Duration::days(30),
            };
            if from >= to {
                return Err(SimError::Invalid("--from must be before --to".into()));
            }
            let point = base
                .as_ref()
                .and_then(|b| b.service_points.keys().next().cloned())
                .unwrap_or_else(|| "default".to_owned());
            let mut fitter = Fitter::new(&sop, offset);
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|source| SimError::Read {
                    path: "the store".into(),
                    source,
                })?;
            runtime.block_on(async {
                let store = sopflow_store::Store::connect(url).await?;
                let read = read_store(&store, &mut fitter, from, to).await;
                store.close().await;
                read
            })?;
            let fit = fitter.finish(base.as_ref(), from, to, &point)?;
            notes.extend(fit.notes.iter().cloned());
            let text = to_toml(&fit.scenario, &fit.notes);
            if let Some(path) = &args.write_fit {
                write(path, &text)?;
                notes.push(format!("fitted scenario written to {}", path.display()));
            }
            (
                fit.scenario,
                format!("fitted from {} cases", fit.cases),
                Some(text),
            )
        }
    };
    if let Some(r) = args.replications {
        scenario.replications = r;
    }
    if let Some(s) = args.seed {
        scenario.seed = s;
    }
    if let Some(d) = args.days {
        scenario.days = d;
    }
    let options = CompileOptions {
        allow_unstaffed: args.staff_for.is_some(),
    };
    let model = compile(sop, &scenario, &source, options)?;
    let (model, report) = match args.staff_for {
        Some(target) => {
            let (found, search, tallies) = crate::search::staff_for(&model, target)?;
            let mut report = Report::new(&found, tallies, &source, &scenario.start);
            report.staffing = Some(search);
            (found, report)
        }
        None => {
            let tallies = simulate(&model)?;
            let report = Report::new(&model, tallies, &source, &scenario.start);
            (model, report)
        }
    };
    if let Some(url) = &args.write_histories {
        let n = write_histories(&model, &read(&args.sop)?, url)?;
        notes.push(format!("{n} simulated case histories written to the store"));
    }
    let rendered = match args.format {
        OutputFormat::Table => crate::render::table_text(&report),
        OutputFormat::Json => {
            let mut text = serde_json::to_string_pretty(&report)
                .map_err(|e| SimError::Invalid(format!("cannot write the report as JSON: {e}")))?;
            text.push('\n');
            text
        }
        OutputFormat::Html => crate::render::html(&report),
    };
    if let Some(path) = &args.output {
        write(path, &rendered)?;
        notes.push(format!("report written to {}", path.display()));
    }
    Ok(Output {
        report,
        rendered,
        written_to: args.output.clone(),
        fitted,
        notes,
    })
}
