//! Unit tests of the architecture parser.
