//! `sopflow simulate`: cases of any SOP through the real engine on simulated time.
//!
//! A [`scenario::Scenario`] (TOML) says who comes when, who works when, how long each step
//! takes and what data and documents applicants bring; [`model::Model::compile`] checks it
//! against the compiled SOP; [`sim::run_replication`] runs one replication, every case an
//! engine case driven by `execute_in_place`; [`report`] combines replications into figures
//! with 95% confidence intervals.

pub mod cli;
pub mod dist;
pub mod duration;
pub mod fit;
pub mod history;
pub mod model;
pub mod render;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod search;
pub mod sim;
pub mod stats;

pub use cli::{Output, OutputFormat, SimulateArgs, run};

/// Why a simulation could not run.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    /// The SOP does not validate: its problems as `FILE:LINE:COLUMN: field: message`.
    #[error("{}", .0.join("\n"))]
    Sop(Vec<String>),
    /// The scenario is not TOML of the scenario format (the text says where).
    #[error("{file}: {message}")]
    ScenarioSyntax { file: String, message: String },
    /// The scenario does not fit the SOP: every problem, by key.
    #[error("{file}: the scenario does not fit SOP `{sop}`:\n{}", problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Scenario {
        file: String,
        sop: String,
        problems: Vec<String>,
    },
    /// The engine refused a command the scenario led to (e.g. data its case schema refuses).
    #[error(
        "replication {rep}, case {case}, at step `{step}`: the engine refused {command}: {reason} \
         (the scenario must give what the SOP requires there)"
    )]
    Refused {
        rep: u32,
        case: u64,
        step: String,
        command: String,
        reason: String,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("store: {0}")]
    Store(#[from] sopflow_store::Error),
    #[error("internal error of the simulation: {0}")]
    Internal(&'static str),
}
