//! Tenancy: adoption (see tests/e2e_tenancy.rs).
