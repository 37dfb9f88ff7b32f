//! `sopflow`: the binary's library. It wires the crates of the workspace into the `sopflow`
//! command: [`cli`] (the command line), [`serve`] (start-up of the service and its faces), [`sop_cli`] (versions and releases), [`user_cli`] (users,
//! their roles and service points) and
//! [`audit_cli`] (the auditor's commands). `anyhow` lives here, at the edge, and nowhere below.

pub mod audit_cli;
pub mod cli;
pub mod serve;
pub mod sop_cli;
pub mod user_cli;
