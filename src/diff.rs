//! Pure: (desired, observed) -> the changes that make one into the other. This is the
//! one place that decides what counts as drift; rollout applies it, dry run prints it.

use std::fmt;

use serde::Serialize;

use crate::model::{DetectorSettings, Feature, Frequency, ObservedDetector};

/// Everything a run may do to a target, in one closed enum.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    CreateDetector { settings: DetectorSettings },
    UpdateDetector { detector_id: String, fields: Vec<DetectorField> },
}

/// One setting of an existing detector that differs from the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "field", rename_all = "snake_case")]
pub enum DetectorField {
    Enable { from: bool, to: bool },
    Frequency { from: Option<Frequency>, to: Frequency },
    Feature { feature: Feature, from: bool, to: bool },
}

impl Change {
    /// The kind, as summaries group changes.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::CreateDetector { .. } => "create detector",
            Self::UpdateDetector { .. } => "update detector",
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CreateDetector { settings } => {
                write!(f, "enabled={} frequency={}", settings.enabled, settings.frequency)?;
                for (feature, on) in &settings.features {
                    write!(f, " {feature}={}", on_off(*on))?;
                }
                Ok(())
            }
            Self::UpdateDetector { detector_id, fields } => {
                write!(f, "detector {detector_id}:")?;
                for field in fields {
                    match field {
                        DetectorField::Enable { from, to } => write!(f, " enabled {from} -> {to}")?,
                        DetectorField::Frequency { from, to } => {
                            let from = from.map_or("unknown", Frequency::as_str);
                            write!(f, " frequency {from} -> {to}")?
                        }
                        DetectorField::Feature { feature, from, to } => {
                            write!(f, " {feature} {} -> {}", on_off(*from), on_off(*to))?
                        }
                    }
                }
                Ok(())
            }
        }
    }
}

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

/// The change that gives the account-region the planned detector, if any. Features the
/// plan does not name are left as they are; a feature GuardDuty does not report is off.
pub fn detector(desired: &DetectorSettings, observed: Option<&ObservedDetector>) -> Option<Change> {
    let Some(observed) = observed else {
        return Some(Change::CreateDetector { settings: desired.clone() });
    };
    let mut fields = Vec::new();
    if observed.enabled != desired.enabled {
        fields.push(DetectorField::Enable { from: observed.enabled, to: desired.enabled });
    }
    if observed.frequency != Some(desired.frequency) {
        fields.push(DetectorField::Frequency { from: observed.frequency, to: desired.frequency });
    }
    for (&feature, &to) in &desired.features {
        let from = observed.features.get(&feature).copied().unwrap_or(false);
        if from != to {
            fields.push(DetectorField::Feature { feature, from, to });
        }
    }
    (!fields.is_empty()).then(|| Change::UpdateDetector { detector_id: observed.id.clone(), fields })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn desired() -> DetectorSettings {
        DetectorSettings {
            enabled: true,
            frequency: Frequency::SixHours,
            features: BTreeMap::from([
                (Feature::S3DataEvents, true),
                (Feature::EbsMalwareProtection, true),
                (Feature::EksAuditLogs, false),
            ]),
        }
    }

    fn observed(frequency: Frequency, features: &[(Feature, bool)]) -> ObservedDetector {
        ObservedDetector {
            id: "d1".into(),
            enabled: true,
            frequency: Some(frequency),
            features: features.iter().copied().collect(),
        }
    }

    #[test]
    fn no_detector_means_create_with_the_plan() {
        assert_eq!(detector(&desired(), None), Some(Change::CreateDetector { settings: desired() }));
    }

    #[test]
    fn matching_detector_means_no_change() {
        let current = observed(
            Frequency::SixHours,
            &[
                (Feature::S3DataEvents, true),
                (Feature::EbsMalwareProtection, true),
                (Feature::EksAuditLogs, false),
                (Feature::RdsLoginEvents, true),
            ],
        );
        assert_eq!(detector(&desired(), Some(&current)), None);
    }

    #[test]
    fn only_differing_fields_are_updated() {
        let mut current = observed(
            Frequency::FifteenMinutes,
            &[(Feature::S3DataEvents, false), (Feature::EbsMalwareProtection, true), (Feature::EksAuditLogs, true)],
        );
        current.enabled = false;
        assert_eq!(
            detector(&desired(), Some(&current)),
            Some(Change::UpdateDetector {
                detector_id: "d1".into(),
                fields: vec![
                    DetectorField::Enable { from: false, to: true },
                    DetectorField::Frequency { from: Some(Frequency::FifteenMinutes), to: Frequency::SixHours },
                    DetectorField::Feature { feature: Feature::S3DataEvents, from: false, to: true },
                    DetectorField::Feature { feature: Feature::EksAuditLogs, from: true, to: false },
                ],
            })
        );
    }

    #[test]
    fn unreported_feature_counts_as_off_and_unknown_frequency_as_drift() {
        let mut current = observed(Frequency::SixHours, &[(Feature::S3DataEvents, true)]);
        current.frequency = None;
        let Some(Change::UpdateDetector { fields, .. }) = detector(&desired(), Some(&current)) else {
            panic!("expected an update");
        };
        assert_eq!(
            fields,
            vec![
                DetectorField::Frequency { from: None, to: Frequency::SixHours },
                DetectorField::Feature { feature: Feature::EbsMalwareProtection, from: false, to: true },
            ]
        );
    }

    #[test]
    fn features_absent_from_the_plan_are_left_alone() {
        let mut plan = desired();
        plan.features.clear();
        let current = observed(Frequency::SixHours, &[(Feature::S3DataEvents, false), (Feature::RdsLoginEvents, true)]);
        assert_eq!(detector(&plan, Some(&current)), None);
    }
}
