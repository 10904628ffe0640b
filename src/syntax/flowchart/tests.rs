//! Unit tests of the flowchart parser.
