//! AST of a architecture diagram.

#[derive(Debug, Clone, PartialEq)]
pub struct Architecture {}
