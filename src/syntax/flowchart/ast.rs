//! AST of a flowchart diagram.

#[derive(Debug, Clone, PartialEq)]
pub struct Flowchart {}
