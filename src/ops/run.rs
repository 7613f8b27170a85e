//! What every command that reads the organization shares: the plan loaded, AWS connected,
//! the organization discovered, the engine run over it, the journal and the forecast.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use sha2::{Digest, Sha256};

use super::{OpsError, RolloutOptions, Targeting, TeardownOptions};
use crate::aws::{Aws, ConnectOptions};
use crate::changeset::Reviewed;
use crate::discover::{self, Scope};
use crate::engine::{self, Stop};
use crate::estimate::{self, Estimate};
use crate::journal::Journal;
use crate::layers::teardown::Teardown;
use crate::layers::{Context, Options};
use crate::results::TargetResult;
use crate::plan::Plan;
use crate::progress::Progress;
use crate::summary::Summary;

/// One run of the engine over the organization, as every command that reads it ends.
pub(super) struct Run {
    pub(super) plan: Arc<Plan>,
    pub(super) plan_sha256: String,
    pub(super) scope: Scope,
    pub(super) results: Vec<TargetResult>,
    started: Instant,
    journal: Option<PathBuf>,
    /// A dry run's forecast of the rollout.
    estimate: Option<Estimate>,
}

/// What the engine runs for: a rollout (perhaps a dry run), an audit, or a teardown.
pub(super) enum Use<'a> {
    Rollout(&'a RolloutOptions),
    Audit,
    Teardown(&'a TeardownOptions),
}

impl<'a> Use<'a> {
    fn dry_run(&self) -> bool {
        match self {
            Self::Rollout(options) => options.dry_run,
            Self::Audit => true,
            Self::Teardown(options) => options.dry_run,
        }
    }

    /// The journal, its key (what a resumed run must have been) and whether to resume.
    pub(super) fn journal(&self, plan_sha256: &str) -> Option<(&'a Path, String, bool)> {
        match *self {
            Self::Rollout(o) if !o.dry_run => Some((&o.journal, plan_sha256.to_owned(), o.resume)),
            Self::Teardown(o) if !o.dry_run => Some((&o.journal, format!("teardown {} of {plan_sha256}", o.teardown.key()), o.resume)),
            _ => None,
        }
    }
}

/// AWS, as the plan's limits and the command line say (`count_calls`: for a forecast).
pub(super) async fn connect(targeting: &Targeting, plan: &Plan, count_calls: bool) -> Result<Arc<Aws>, OpsError> {
    if let Some(url) = &targeting.endpoint_url {
        // Before anything is signed and sent there.
        let plain = if url.starts_with("http://") { ", unencrypted" } else { "" };
        eprintln!("note: every AWS call goes to {} (--endpoint-url or AWS_ENDPOINT_URL{plain}), not to AWS", crate::safe::printable(url));
    }
    Ok(Arc::new(Aws::connect(&ConnectOptions {
        endpoint_url: targeting.endpoint_url.clone(),
        max_attempts: plan.limits.max_attempts,
        throttle_budget: std::time::Duration::from_secs(plan.limits.throttle_budget_seconds),
        rates: plan.limits.rates.clone(),
        profile: targeting.profile.clone(),
        count_calls,
    })
    .await
    .map_err(|error| {
        let profile = targeting.profile.clone().or_else(|| std::env::var("AWS_PROFILE").ok());
        match error.credentials_problem(profile.as_deref()) {
            Some(problem) => {
                tracing::debug!("while connecting to AWS: {error}");
                OpsError::Credentials(format!("{problem} (the SDK's own words: ORGGUARD_LOG=debug)"))
            }
            None => OpsError::Connect(error),
        }
    })?))
}

/// Loads the plan, connects, discovers the organization and runs the engine over it.
pub(super) async fn start(targeting: &Targeting, runs_for: Use<'_>) -> Result<Run, OpsError> {
    let started = Instant::now();
    let plan = Arc::new(Plan::load(&targeting.plan)?);
    let plan_sha256 = plan_sha256(&targeting.plan);
    if let Use::Rollout(RolloutOptions { out: Some(path), .. }) = &runs_for {
        // Before the run, not after it: a dry run of an hour is not lost to a typo.
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        if !dir.is_dir() {
            let source = std::io::Error::new(std::io::ErrorKind::NotFound, format!("no directory {}", dir.display()));
            return Err(OpsError::Write { path: path.clone(), source });
        }
    }
    let reviewed = match &runs_for {
        Use::Rollout(RolloutOptions { apply: Some(path), .. }) => Some(Reviewed::load(path, &plan_sha256)?),
        Use::Teardown(options) => options.confirmed.clone(),
        _ => None,
    };
    let journal = match runs_for.journal(&plan_sha256) {
        Some((path, key, true)) => Some(Arc::new(Journal::resume(path, &key)?)),
        Some((path, key, false)) => Some(Arc::new(Journal::create(path, &key)?)),
        None => None,
    };
    let aws = connect(targeting, &plan, runs_for.dry_run() && !matches!(runs_for, Use::Audit)).await?;
    let mut discovery = discover::discover(&aws, &plan, &targeting.narrowing).await?;
    if !matches!(runs_for, Use::Rollout(_)) {
        // The audit and the teardown work on the organization from the delegated admin
        // before the accounts.
        discovery.finish().await?;
    }
    let progress = Arc::new(Progress::start());
    let (replace_admin, migrate_invitations) = match runs_for {
        Use::Rollout(options) => (options.replace_admin, options.migrate_invitations),
        _ => (false, false),
    };
    let options = Options {
        dry_run: runs_for.dry_run(),
        replace_admin,
        detectors_from_admin: matches!(runs_for, Use::Audit),
        migrate_invitations,
        teardown: match runs_for {
            Use::Teardown(options) => {
                // The IAM roles serve the rules and flow logs of every region, not only these.
                let iam = options.teardown.iam && !discovery.scope.regions_narrowed;
                if options.teardown.iam && !iam {
                    eprintln!("note: --regions leaves regions of the plan out: the IAM roles and policies stay (their rules and flow logs use them)");
                }
                Some(Teardown { iam, ..options.teardown })
            }
            _ => None,
        },
    };
    let concurrency = targeting.concurrency.unwrap_or(plan.limits.concurrency).max(1);
    let mut cx = Context::new(Arc::clone(&aws), Arc::clone(&plan), options);
    cx.reviewed = reviewed;
    let results = engine::run(cx, &mut discovery, concurrency, Arc::clone(&progress), Stop::on_signals(), journal.clone()).await;
    let scope = discovery.into_scope();
    progress.finish();
    let estimate = (runs_for.dry_run() && !matches!(runs_for, Use::Audit))
        .then(|| {
            let latency = match runs_for {
                Use::Rollout(options) => options.forecast_latency_ms,
                _ => estimate::LATENCY_MS,
            };
            estimate::rollout(aws.calls(), &results, &aws.caller.account, &plan.limits.rates, concurrency, latency, targeting.threads)
        });
    Ok(Run { plan, plan_sha256, scope, results, started, journal: journal.map(|j| j.path().to_owned()), estimate })
}

impl Run {
    pub(super) fn summary(self, command: &'static str, dry_run: bool) -> Summary {
        let mut summary = Summary::new(command, dry_run, self.scope.accounts.len(), self.scope.regions.len(), self.results);
        summary.elapsed_seconds = self.started.elapsed().as_secs_f64();
        summary.journal = self.journal;
        summary.names = self.scope.names;
        summary.estimate = self.estimate;
        summary
    }
}

pub(super) fn plan_sha256(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap_or_default()))
}
