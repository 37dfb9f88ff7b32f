//! `sopflow`: the binary's library. It wires the crates of the workspace into the `sopflow`
//! command: [`cli`] (the command line), [`serve`] (start-up of the service and its faces), [`sop_cli`] (versions and releases), [`user_cli`] (users,
//! their roles and service points),
//! [`audit_cli`] (the auditor's commands), [`integrity_cli`] (the log's key and checkpoints,
//! proofs, erasure, backup and restore, and the tasks `serve` runs for them). `anyhow` lives
//! here, at the edge, and nowhere below.

pub mod audit_cli;
pub mod cli;
pub mod integrity_cli;
pub mod serve;
pub mod sop_cli;
pub mod user_cli;
