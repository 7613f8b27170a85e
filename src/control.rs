//! The audit's vocabulary, shared by the kinds that name their controls and the reports that
//! show them: a control, and a control found failing.

use serde::{Deserialize, Serialize};

use crate::model::AccountId;

/// A control every result belongs to: a stable id, what it checks, and where it comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Control {
    pub id: String,
    pub description: String,
    /// Security Hub control or Prowler check this corresponds to, when there is one.
    pub mapping: String,
}

/// A control a change or a note shows failing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub control: String,
    /// The account whose control fails, when it is not the result's own (members, which the
    /// delegated admin's result lists).
    pub account: Option<AccountId>,
    pub expected: String,
    pub actual: String,
}

impl Failure {
    pub fn new(control: impl Into<String>, expected: impl Into<String>, actual: impl Into<String>) -> Self {
        Self { control: control.into(), account: None, expected: expected.into(), actual: actual.into() }
    }
}
