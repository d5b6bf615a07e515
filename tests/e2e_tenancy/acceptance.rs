//! Tenancy: acceptance (see tests/e2e_tenancy.rs).
