//! orgguard: roll Amazon GuardDuty out across an AWS Organization, keep it there, prove it.
//!
//! A run is observe -> plan -> execute: `discover` finds the targets; `engine` drives the
//! `layers` (account, account-region, organization), each of which observes its
//! `resources` through `aws`, plans their changes (pure) and executes them, or in a dry
//! run or an audit only lists them; `audit` judges the plans and `report` writes them.

pub mod audit;
pub mod aws;
pub mod changeset;
pub mod control;
pub mod desired;
pub mod discover;
pub mod engine;
pub mod estimate;
pub mod init;
pub mod journal;
pub mod layers;
pub mod model;
pub mod ops;
pub mod outcome;
pub mod permissions;
pub mod plan;
pub mod progress;
pub mod report;
pub mod resources;
pub mod results;
pub mod safe;
pub mod summary;
