//! Tenancy: leader (see tests/e2e_tenancy.rs).
