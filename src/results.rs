//! What happened to each target: the record that progress, summaries, reports and exit codes
//! read, with the changes of every kind it planned or made.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock, Mutex};

use serde::Serialize;

use crate::model::Target;
use crate::outcome::{Layer, Note, ReadFrom, Status};
use crate::resources::coverage::Coverage;
use crate::resources::Change;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TargetResult {
    pub target: Target,
    pub layer: Layer,
    #[serde(flatten)]
    pub status: Status,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Arc<Change>>,
    /// Drift reported but deliberately not changed (for example unplanned subscriptions).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Note>,
    /// Where the detector was read; None when it was not (or the result is not a region's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detector_read_from: Option<ReadFrom>,
    /// Planned features GuardDuty does not offer in this region: left out, not drift.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unavailable: Vec<crate::model::Feature>,
    /// Runtime Monitoring coverage, as a region's delegated admin reports it (audit only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<Coverage>,
}

impl TargetResult {
    /// Where a person reads it: `account/region`, with the layer when it is not the account.
    pub fn place(&self) -> String {
        self.place_named(None)
    }

    /// The place, with the account's name when there is one.
    pub fn place_named(&self, name: Option<&str>) -> String {
        let target = &self.target;
        match (self.layer, &target.region, name) {
            (Layer::Account, _, None) => target.to_string(),
            (Layer::Account, _, Some(name)) => format!("{target} ({name})"),
            (Layer::Organization, Some(_), None) => format!("{target} (delegated admin)"),
            (Layer::Organization, Some(_), Some(name)) => format!("{target} ({name}, delegated admin)"),
            (Layer::Organization, None, _) => format!("{target} (the organization's account list)"),
        }
    }
}

/// The changes as a result holds them: each distinct change once for the whole run. A
/// rollout of 5000 accounts in every region makes the same few changes in 100,000
/// account-regions, and the results are held until the summary is written.
pub fn shared(changes: Vec<Change>) -> Vec<Arc<Change>> {
    if changes.is_empty() {
        return Vec::new();
    }
    static DISTINCT: LazyLock<Mutex<HashSet<Arc<Change>>>> = LazyLock::new(Mutex::default);
    let mut distinct = DISTINCT.lock().expect("no panic while sharing");
    changes
        .into_iter()
        .map(|change| match distinct.get(&change) {
            Some(shared) => shared.clone(),
            None => {
                let shared = Arc::new(change);
                distinct.insert(shared.clone());
                shared
            }
        })
        .collect()
}
