//! The commands, one file each: options in, result out; no argument parsing here. `run`
//! holds what every command that reads the organization shares: the plan, the scope and the
//! engine.

mod audit;
mod drill;
mod iam_policy;
mod init;
mod rollout;
mod run;
mod teardown;
mod validate;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::aws::AwsError;
use crate::changeset::ChangeSetError;
use crate::discover::{Narrowing, ScopeError};
use crate::journal::JournalError;
use crate::plan::PlanError;
use crate::report::AuditReport;

pub use audit::{audit, Audit};
pub use drill::{prepare as prepare_drill, DrillOptions, DrillResult, Outcome as DrillOutcome};
pub use iam_policy::iam_policy;
pub use init::init;
pub use rollout::{rollout, RolloutOptions};
pub use teardown::{check_resume, teardown, TeardownOptions};
pub use validate::validate;

#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("while connecting to AWS: {0}")]
    Connect(AwsError),
    /// The caller's credentials, explained (the SDK's own account is in the debug log).
    #[error("{0}")]
    Credentials(String),
    #[error(transparent)]
    Scope(#[from] ScopeError),
    #[error("while writing {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    ChangeSet(#[from] ChangeSetError),
    #[error("while reading the audit result {path}: {message}")]
    ReadReport { path: PathBuf, message: String },
}

/// Which plan, and which part of the organization one run covers.
#[derive(Clone, Debug)]
pub struct Targeting {
    pub plan: PathBuf,
    pub narrowing: Narrowing,
    pub concurrency: Option<usize>,
    /// The runtime's threads (the caller builds the runtime; the forecast divides orgguard's
    /// CPU among them).
    pub threads: usize,
    pub endpoint_url: Option<String>,
    pub profile: Option<String>,
}

/// This process's peak resident memory in MB, from /proc (Linux). A parent's figure from
/// before exec does not count in it, unlike getrusage's.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// An audit result written earlier (`audit --format json`), for a report or a baseline.
pub fn load_report(path: &Path) -> Result<AuditReport, OpsError> {
    let fail = |message: String| OpsError::ReadReport { path: path.to_owned(), message };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    let mut report: AuditReport = serde_json::from_str(&text).map_err(|e| fail(format!("not an orgguard audit result: {e}")))?;
    // A result written by an earlier version may have its controls in text order.
    report.controls.sort_by(|a, b| crate::audit::natural(&a.id, &b.id));
    crate::audit::sort_results(&mut report.results);
    Ok(report)
}

/// Streamed to the file: a summary of 5000 accounts in every region is hundreds of MB as text.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<(), OpsError> {
    let written = crate::safe::write_file(path, |out| {
        serde_json::to_writer_pretty(&mut *out, value)?;
        writeln!(out)
    });
    written.map_err(|source| OpsError::Write { path: path.to_owned(), source })
}
