//! `orgguard init`: a first plan file.

use std::path::Path;

use super::OpsError;
use crate::aws::{Aws, ConnectOptions};

/// Writes a first plan at `out`: the seed's defaults, and unless `offline` what the caller's
/// credentials can read of the organization. Returns what was guessed or left to decide.
pub async fn init(out: &Path, endpoint_url: Option<String>, profile: Option<String>, offline: bool) -> Result<Vec<String>, OpsError> {
    let found = match offline {
        true => crate::init::Found::default(),
        false => {
            let defaults = crate::plan::Limits::default();
            let throttle_budget = std::time::Duration::from_secs(defaults.throttle_budget_seconds);
            let options = ConnectOptions { endpoint_url, max_attempts: 3, throttle_budget, rates: defaults.rates, count_calls: false, profile };
            let aws = Aws::connect(&options).await.map_err(OpsError::Connect)?;
            let home = aws.home_region().unwrap_or_else(|| crate::model::Region::parse("us-east-1").expect("a known region"));
            crate::init::look(&aws, &home).await
        }
    };
    let (text, notes) = crate::init::plan(&found);
    crate::init::write(out, &text).map_err(|source| OpsError::Write { path: out.to_owned(), source })?;
    Ok(notes)
}
