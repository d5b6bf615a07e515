//! Tenancy: names (see tests/e2e_tenancy.rs).
