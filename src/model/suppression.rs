//! Suppression rules (GuardDuty filters): what finds a finding, and what happens to it.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// What a rule does with the findings it matches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
pub enum FilterAction {
    /// Suppressed: archived as they arrive, sent to neither EventBridge, S3 export nor
    /// Security Hub.
    #[default]
    #[serde(rename = "ARCHIVE")]
    Archive,
    /// Kept, only marked.
    #[serde(rename = "NOOP")]
    Noop,
}

impl FilterAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Archive => "ARCHIVE",
            Self::Noop => "NOOP",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "ARCHIVE" => Some(Self::Archive),
            "NOOP" => Some(Self::Noop),
            _ => None,
        }
    }
}

impl fmt::Display for FilterAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding field's condition, with GuardDuty's current condition names (the
/// deprecated Eq, Neq, Gt, Gte, Lt and Lte are read as these).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Condition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_equals: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greater_than: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greater_than_or_equal: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub less_than: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub less_than_or_equal: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matches: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_matches: Option<Vec<String>>,
}

impl Condition {
    /// The same condition whatever order its values were given in (GuardDuty treats each
    /// list as a set).
    pub fn normalised(&self) -> Self {
        let sorted = |values: &Option<Vec<String>>| {
            values.clone().map(|mut v| {
                v.sort();
                v.dedup();
                v
            })
        };
        Self {
            equals: sorted(&self.equals),
            not_equals: sorted(&self.not_equals),
            matches: sorted(&self.matches),
            not_matches: sorted(&self.not_matches),
            ..self.clone()
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Finding field (as GuardDuty names it, e.g. `severity`, `type`) -> its condition.
pub type Criteria = BTreeMap<String, Condition>;

/// Criteria compare after normalising: value order does not count as drift.
pub fn same_criteria(a: &Criteria, b: &Criteria) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|((ka, va), (kb, vb))| ka == kb && va.normalised() == vb.normalised())
}

/// A suppression rule as the delegated admin's detector holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedFilter {
    pub name: String,
    pub rank: u32,
    /// None: an action this version does not know.
    pub action: Option<FilterAction>,
    pub description: String,
    pub criteria: Criteria,
}
