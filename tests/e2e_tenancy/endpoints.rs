//! Tenancy: endpoints (see tests/e2e_tenancy.rs).
