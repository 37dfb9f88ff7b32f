//! sopflow's pure core: the SOP language and the execution of cases.
//!
//! # Layout
//! - [`sop`]: the YAML model, loading with located diagnostics, validation, compilation;
//! - [`guard`]: the sandboxed rhai engine that evaluates branch and document conditions;
//! - [`render`]: Mermaid, Graphviz and the official HTML table of an SOP.
//!
//! **Architecture invariant:** no I/O. Nothing here reads a clock, a file, the network or a
//! random source; text and time come in as arguments. That keeps a case a pure fold of its
//! events, replayable by an auditor years later.

pub mod case;
pub mod guard;
pub mod render;
pub mod sop;
