//! `orgguard teardown`: take the plan's resources back out.

use std::path::PathBuf;

use super::run::{start, plan_sha256, Use};
use super::{OpsError, Targeting};
use crate::changeset::Reviewed;
use crate::journal::Journal;
use crate::layers::teardown::Teardown;
use crate::summary::Summary;

/// How a teardown runs.
#[derive(Debug, Default)]
pub struct TeardownOptions {
    pub teardown: Teardown,
    pub dry_run: bool,
    /// Where finished targets are journaled (not in a dry run).
    pub journal: PathBuf,
    /// Continue from the journal: targets it records applied or unchanged are skipped.
    pub resume: bool,
    /// The deletions a person confirmed (from a dry run): only those are made.
    pub confirmed: Option<Reviewed>,
}

/// With --resume, whether the journal is one this teardown can resume: checked before a
/// person is asked to confirm, not after.
pub fn check_resume(targeting: &Targeting, options: &TeardownOptions) -> Result<(), OpsError> {
    if options.resume {
        let (path, key, _) = Use::Teardown(options).journal(&plan_sha256(&targeting.plan)).expect("a teardown that is not a dry run journals");
        Journal::check(path, &key)?;
    }
    Ok(())
}

/// Takes the plan's resources back out (`orgguard teardown`), or with `dry_run` lists
/// every deletion.
pub async fn teardown(targeting: &Targeting, options: &TeardownOptions) -> Result<Summary, OpsError> {
    Ok(start(targeting, Use::Teardown(options)).await?.summary("teardown", options.dry_run))
}
