//! Wire models of the VPCEP API v1 (snake_case JSON). Responses are tolerant: unknown fields are
//! ignored, every field has a default, timestamps stay strings, and the fields the API is known to
//! send in several shapes (`error`, `is_charge`, `active_status`, `marker_id`) accept all of them.

mod common;
mod endpoint;
mod service;
mod states;
mod tags;

pub use common::*;
pub use endpoint::*;
pub use service::*;
pub use states::*;
pub use tags::*;
