//! The SOP language: the YAML model, loading with located errors, the five validation
//! layers, and the compiled form the engine runs.

pub mod compiled;
pub mod dates;
pub mod diagnostic;
pub mod duration;
pub mod load;
pub mod model;
pub mod source_map;
mod validate;

pub use compiled::{CompiledBranch, CompiledStep, Sop, StepIdx};
pub use diagnostic::{Diagnostic, Layer, Severity};
pub use duration::{Budget, BudgetClock, BudgetRule, DayCount, Duration, ParseBudgetError};
pub use load::load;
pub use model::{SopDocument, schema_json};
