//! `sopflow simulate` as the `sopflow` binary runs it, for trying the command before it is
//! wired into the binary: `cargo run --release -p sopflow-sim --example simulate -- SOP.yaml
//! --scenario FILE [--staff-for 0.9] [--format table|json|html] [-o FILE]`.

use std::process::ExitCode;

use clap::Parser;
use sopflow_sim::SimulateArgs;

#[derive(Parser)]
#[command(name = "simulate")]
struct Cli {
    #[command(flatten)]
    args: SimulateArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match sopflow_sim::run(&cli.args) {
        Ok(out) => {
            for note in &out.notes {
                eprintln!("{note}");
            }
            print!("{}", out.stdout());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
