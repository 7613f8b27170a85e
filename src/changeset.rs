//! A dry run's change set, written for review (`rollout --dry-run --out F`) and applied
//! exactly (`rollout --apply F`), as `terraform plan -out` and `apply` do for a change
//! ticket. A target's changes are made only if observing it again plans exactly the
//! changes reviewed; otherwise it is stale and left alone.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{AccountId, Region, Target};
use crate::outcome::{Layer, Status};
use crate::results::TargetResult;
use crate::resources::Change;

const FORMAT: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum ChangeSetError {
    #[error("change set {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("change set {path}: not an orgguard change set: {message}")]
    NotAChangeSet { path: PathBuf, message: String },
    #[error("change set {path}: made from another version of the plan; make a new one with --dry-run --out")]
    OtherPlan { path: PathBuf },
}

#[derive(Serialize, Deserialize)]
struct Header {
    orgguard_changes: u32,
    plan_sha256: String,
    /// When the targets were observed (the dry run's end), RFC 3339.
    observed_at: String,
}

/// One target's reviewed changes, in the order they are made.
#[derive(Serialize, Deserialize)]
struct Entry<C> {
    account: AccountId,
    region: Option<Region>,
    layer: Layer,
    changes: C,
}

#[derive(Serialize, Deserialize)]
struct File<C> {
    #[serde(flatten)]
    header: Header,
    targets: Vec<Entry<C>>,
}

/// Writes every planned target's changes, in the results' (sorted) order: those of a target
/// with a conflict too (an invitation-era administrator), which a rollout makes all the same.
pub fn write(path: &Path, plan_sha256: &str, results: &[TargetResult]) -> Result<(), ChangeSetError> {
    let targets = planned(results).map(|r| Entry { account: r.target.account, region: r.target.region, layer: r.layer, changes: &r.changes[..] }).collect();
    let observed_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let file: File<&[Arc<Change>]> = File { header: Header { orgguard_changes: FORMAT, plan_sha256: plan_sha256.to_owned(), observed_at }, targets };
    let written = crate::safe::write_file(path, |out| {
        serde_json::to_writer_pretty(&mut *out, &file)?;
        writeln!(out)
    });
    written.map_err(|source| ChangeSetError::Io { path: path.to_owned(), source })
}

/// The results of a dry run whose changes a run would make.
fn planned(results: &[TargetResult]) -> impl Iterator<Item = &TargetResult> {
    results.iter().filter(|r| match &r.status {
        Status::Planned => true,
        Status::Failed(error) => error.is_conflict() && !r.changes.is_empty(),
        _ => false,
    })
}

/// The changes a person reviewed, by target.
#[derive(Clone, Debug, Default)]
pub struct Reviewed(HashMap<(Target, Layer), Value>);

impl Reviewed {
    /// The change set at `path`, refused if it was made from another version of the plan.
    pub fn load(path: &Path, plan_sha256: &str) -> Result<Self, ChangeSetError> {
        let text = std::fs::read_to_string(path).map_err(|source| ChangeSetError::Io { path: path.to_owned(), source })?;
        let file: File<Value> = serde_json::from_str(&text)
            .map_err(|e| ChangeSetError::NotAChangeSet { path: path.to_owned(), message: e.to_string() })?;
        if file.header.orgguard_changes != FORMAT {
            let message = format!("format {} (this orgguard reads {FORMAT})", file.header.orgguard_changes);
            return Err(ChangeSetError::NotAChangeSet { path: path.to_owned(), message });
        }
        if file.header.plan_sha256 != plan_sha256 {
            return Err(ChangeSetError::OtherPlan { path: path.to_owned() });
        }
        let targets = file.targets.into_iter().map(|e| ((Target { account: e.account, region: e.region }, e.layer), e.changes));
        Ok(Self(targets.collect()))
    }

    /// A dry run's changes, as a person confirmed them on the terminal.
    pub fn of(results: &[TargetResult]) -> Self {
        let value = |r: &TargetResult| serde_json::to_value(&r.changes).expect("changes serialize");
        Self(planned(results).map(|r| ((r.target.clone(), r.layer), value(r))).collect())
    }

    /// Whether `changes`, just planned for the target, are the ones reviewed for it.
    pub fn matches(&self, target: &Target, layer: Layer, changes: &[Change]) -> bool {
        let reviewed = self.0.get(&(target.clone(), layer));
        reviewed == Some(&serde_json::to_value(changes).expect("changes serialize"))
    }

    /// How many changes were reviewed for the target.
    pub fn count(&self, target: &Target, layer: Layer) -> usize {
        self.0.get(&(target.clone(), layer)).and_then(Value::as_array).map_or(0, Vec::len)
    }
}
