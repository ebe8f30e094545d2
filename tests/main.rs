//! End-to-end tests index.
