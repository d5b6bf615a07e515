//! The VPCEP + IAM simulator behind `vpcep-sim` (see docs/simulator.md).
