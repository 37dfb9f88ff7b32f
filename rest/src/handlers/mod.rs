//! The REST handlers: thin. Each checks who is asking (where the rule is HTTP's own: which
//! roles may use an endpoint), turns the request into a core call and the result into JSON;
//! the rules of cases live in the engine and the core.

pub mod audit;
pub mod cases;
pub mod incidents;
pub mod offices;
pub mod sops;
pub mod system;
pub mod work;

use crate::problem::Problem;

/// A store error as an answer (logged, never shown).
pub(crate) fn store_error(e: sopflow_store::Error) -> Problem {
    sopflow_core::RuntimeError::from(e).into()
}
