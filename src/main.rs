//! The `sopflow` binary: the command line over the engine and the service. The commands
//! themselves are in the library (`sopflow::cli`), which the tests drive too.

use std::process::ExitCode;

/// mimalloc: the service's commands make many small short-lived allocations (events, JSON).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<ExitCode> {
    sopflow::cli::main()
}
