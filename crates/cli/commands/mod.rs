//! One module per command, each with its `Args` and its `run`. A command uses `crate::shared`,
//! `crate::output` and `crate::exit`, never another command.

pub mod apply;
pub mod completions;
pub mod graph;
pub mod import;
pub mod lint;
pub mod output;
pub mod plan;
pub mod policy;
pub mod render;
pub mod schema;
pub mod show;
pub mod state;
pub mod validate;
