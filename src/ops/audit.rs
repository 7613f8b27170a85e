//! `orgguard audit`: read-only, a dry run of the rollout judged control by control.

use std::path::Path;

use super::run::{start, Use};
use super::{load_report, OpsError, Targeting};
use crate::audit;
use crate::outcome::{SkipReason, Status};
use crate::report::{AuditReport, BaselineComparison, Metadata};
use crate::resources::coverage::Coverage;

/// An audit's report, and whether every target could be read.
pub struct Audit {
    pub report: AuditReport,
    /// A target could not be read (denied role, throttling past the retry budget, ...).
    pub incomplete: bool,
    /// Ctrl-C or SIGTERM stopped the audit before every target was read.
    pub interrupted: bool,
}

/// Read-only: a dry run of the rollout, judged control by control.
pub async fn audit(targeting: &Targeting, baseline: Option<&Path>) -> Result<Audit, OpsError> {
    let baseline = baseline.map(load_report).transpose()?;
    let run = start(targeting, Use::Audit).await?;
    let plan_name = targeting.plan.file_stem().map_or("plan".into(), |s| s.to_string_lossy().into_owned());
    let results = audit::judge(&run.plan, &plan_name, &run.results);
    let incomplete = run.results.iter().any(|r| matches!(&r.status, Status::Failed(e) if !e.is_conflict()) || matches!(r.coverage, Some(Coverage::Failed(_))));
    let interrupted = run.results.iter().any(|r| r.status == Status::Skipped(SkipReason::Interrupted));
    let report = AuditReport {
        metadata: Metadata {
            tool: "orgguard".into(),
            tool_version: env!("CARGO_PKG_VERSION").into(),
            plan: targeting.plan.display().to_string(),
            plan_sha256: run.plan_sha256,
            generated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            accounts: run.scope.accounts.len(),
            regions: run.scope.regions.clone(),
        },
        controls: audit::controls(&run.plan),
        baseline: baseline.as_ref().map(|b| BaselineComparison::new(b, &results)),
        account_names: run.scope.names,
        coverage: run.results.iter().flat_map(|r| match &r.coverage { Some(Coverage::Read(rows)) => rows.as_slice(), _ => &[] }).cloned().collect(),
        results,
    };
    Ok(Audit { report, incomplete, interrupted })
}
