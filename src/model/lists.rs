//! Trusted IP lists and threat intel sets: files of addresses GuardDuty reads from S3.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Which of GuardDuty's two kinds of list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ListKind {
    /// An IP set: addresses GuardDuty raises no finding for (one per account and region).
    Trusted,
    /// A threat intel set: addresses that make a finding (six per account and region).
    Threat,
}

impl fmt::Display for ListKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Trusted => "trusted IP list",
            Self::Threat => "threat list",
        })
    }
}

/// A list file's format, as GuardDuty names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ListFormat {
    Txt,
    Stix,
    OtxCsv,
    AlienVault,
    ProofPoint,
    FireEye,
}

impl ListFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Txt => "TXT",
            Self::Stix => "STIX",
            Self::OtxCsv => "OTX_CSV",
            Self::AlienVault => "ALIEN_VAULT",
            Self::ProofPoint => "PROOF_POINT",
            Self::FireEye => "FIRE_EYE",
        }
    }
}

/// A findings export destination of the delegated admin's detector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedDestination {
    pub id: String,
    /// The bucket's ARN, with the prefix if any.
    pub destination_arn: String,
    pub kms_key_arn: String,
    /// The account GuardDuty checks owns the bucket, if one was given.
    pub expected_owner: Option<String>,
    pub status: DestinationStatus,
}

/// A list as the delegated admin's detector holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedList {
    pub kind: ListKind,
    pub id: String,
    pub name: String,
    /// As GuardDuty gave it (a format this version does not know stays as text).
    pub format: String,
    pub location: String,
    /// The account GuardDuty checks owns the bucket, if one was given.
    pub expected_owner: Option<String>,
    pub status: ListStatus,
}

statuses! {
    /// A list's status.
    ListStatus {
        Inactive = "INACTIVE",
        Activating = "ACTIVATING",
        Active = "ACTIVE",
        Deactivating = "DEACTIVATING",
        Error = "ERROR",
        DeletePending = "DELETE_PENDING",
        Deleted = "DELETED",
    }
}

impl ListStatus {
    /// Being deleted: gone, as far as a plan is concerned.
    pub fn is_gone(&self) -> bool {
        matches!(self, Self::DeletePending | Self::Deleted)
    }

    /// Active or on its way there: nothing to do.
    pub fn is_settled(&self) -> bool {
        matches!(self, Self::Active | Self::Activating)
    }
}

statuses! {
    /// A publishing destination's status.
    DestinationStatus {
        PendingVerification = "PENDING_VERIFICATION",
        Publishing = "PUBLISHING",
        UnableToPublish = "UNABLE_TO_PUBLISH_FIX_DESTINATION_PROPERTY",
        Stopped = "STOPPED",
    }
}

impl DestinationStatus {
    /// Publishing, or about to once GuardDuty has checked the bucket: nothing to do.
    pub fn is_working(&self) -> bool {
        matches!(self, Self::Publishing | Self::PendingVerification)
    }
}
