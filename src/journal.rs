//! The rollout's journal: a header, then one JSON line per target as it finishes, each
//! written with its own `write` so that a killed process leaves every finished line behind.
//! `rollout --resume` reads it and skips the targets that ended applied or unchanged.

use std::collections::HashSet;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::model::{AccountId, Region, Target};
use crate::outcome::{Ended, Layer};
use crate::results::TargetResult;

const FORMAT: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("journal {path}: not an orgguard journal (its first line is not a journal header)")]
    NotAJournal { path: PathBuf },
    #[error("journal {path}: written for another version of the plan (or, for a teardown, other layers); run without --resume to start over")]
    OtherPlan { path: PathBuf },
}

#[derive(Serialize, Deserialize)]
struct Header {
    orgguard_journal: u32,
    plan_sha256: String,
    started_at: String,
}

#[derive(Serialize, Deserialize)]
struct Line {
    account: AccountId,
    region: Option<Region>,
    layer: Layer,
    status: Ended,
}

type Key = (AccountId, Option<Region>, Layer);

pub struct Journal {
    path: PathBuf,
    file: Mutex<File>,
    /// Targets that ended applied or unchanged in the run being resumed.
    finished: HashSet<Key>,
}

impl Journal {
    /// A new journal for a fresh run, replacing any earlier one at `path`.
    pub fn create(path: &Path, plan_sha256: &str) -> Result<Self, JournalError> {
        let io = |source| JournalError::Io { path: path.to_owned(), source };
        let mut file = crate::safe::create_appendable(path).map_err(io)?;
        let header = Header {
            orgguard_journal: FORMAT,
            plan_sha256: plan_sha256.to_owned(),
            started_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        };
        file.write_all(line(&header).as_bytes()).map_err(io)?;
        Ok(Self { path: path.to_owned(), file: Mutex::new(file), finished: HashSet::new() })
    }

    /// The journal at `path`, to continue: what it records as finished is skipped, and
    /// this run's results are appended. A last line cut short by a kill is ignored.
    pub fn resume(path: &Path, plan_sha256: &str) -> Result<Self, JournalError> {
        let io = |source| JournalError::Io { path: path.to_owned(), source };
        let text = Self::check(path, plan_sha256)?;
        let mut finished = HashSet::new();
        for line in text.lines().skip(1).filter_map(|text| serde_json::from_str::<Line>(text).ok()) {
            if matches!(line.status, Ended::Applied | Ended::Unchanged) {
                finished.insert((line.account, line.region, line.layer));
            }
        }
        let mut file = crate::safe::open_appendable(path).map_err(io)?;
        if !text.ends_with('\n') {
            file.write_all(b"\n").map_err(io)?; // end the line a kill cut short
        }
        Ok(Self { path: path.to_owned(), file: Mutex::new(file), finished })
    }

    /// The journal's text, if it is one that a run of `plan_sha256` can resume.
    pub fn check(path: &Path, plan_sha256: &str) -> Result<String, JournalError> {
        let text = std::fs::read_to_string(path).map_err(|source| JournalError::Io { path: path.to_owned(), source })?;
        let header: Header = text
            .lines()
            .next()
            .and_then(|first| serde_json::from_str(first).ok())
            .ok_or_else(|| JournalError::NotAJournal { path: path.to_owned() })?;
        if header.plan_sha256 != plan_sha256 {
            return Err(JournalError::OtherPlan { path: path.to_owned() });
        }
        Ok(text)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The target ended applied or unchanged in the run being resumed.
    pub fn finished(&self, target: &Target, layer: Layer) -> bool {
        !self.finished.is_empty() && self.finished.contains(&(target.account, target.region, layer))
    }

    /// Appends one line per result. A journal that cannot be written is reported once per
    /// failed write and does not stop the run: the rollout itself is still correct.
    pub fn record<'a>(&self, results: impl IntoIterator<Item = &'a TargetResult>) {
        let text: String = results
            .into_iter()
            .map(|r| {
                let target = &r.target;
                line(&Line { account: target.account, region: target.region, layer: r.layer, status: r.status.ended() })
            })
            .collect();
        let mut file = self.file.lock().expect("no panic while holding the journal");
        if let Err(error) = file.write_all(text.as_bytes()) {
            tracing::warn!("could not write the journal {}: {error}", self.path.display());
        }
    }
}

fn line(value: &impl Serialize) -> String {
    serde_json::to_string(value).expect("journal lines serialize") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Status;

    fn target(account: &str, region: Option<&str>) -> Target {
        Target { account: AccountId::parse(account).unwrap(), region: region.map(|r| Region::parse(r).unwrap()) }
    }

    fn result(target: Target, status: Status) -> TargetResult {
        TargetResult {
            target,
            layer: Layer::Account,
            status,
            changes: vec![],
            notes: vec![],
            detector_read_from: None,
            unavailable: vec![],
            coverage: None,
        }
    }

    #[test]
    fn resume_skips_what_finished_ignores_a_cut_last_line_and_refuses_another_plan() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let journal = Journal::create(&path, "aaa").unwrap();
        let (done, unchanged, failed) =
            (target("100000000001", Some("us-east-1")), target("100000000002", None), target("100000000003", Some("eu-west-1")));
        let error = crate::outcome::TargetError::Role(crate::aws::AwsError {
            operation: "sts:AssumeRole",
            code: "AccessDenied".into(),
            message: String::new(),
        });
        journal.record(&[
            result(done.clone(), Status::Applied),
            result(unchanged.clone(), Status::Unchanged),
            result(failed.clone(), Status::failed(error)),
        ]);
        drop(journal);
        // A kill in the middle of a write leaves a partial line.
        let mut file = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(br#"{"account":"100000000004","reg"#).unwrap();

        let resumed = Journal::resume(&path, "aaa").unwrap();
        assert!(resumed.finished(&done, Layer::Account) && resumed.finished(&unchanged, Layer::Account));
        assert!(!resumed.finished(&failed, Layer::Account), "a failed target is done again");
        assert!(!resumed.finished(&done, Layer::Organization));
        resumed.record(&[result(failed.clone(), Status::Applied)]);
        let resumed = Journal::resume(&path, "aaa").unwrap();
        assert!(resumed.finished(&failed, Layer::Account), "a line appended after the cut one is read");
        assert!(matches!(Journal::resume(&path, "bbb"), Err(JournalError::OtherPlan { .. })));
        std::fs::write(&path, "not json\n").unwrap();
        assert!(matches!(Journal::resume(&path, "aaa"), Err(JournalError::NotAJournal { .. })));
    }
}
