//! The commands, one function each: options in, result out; no argument parsing here.

use std::path::PathBuf;
use std::time::Instant;

use crate::apply::{self, RunOptions};
use crate::aws::{Aws, AwsError, ConnectOptions};
use crate::discover::{self, Narrowing, ScopeError};
use crate::plan::{Plan, PlanError};
use crate::progress::Progress;
use crate::summary::Summary;

#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("while connecting to AWS: {0}")]
    Connect(AwsError),
    #[error(transparent)]
    Scope(#[from] ScopeError),
    #[error("while writing {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

#[derive(Clone, Debug)]
pub struct RolloutOptions {
    pub plan: PathBuf,
    pub dry_run: bool,
    pub narrowing: Narrowing,
    pub concurrency: Option<usize>,
    pub replace_admin: bool,
    pub endpoint_url: Option<String>,
}

pub fn validate(path: &std::path::Path) -> Result<Plan, PlanError> {
    Plan::load(path)
}

pub async fn rollout(options: &RolloutOptions) -> Result<Summary, OpsError> {
    let started = Instant::now();
    let plan = Plan::load(&options.plan)?;
    let aws = Aws::connect(&ConnectOptions {
        endpoint_url: options.endpoint_url.clone(),
        max_attempts: plan.limits.max_attempts,
    })
    .await
    .map_err(OpsError::Connect)?;
    let scope = discover::scope(&aws, &plan, &options.narrowing).await?;
    let progress = Progress::new((scope.accounts.len() * scope.regions.len()) as u64);
    let run = RunOptions {
        dry_run: options.dry_run,
        concurrency: options.concurrency.unwrap_or(plan.limits.concurrency).max(1),
        replace_admin: options.replace_admin,
    };
    let results = apply::run(&aws, &plan, &scope, run, &progress).await;
    progress.finish();
    let mut summary = Summary::new("rollout", options.dry_run, scope.accounts.len(), scope.regions.len(), results);
    summary.elapsed_seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

pub fn write_json(path: &std::path::Path, summary: &Summary) -> Result<(), OpsError> {
    let text = serde_json::to_string_pretty(summary).expect("the summary serializes");
    std::fs::write(path, text + "\n").map_err(|source| OpsError::Write { path: path.to_owned(), source })
}
