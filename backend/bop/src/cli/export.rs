//! `bop export`: a run's causal graph in one of the export formats
//! (docs/EXPORT.md).

use std::process::ExitCode;

use anyhow::Result;
use clap::builder::PossibleValue;
use clap::{Args, ValueEnum};

use super::{Checked, CheckedValue, StoreArg, checked, print_out};
use bop_tracker::export::{self, Format};

/// Export a run's causal graph.
#[derive(Args, Debug)]
pub(super) struct ExportArgs {
    #[command(flatten)]
    store: StoreArg,
    /// Run id.
    run: String,
    /// The format: json is the documented contract.
    #[arg(long, default_value = "json", value_parser = checked::<ExportFormat>())]
    format: Checked<ExportFormat>,
}

/// The formats of `--format`, as the tracker writes them.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum ExportFormat {
    /// The JSON contract (docs/EXPORT.md).
    Json,
    /// Graphviz.
    Dot,
    /// ShiViz log.
    Shiviz,
    /// Chrome trace-event JSON for ui.perfetto.dev.
    Perfetto,
}

impl From<ExportFormat> for Format {
    fn from(f: ExportFormat) -> Format {
        match f {
            ExportFormat::Json => Format::Json,
            ExportFormat::Dot => Format::Dot,
            ExportFormat::Shiviz => Format::Shiviz,
            ExportFormat::Perfetto => Format::Perfetto,
        }
    }
}

impl CheckedValue for ExportFormat {
    fn possible_values() -> Vec<PossibleValue> {
        super::possible_values::<ExportFormat>()
    }

    fn parse(text: &str) -> std::result::Result<ExportFormat, String> {
        ExportFormat::from_str(text, false)
            .map_err(|_| bop_tracker::TrackError::UnknownFormat(text.to_string()).to_string())
    }
}

pub(super) fn run(args: ExportArgs) -> Result<ExitCode> {
    let format = Format::from(args.format.get()?);
    let store = args.store.open()?;
    let manifest = store.manifest(&args.run)?;
    let events = store.events(&args.run)?;
    print_out(&export::render(&manifest, &events, format))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn format_arg(args: &[&str]) -> Result<Format> {
        let cli = Cli::try_parse_from([&["bop", "export", "r"], args].concat())?;
        let Command::Export(args) = cli.command else {
            panic!("not export: {cli:?}");
        };
        Ok(args.format.get()?.into())
    }

    #[test]
    fn formats_read_as_the_tracker_names_them() {
        assert_eq!(format_arg(&[]).unwrap(), Format::Json, "the default");
        for (name, format) in [
            ("json", Format::Json),
            ("dot", Format::Dot),
            ("shiviz", Format::Shiviz),
            ("perfetto", Format::Perfetto),
        ] {
            assert_eq!(format_arg(&["--format", name]).unwrap(), format);
            assert_eq!(
                name.parse::<Format>().unwrap(),
                format,
                "the tracker agrees"
            );
        }
        let err = format_arg(&["--format", "svg"]).unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown export format 'svg' (use json, dot, shiviz or perfetto)"
        );
    }
}
