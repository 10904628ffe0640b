//! The intermediate representations between stages, one module per IR.
//!
//! IRs are plain data: they hold no references to the text or to pest, derive `Serialize` so
//! every stage can be dumped (`--emit`) and snapshot-tested, and keep sorted or source-ordered
//! collections so that output is deterministic.

pub mod canonical;
pub mod graph;
pub mod infra;
