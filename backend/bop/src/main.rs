//! The `bop` command: parse the command line, run it, turn errors into one
//! clear sentence on stderr and an exit status scripts can rely on.

use std::process::ExitCode;

fn main() -> ExitCode {
    bop::cli::main()
}
