//! Fault injection: per-operation rules (error, throttle, latency, commit-then-drop) and the
//! seeded dice that decide, request by request, which of them fire.

use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::parse_duration;
use crate::ops::Operation;

/// Matches every operation.
pub const ANY_OPERATION: &str = "*";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    /// An operation name or `*`.
    pub operation: String,
    #[serde(flatten)]
    pub kind: FaultKind,
    /// How many more times the rule may fire; unlimited when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
}

fn always() -> f64 {
    1.0
}

fn one_second() -> u64 {
    1
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
// Unknown fields are refused here rather than on `FaultRule`, which serde cannot combine with
// `flatten`: the enum sees every field the rule itself does not use.
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultKind {
    /// 500 `EndPoint.0001` instead of running the operation.
    Error {
        #[serde(default = "always")]
        rate: f64,
    },
    /// 429 `APIG.0308` with a `Retry-After` header instead of running the operation.
    Throttle {
        #[serde(default = "always")]
        rate: f64,
        #[serde(default = "one_second")]
        retry_after: u64,
    },
    /// Waits `latency_ms` plus up to `jitter_ms` before the operation runs.
    Latency {
        latency_ms: u64,
        #[serde(default)]
        jitter_ms: u64,
    },
    /// Runs the operation, then closes the connection without answering (only after success).
    Drop {
        #[serde(default = "always")]
        rate: f64,
    },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FaultError {
    #[error("expected OPERATION:KIND:VALUE[,option=value...], got {0:?}")]
    Shape(String),
    #[error("unknown operation {0:?}")]
    Operation(String),
    #[error("unknown fault kind {0:?} (error, throttle, latency or drop)")]
    Kind(String),
    #[error("invalid value {value:?} for {what}: {reason}")]
    Value {
        what: String,
        value: String,
        reason: String,
    },
}

impl FaultRule {
    /// Rejects unknown operation names and rates outside 0..=1.
    pub fn check(&self) -> Result<(), FaultError> {
        if self.operation != ANY_OPERATION && self.operation.parse::<Operation>().is_err() {
            return Err(FaultError::Operation(self.operation.clone()));
        }
        let rate = match self.kind {
            FaultKind::Error { rate }
            | FaultKind::Throttle { rate, .. }
            | FaultKind::Drop { rate } => rate,
            FaultKind::Latency { .. } => return Ok(()),
        };
        if (0.0..=1.0).contains(&rate) {
            Ok(())
        } else {
            Err(FaultError::Value {
                what: "rate".into(),
                value: rate.to_string(),
                reason: "must be between 0 and 1".into(),
            })
        }
    }

    fn applies_to(&self, op: Operation) -> bool {
        self.times != Some(0) && (self.operation == ANY_OPERATION || self.operation == op.as_str())
    }
}

fn value_error(what: &str, value: &str, reason: impl ToString) -> FaultError {
    FaultError::Value {
        what: what.into(),
        value: value.into(),
        reason: reason.to_string(),
    }
}

fn parse_rate(value: &str) -> Result<f64, FaultError> {
    value.parse().map_err(|e| value_error("rate", value, e))
}

fn parse_millis(what: &str, value: &str) -> Result<u64, FaultError> {
    let d = parse_duration(value).map_err(|e| value_error(what, value, e))?;
    u64::try_from(d.as_millis()).map_err(|e| value_error(what, value, e))
}

/// `OPERATION:KIND:VALUE[,option=value...]`, the CLI form (see docs/simulator.md).
impl FromStr for FaultRule {
    type Err = FaultError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.splitn(3, ':');
        let (Some(operation), Some(kind), Some(value)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(FaultError::Shape(s.into()));
        };
        let mut values = value.split(',');
        let main = values.next().unwrap_or_default();
        let mut options = Vec::new();
        for option in values {
            let (k, v) = option
                .split_once('=')
                .ok_or_else(|| FaultError::Shape(s.into()))?;
            options.push((k, v));
        }
        let mut times = None;
        let mut retry_after = one_second();
        let mut jitter_ms = 0;
        for (k, v) in options {
            match (k, kind) {
                ("times", _) => times = Some(v.parse().map_err(|e| value_error("times", v, e))?),
                ("retry_after", "throttle") => {
                    retry_after = v.parse().map_err(|e| value_error("retry_after", v, e))?
                }
                ("jitter", "latency") => jitter_ms = parse_millis("jitter", v)?,
                _ => return Err(value_error("option", k, format!("not an option of {kind}"))),
            }
        }
        let kind = match kind {
            "error" => FaultKind::Error {
                rate: parse_rate(main)?,
            },
            "throttle" => FaultKind::Throttle {
                rate: parse_rate(main)?,
                retry_after,
            },
            "latency" => FaultKind::Latency {
                latency_ms: parse_millis("latency", main)?,
                jitter_ms,
            },
            "drop" => FaultKind::Drop {
                rate: parse_rate(main)?,
            },
            other => return Err(FaultError::Kind(other.into())),
        };
        let rule = FaultRule {
            operation: operation.into(),
            kind,
            times,
        };
        rule.check()?;
        Ok(rule)
    }
}

/// What happens to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Error,
    Throttle { retry_after: u64 },
    Drop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub delay: Duration,
    pub outcome: Outcome,
}

/// SplitMix64: tiny, seedable, and good enough to roll fault dice reproducibly.
#[derive(Debug, Clone)]
struct Dice(u64);

impl Dice {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Rates of exactly 0 and 1 do not consume a roll, so a seeded sequence only depends on
    /// the rules that are actually random.
    fn hit(&mut self, rate: f64) -> bool {
        if rate >= 1.0 {
            true
        } else if rate <= 0.0 {
            false
        } else {
            self.unit() < rate
        }
    }
}

/// The active rules and the dice.
#[derive(Debug, Clone)]
pub struct FaultBook {
    rules: Vec<FaultRule>,
    seed: u64,
    dice: Dice,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FaultSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(default)]
    pub faults: Vec<FaultRule>,
}

impl FaultBook {
    pub fn new(rules: Vec<FaultRule>, seed: u64) -> Self {
        Self {
            rules,
            seed,
            dice: Dice(seed),
        }
    }

    pub fn add(&mut self, rule: FaultRule) {
        self.rules.push(rule);
    }

    pub fn settings(&self) -> FaultSettings {
        FaultSettings {
            seed: Some(self.seed),
            faults: self.rules.clone(),
        }
    }

    /// Decides delay and outcome of one request of `op`, spending the `times` budgets.
    pub fn plan(&mut self, op: Operation) -> Plan {
        let mut plan = Plan {
            delay: Duration::ZERO,
            outcome: Outcome::Pass,
        };
        for rule in self.rules.iter_mut().filter(|r| r.applies_to(op)) {
            let fired = match rule.kind {
                FaultKind::Latency {
                    latency_ms,
                    jitter_ms,
                } => {
                    let jitter = if jitter_ms == 0 {
                        0
                    } else {
                        self.dice.next_u64() % (jitter_ms + 1)
                    };
                    plan.delay += Duration::from_millis(latency_ms.saturating_add(jitter));
                    true
                }
                _ if plan.outcome != Outcome::Pass => false,
                FaultKind::Error { rate } => {
                    self.dice.hit(rate) && {
                        plan.outcome = Outcome::Error;
                        true
                    }
                }
                FaultKind::Throttle { rate, retry_after } => {
                    self.dice.hit(rate) && {
                        plan.outcome = Outcome::Throttle { retry_after };
                        true
                    }
                }
                FaultKind::Drop { rate } => {
                    self.dice.hit(rate) && {
                        plan.outcome = Outcome::Drop;
                        true
                    }
                }
            };
            if fired && let Some(times) = rule.times.as_mut() {
                *times -= 1;
            }
        }
        plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_cli_form() {
        let r: FaultRule = "create_service:error:1.0".parse().unwrap();
        assert_eq!(r.kind, FaultKind::Error { rate: 1.0 });
        assert_eq!(r.times, None);
        let r: FaultRule = "get_service:throttle:0.5,retry_after=3,times=2"
            .parse()
            .unwrap();
        assert_eq!(
            r.kind,
            FaultKind::Throttle {
                rate: 0.5,
                retry_after: 3
            }
        );
        assert_eq!(r.times, Some(2));
        let r: FaultRule = "*:latency:200ms,jitter=50ms".parse().unwrap();
        assert_eq!(
            r.kind,
            FaultKind::Latency {
                latency_ms: 200,
                jitter_ms: 50
            }
        );
        assert!("nope:error:1".parse::<FaultRule>().is_err());
        assert!("create_service:explode:1".parse::<FaultRule>().is_err());
        assert!("create_service:error:1.5".parse::<FaultRule>().is_err());
        assert!("create_service:error".parse::<FaultRule>().is_err());
        assert!(
            "create_service:error:1,jitter=5ms"
                .parse::<FaultRule>()
                .is_err()
        );
    }

    #[test]
    fn parses_the_json_form() {
        let r: FaultRule =
            serde_json::from_str(r#"{"operation":"create_endpoint","kind":"drop","times":1}"#)
                .unwrap();
        assert_eq!(r.kind, FaultKind::Drop { rate: 1.0 });
        assert_eq!(r.times, Some(1));
        let typo =
            serde_json::from_str::<FaultRule>(r#"{"operation":"*","kind":"error","rat":0.5}"#);
        assert!(typo.is_err());
    }

    #[test]
    fn times_budget_runs_out() {
        let rule: FaultRule = "create_service:error:1,times=2".parse().unwrap();
        let mut book = FaultBook::new(vec![rule], 7);
        assert_eq!(book.plan(Operation::GetService).outcome, Outcome::Pass);
        assert_eq!(book.plan(Operation::CreateService).outcome, Outcome::Error);
        assert_eq!(book.plan(Operation::CreateService).outcome, Outcome::Error);
        assert_eq!(book.plan(Operation::CreateService).outcome, Outcome::Pass);
    }

    #[test]
    fn first_firing_outcome_wins_and_latency_adds_up() {
        let rules = vec![
            "*:latency:10ms".parse().unwrap(),
            "get_service:throttle:1,retry_after=4".parse().unwrap(),
            "get_service:error:1".parse().unwrap(),
            "get_service:latency:5ms".parse().unwrap(),
        ];
        let mut book = FaultBook::new(rules, 1);
        let plan = book.plan(Operation::GetService);
        assert_eq!(plan.outcome, Outcome::Throttle { retry_after: 4 });
        assert_eq!(plan.delay, Duration::from_millis(15));
    }

    #[test]
    fn same_seed_same_decisions() {
        let rules: Vec<FaultRule> = vec!["*:error:0.5".parse().unwrap()];
        let run = |seed| {
            let mut book = FaultBook::new(rules.clone(), seed);
            (0..64)
                .map(|_| book.plan(Operation::ListServices).outcome == Outcome::Error)
                .collect::<Vec<_>>()
        };
        assert_eq!(run(42), run(42));
        assert_ne!(run(42), run(43));
        let hits = run(42).into_iter().filter(|h| *h).count();
        assert!((16..48).contains(&hits), "{hits} of 64 at rate 0.5");
    }
}
