//! The reconcilers of both kinds: conditions, planning, and (later) the I/O around them.

pub mod conditions;
pub mod plan;
