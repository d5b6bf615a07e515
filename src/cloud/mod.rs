//! The VPCEP API client: wire models, errors, authentication, rate limiting and retries.

pub mod signer;
