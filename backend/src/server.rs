//! `bop serve`: the JSON API and the workbench pages.
