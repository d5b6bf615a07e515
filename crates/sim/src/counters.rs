//! Per-operation request counters for tests that assert the exact calls a client made.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::ops::Operation;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OperationCount {
    pub total: u64,
    /// By HTTP status code, plus `dropped` for commit-then-drop faults.
    pub outcomes: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default)]
pub struct Counters(BTreeMap<&'static str, OperationCount>);

impl Counters {
    /// Counted when the request arrives, so that dropped requests still count.
    pub fn start(&mut self, op: Operation) {
        self.0.entry(op.as_str()).or_default().total += 1;
    }

    pub fn finish(&mut self, op: Operation, outcome: &str) {
        *self
            .0
            .entry(op.as_str())
            .or_default()
            .outcomes
            .entry(outcome.to_string())
            .or_default() += 1;
    }

    pub fn totals(&self) -> BTreeMap<&'static str, u64> {
        self.0.iter().map(|(k, v)| (*k, v.total)).collect()
    }

    pub fn detail(&self) -> &BTreeMap<&'static str, OperationCount> {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_totals_and_outcomes() {
        let mut c = Counters::default();
        c.start(Operation::CreateService);
        c.finish(Operation::CreateService, "200");
        c.start(Operation::CreateService);
        c.finish(Operation::CreateService, "dropped");
        c.start(Operation::GetService);
        assert_eq!(c.totals()["create_service"], 2);
        assert_eq!(c.totals()["get_service"], 1);
        assert_eq!(c.detail()["create_service"].outcomes["dropped"], 1);
    }
}
