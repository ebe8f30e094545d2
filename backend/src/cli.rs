//! The command line: one subcommand per verb of DESIGN.md "Interfaces".

use std::process::ExitCode;

/// Entry point of the `bop` binary.
pub fn main() -> ExitCode {
    ExitCode::SUCCESS
}
