//! `orgguard validate`: the plan read and checked, with no AWS call.

use std::path::Path;

use crate::plan::{Plan, PlanError};

pub fn validate(path: &Path) -> Result<Plan, PlanError> {
    Plan::load(path)
}
