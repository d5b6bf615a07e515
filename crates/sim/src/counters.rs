//! Per-operation request counters for tests that assert the exact calls a client made, in total
//! and per client (by `User-Agent`, so that tests can tell apart processes sharing credentials).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::ops::Operation;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OperationCount {
    pub total: u64,
    /// By HTTP status code, plus `dropped` for commit-then-drop faults.
    pub outcomes: BTreeMap<String, u64>,
}

/// The `User-Agent` of requests that send none.
pub const NO_USER_AGENT: &str = "";

#[derive(Debug, Clone, Default)]
pub struct Counters {
    operations: BTreeMap<&'static str, OperationCount>,
    /// Requests per operation, by `User-Agent`.
    clients: BTreeMap<String, BTreeMap<&'static str, u64>>,
}

impl Counters {
    /// Counted when the request arrives, so that dropped requests still count.
    pub fn start(&mut self, op: Operation, user_agent: &str) {
        self.operations.entry(op.as_str()).or_default().total += 1;
        *self
            .clients
            .entry(user_agent.to_string())
            .or_default()
            .entry(op.as_str())
            .or_default() += 1;
    }

    pub fn finish(&mut self, op: Operation, outcome: &str) {
        *self
            .operations
            .entry(op.as_str())
            .or_default()
            .outcomes
            .entry(outcome.to_string())
            .or_default() += 1;
    }

    pub fn totals(&self) -> BTreeMap<&'static str, u64> {
        self.operations.iter().map(|(k, v)| (*k, v.total)).collect()
    }

    pub fn detail(&self) -> &BTreeMap<&'static str, OperationCount> {
        &self.operations
    }

    pub fn clients(&self) -> &BTreeMap<String, BTreeMap<&'static str, u64>> {
        &self.clients
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_totals_and_outcomes() {
        let mut c = Counters::default();
        c.start(Operation::CreateService, "a");
        c.finish(Operation::CreateService, "200");
        c.start(Operation::CreateService, "b");
        c.finish(Operation::CreateService, "dropped");
        c.start(Operation::GetService, "a");
        assert_eq!(c.totals()["create_service"], 2);
        assert_eq!(c.totals()["get_service"], 1);
        assert_eq!(c.detail()["create_service"].outcomes["dropped"], 1);
        assert_eq!(c.clients()["a"]["create_service"], 1);
        assert_eq!(c.clients()["a"]["get_service"], 1);
        assert_eq!(c.clients()["b"]["create_service"], 1);
        assert!(!c.clients()["b"].contains_key("get_service"));
    }
}
