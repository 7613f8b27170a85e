//! orgguard: roll Amazon GuardDuty out across an AWS Organization, keep it there, prove it.
//!
//! A run is observe -> diff -> act: `discover` finds the targets, `aws` reads each one's
//! state, `diff` computes the changes, `apply` makes them (or, in a dry run, only lists
//! them), and `report` summarises the results.

pub mod apply;
pub mod audit;
pub mod aws;
pub mod desired;
pub mod diff;
pub mod discover;
pub mod estimate;
pub mod journal;
pub mod model;
pub mod ops;
pub mod outcome;
pub mod plan;
pub mod progress;
pub mod report;
pub mod summary;
