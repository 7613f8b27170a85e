//! `orgguard rollout`: make the organization match the plan, or (a dry run) list and forecast
//! what that takes and write the change set for review.

use std::path::PathBuf;

use super::run::{start, Use};
use super::{OpsError, Targeting};
use crate::changeset;
use crate::summary::Summary;

/// How a rollout runs, beyond what it targets.
#[derive(Clone, Debug, Default)]
pub struct RolloutOptions {
    pub dry_run: bool,
    pub replace_admin: bool,
    /// Where finished targets are journaled (not in a dry run).
    pub journal: PathBuf,
    /// Continue from the journal: targets it records applied or unchanged are skipped.
    pub resume: bool,
    /// Undo invitation-era relationships so the delegated admin can add the accounts.
    pub migrate_invitations: bool,
    /// A dry run writes its change set here, for review.
    pub out: Option<PathBuf>,
    /// Make exactly the changes of this reviewed change set.
    pub apply: Option<PathBuf>,
    /// The latency a dry run's forecast assumes for every call.
    pub forecast_latency_ms: u64,
}

pub async fn rollout(targeting: &Targeting, options: &RolloutOptions) -> Result<Summary, OpsError> {
    let run = start(targeting, Use::Rollout(options)).await?;
    if let Some(path) = options.out.as_ref().filter(|_| options.dry_run) {
        changeset::write(path, &run.plan_sha256, &run.results)?;
    }
    let mut summary = run.summary("rollout", options.dry_run);
    summary.change_set = options.out.clone().filter(|_| options.dry_run);
    Ok(summary)
}
