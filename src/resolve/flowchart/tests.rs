//! Unit tests of the flowchart resolver.
