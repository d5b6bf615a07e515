//! Tenancy: deletion (see tests/e2e_tenancy.rs).
