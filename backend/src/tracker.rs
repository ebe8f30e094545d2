//! The tracker: pure code from recorded events to the causal graph.
