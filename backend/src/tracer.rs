//! The tracer: runs targets under ptrace and records their communication.
