//! The commands, one function each: options in, result out; no argument parsing here.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use sha2::{Digest, Sha256};

use crate::audit;
use crate::aws::{Aws, AwsError, ConnectOptions};
use crate::discover::{self, Narrowing, Scope, ScopeError};
use crate::engine::{self, Stop};
use crate::estimate::{self, Estimate};
use crate::journal::{Journal, JournalError};
use crate::changeset::{self, ChangeSetError, Reviewed};
use crate::layers::teardown::Teardown;
use crate::layers::{Context, Options};
use crate::outcome::{SkipReason, Status, TargetResult};
use crate::plan::{Plan, PlanError};
use crate::progress::Progress;
use crate::report::{AuditReport, BaselineComparison, Metadata};
use crate::resources::coverage::Coverage;
use crate::summary::Summary;

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

pub fn validate(path: &Path) -> Result<Plan, PlanError> {
    Plan::load(path)
}

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

/// What every command that reads the organization shares: plan, scope, engine.
struct Engine {
    plan: Arc<Plan>,
    plan_sha256: String,
    scope: Scope,
    results: Vec<TargetResult>,
    started: Instant,
    journal: Option<PathBuf>,
    /// A dry run's forecast of the rollout.
    estimate: Option<Estimate>,
}

/// How a rollout runs, beyond what it targets.
#[derive(Clone, Debug, Default)]
pub struct RolloutOptions {
    pub dry_run: bool,
    pub replace_admin: bool,
    /// Where finished targets are journaled (not in a dry run).
    pub journal: PathBuf,
    /// Continue from the journal: targets it records applied or unchanged are skipped.
    pub resume: bool,
    /// Undo invitation-era relationships so the delegated admin can add the accounts.
    pub migrate_invitations: bool,
    /// A dry run writes its change set here, for review.
    pub out: Option<PathBuf>,
    /// Make exactly the changes of this reviewed change set.
    pub apply: Option<PathBuf>,
    /// The latency a dry run's forecast assumes for every call.
    pub forecast_latency_ms: u64,
}

/// How a teardown runs.
#[derive(Debug, Default)]
pub struct TeardownOptions {
    pub teardown: Teardown,
    pub dry_run: bool,
    /// Where finished targets are journaled (not in a dry run).
    pub journal: PathBuf,
    /// Continue from the journal: targets it records applied or unchanged are skipped.
    pub resume: bool,
    /// The deletions a person confirmed (from a dry run): only those are made.
    pub confirmed: Option<Reviewed>,
}

/// What the engine runs for: a rollout (perhaps a dry run), an audit, or a teardown.
enum Use<'a> {
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
    fn journal(&self, plan_sha256: &str) -> Option<(&'a Path, String, bool)> {
        match *self {
            Self::Rollout(o) if !o.dry_run => Some((&o.journal, plan_sha256.to_owned(), o.resume)),
            Self::Teardown(o) if !o.dry_run => Some((&o.journal, format!("teardown {} of {plan_sha256}", o.teardown.key()), o.resume)),
            _ => None,
        }
    }
}

async fn engine(targeting: &Targeting, runs_for: Use<'_>) -> Result<Engine, OpsError> {
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
    if let Some(url) = &targeting.endpoint_url {
        // Before anything is signed and sent there.
        let plain = if url.starts_with("http://") { ", unencrypted" } else { "" };
        eprintln!("note: every AWS call goes to {} (--endpoint-url or AWS_ENDPOINT_URL{plain}), not to AWS", crate::safe::printable(url));
    }
    let aws = Arc::new(Aws::connect(&ConnectOptions {
        endpoint_url: targeting.endpoint_url.clone(),
        max_attempts: plan.limits.max_attempts,
        throttle_budget: std::time::Duration::from_secs(plan.limits.throttle_budget_seconds),
        rates: plan.limits.rates.clone(),
        profile: targeting.profile.clone(),
        count_calls: runs_for.dry_run() && !matches!(runs_for, Use::Audit),
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
    })?);
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
    Ok(Engine { plan, plan_sha256, scope, results, started, journal: journal.map(|j| j.path().to_owned()), estimate })
}

pub async fn rollout(targeting: &Targeting, options: &RolloutOptions) -> Result<Summary, OpsError> {
    let run = engine(targeting, Use::Rollout(options)).await?;
    if let Some(path) = options.out.as_ref().filter(|_| options.dry_run) {
        changeset::write(path, &run.plan_sha256, &run.results)?;
    }
    let mut summary = run.summary("rollout", options.dry_run);
    summary.change_set = options.out.clone().filter(|_| options.dry_run);
    Ok(summary)
}

/// With --resume, whether the journal is one this teardown can resume: checked before a
/// person is asked to confirm, not after.
pub fn check_resume(targeting: &Targeting, options: &TeardownOptions) -> Result<(), OpsError> {
    if options.resume {
        let (path, key, _) = Use::Teardown(options).journal(&plan_sha256(&targeting.plan)).expect("a teardown that is not a dry run journals");
        Journal::check(path, &key)?;
    }
    Ok(())
}

/// Takes the plan's resources back out (`orgguard teardown`), or with `dry_run` lists
/// every deletion.
pub async fn teardown(targeting: &Targeting, options: &TeardownOptions) -> Result<Summary, OpsError> {
    Ok(engine(targeting, Use::Teardown(options)).await?.summary("teardown", options.dry_run))
}

impl Engine {
    fn summary(self, command: &'static str, dry_run: bool) -> Summary {
        let mut summary = Summary::new(command, dry_run, self.scope.accounts.len(), self.scope.regions.len(), self.results);
        summary.elapsed_seconds = self.started.elapsed().as_secs_f64();
        summary.journal = self.journal;
        summary.names = self.scope.names;
        summary.estimate = self.estimate;
        summary
    }
}

/// An audit's report, and whether every target could be read.
pub struct Audit {
    pub report: AuditReport,
    /// A target could not be read (denied role, throttling past the retry budget, ...).
    pub incomplete: bool,
    /// Ctrl-C or SIGTERM stopped the audit before every target was read.
    pub interrupted: bool,
}

/// Read-only: a dry run of the rollout, judged control by control.
pub async fn audit(targeting: &Targeting, baseline: Option<&Path>) -> Result<Audit, OpsError> {
    let baseline = baseline.map(load_report).transpose()?;
    let run = engine(targeting, Use::Audit).await?;
    let plan_name = targeting.plan.file_stem().map_or("plan".into(), |s| s.to_string_lossy().into_owned());
    let results = audit::judge(&run.plan, &plan_name, &run.results);
    let incomplete = run.results.iter().any(|r| matches!(&r.status, Status::Failed(e) if !e.is_conflict()) || matches!(r.coverage, Some(Coverage::Failed(_))));
    let interrupted = run.results.iter().any(|r| r.status == Status::Skipped(SkipReason::Interrupted));
    let report = AuditReport {
        metadata: Metadata {
            tool: "orgguard".into(),
            tool_version: env!("CARGO_PKG_VERSION").into(),
            plan: targeting.plan.display().to_string(),
            plan_sha256: run.plan_sha256,
            generated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            accounts: run.scope.accounts.len(),
            regions: run.scope.regions.clone(),
        },
        controls: audit::controls(&run.plan),
        baseline: baseline.as_ref().map(|b| BaselineComparison::new(b, &results)),
        account_names: run.scope.names,
        coverage: run.results.iter().flat_map(|r| match &r.coverage { Some(Coverage::Read(rows)) => rows.as_slice(), _ => &[] }).cloned().collect(),
        results,
    };
    Ok(Audit { report, incomplete, interrupted })
}

fn plan_sha256(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap_or_default()))
}

/// This process's peak resident memory in MB, from /proc (Linux). A parent's figure from
/// before exec does not count in it, unlike getrusage's.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

pub fn load_report(path: &Path) -> Result<AuditReport, OpsError> {
    let fail = |message: String| OpsError::ReadReport { path: path.to_owned(), message };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    let mut report: AuditReport = serde_json::from_str(&text).map_err(|e| fail(format!("not an orgguard audit result: {e}")))?;
    // A result written by an earlier version may have its controls in text order.
    report.controls.sort_by(|a, b| audit::natural(&a.id, &b.id));
    audit::sort_results(&mut report.results);
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
