//! Parse the command line, call one `ops` function, map the result to an exit code.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{CommandFactory, Parser};
use orgguard::discover::Narrowing;
use orgguard::model::{AccountId, Region};
use orgguard::ops::{self, Targeting};
use orgguard::report::{self, BaselineComparison};
use orgguard::safe::{printable, Printable};

mod cli;

use cli::{AuditFormat, Cli, Command, LogFormat, Scope};

/// Many small allocations per AWS call (the SDK's requests, responses and configuration
/// layers): mimalloc spends less CPU on them than glibc's malloc. Built without transparent
/// huge pages (Cargo.toml): with them, its resident memory was twice glibc's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Rollout: every target matches the plan. Audit: no drift.
const OK: u8 = 0;
/// A target failed, the audit could not read everything, or the run could not start.
const FAILED: u8 = 1;
/// Audit: drift found (as `terraform plan -detailed-exitcode`).
const DRIFT: u8 = 2;
/// Stopped by Ctrl-C or SIGTERM before every target was worked on (128 + SIGINT).
const INTERRUPTED: u8 = 130;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    match run(cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {}", printable(&format!("{error:#}")));
            ExitCode::from(FAILED)
        }
    }
}

fn run(command: Command) -> Result<u8> {
    match command {
        Command::Validate { plan } => {
            let valid = ops::validate(&plan)?;
            for warning in valid.warnings() {
                eprintln!("warning: {}", printable(&warning));
            }
            println!("{}: plan is valid", plan.display());
            Ok(OK)
        }
        Command::IamPolicy { plan, principal, purpose, partition, own_account } => {
            let policy = ops::iam_policy(&plan, principal, purpose, &partition, own_account)?;
            println!("{}", serde_json::to_string_pretty(&policy)?);
            Ok(OK)
        }
        Command::Init { out, offline, endpoint_url, profile } => {
            for note in runtime(1)?.block_on(ops::init(&out, endpoint_url, profile, offline))? {
                eprintln!("{}", printable(&note));
            }
            println!("{}: written; review it, then: orgguard validate --plan {0} && orgguard rollout --plan {0} --dry-run", out.display());
            Ok(OK)
        }
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "orgguard", &mut std::io::stdout());
            Ok(OK)
        }
        Command::Man => {
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
            Ok(OK)
        }
        Command::Rollout(args) => {
            let journal = args.record.journal.unwrap_or_else(|| default_journal(&args.plan, "journal"));
            let options = ops::RolloutOptions {
                dry_run: args.dry_run,
                replace_admin: args.replace_admin,
                journal,
                resume: args.record.resume,
                migrate_invitations: args.migrate_invitations,
                out: args.out,
                apply: args.apply,
                forecast_latency_ms: args.forecast_latency_ms,
            };
            let targeting = targeting(args.plan, &args.scope)?;
            let summary = runtime(targeting.threads)?.block_on(ops::rollout(&targeting, &options))?;
            finish(summary, args.record.detail, args.record.summary_json.as_deref())
        }
        Command::Teardown(args) => teardown(args),
        Command::Audit(args) => {
            let targeting = targeting(args.plan, &args.scope)?;
            let audit = runtime(targeting.threads)?.block_on(ops::audit(&targeting, args.baseline.as_deref()))?;
            match args.format {
                AuditFormat::Table => print!("{}", printable(&report::render_table(&audit.report, args.detail))),
                AuditFormat::Json => print!("{}", report::Format::Json.render(&audit.report)),
            }
            let drift = audit.report.count(orgguard::audit::Verdict::Fail) > 0;
            Ok(if audit.interrupted {
                INTERRUPTED
            } else if audit.incomplete {
                FAILED
            } else if drift {
                DRIFT
            } else {
                OK
            })
        }
        Command::Drill(args) => {
            let targeting = targeting(args.plan, &args.scope)?;
            // On an emulator the metrics are there at once; AWS publishes them once a minute.
            let every = Duration::from_secs(if targeting.endpoint_url.is_some() { 1 } else { 20 });
            let options = ops::DrillOptions { finding_type: args.finding_type, sample: args.sample, timeout: Duration::from_secs(args.timeout), every };
            let runtime = runtime(targeting.threads)?;
            let prepared = runtime.block_on(ops::prepare_drill(&targeting, &options))?;
            eprintln!("drill: one sample finding of {} in each of {} account-regions", options.finding_type, prepared.targets.len());
            if prepared.rules.is_empty() {
                // Nothing would travel: a drill that passes vacuously would say the path works.
                eprintln!("drill: no rule of the plan's [notifications] matches a finding of {}: nothing to drill", options.finding_type);
                return Ok(FAILED);
            }
            eprintln!("rules of the plan it matches: {}", prepared.rules.join(", "));
            for notice in prepared.notices() {
                eprintln!("  {}", printable(&notice));
            }
            if args.dry_run {
                return Ok(OK);
            }
            if !args.yes {
                eprint!("Send them? Type yes: ");
                if !confirmed()? {
                    eprintln!("drill: not confirmed; nothing was sent");
                    return Ok(FAILED);
                }
            }
            let results = runtime.block_on(prepared.run(&options));
            match args.format {
                AuditFormat::Json => println!("{}", serde_json::to_string_pretty(&results)?),
                AuditFormat::Table => {
                    for r in &results {
                        let line = match &r.outcome {
                            ops::DrillOutcome::Pass => format!("PASS  {} {}", r.account, r.region),
                            ops::DrillOutcome::Fail { step, detail } => format!("FAIL  {} {}: {step} ({detail})", r.account, r.region),
                            ops::DrillOutcome::Error { operation, message } => format!("ERROR {} {}: {operation}: {message}", r.account, r.region),
                            ops::DrillOutcome::Skipped { reason } => format!("SKIP  {} {}: {reason}", r.account, r.region),
                            ops::DrillOutcome::Suppressed => {
                                format!("SUPPRESSED {} {}: a suppression rule archived the sample, so it was not sent (drill with another --finding-type)", r.account, r.region)
                            }
                        };
                        println!("{}", printable(&line));
                    }
                }
            }
            let errors = results.iter().any(|r| matches!(r.outcome, ops::DrillOutcome::Error { .. }));
            // A suppressed sample proves nothing of its path.
            let failures = results.iter().any(|r| matches!(r.outcome, ops::DrillOutcome::Fail { .. } | ops::DrillOutcome::Suppressed));
            Ok(if errors { FAILED } else if failures { DRIFT } else { OK })
        }
        Command::Report(args) => {
            let mut report = match &args.from {
                Some(saved) => ops::load_report(saved)?,
                None => {
                    let plan = args.plan.context("--plan or --from is required")?;
                    let targeting = targeting(plan, &args.scope)?;
                    runtime(targeting.threads)?.block_on(ops::audit(&targeting, None))?.report
                }
            };
            if let Some(path) = &args.baseline {
                report.baseline = Some(BaselineComparison::new(&ops::load_report(path)?, &report.results));
            }
            for path in report::write(&report, &args.format, &args.out).with_context(|| format!("writing into {}", args.out.display()))? {
                println!("wrote {}", path.display());
            }
            Ok(OK)
        }
    }
}

/// The summary on stdout (and as JSON if asked); the exit code it makes.
fn finish(mut summary: orgguard::summary::Summary, detail: bool, json: Option<&std::path::Path>) -> Result<u8> {
    let mut stdout = Printable(std::io::BufWriter::new(std::io::stdout().lock()));
    if let Err(error) = summary.write(&mut stdout, detail).and_then(|()| stdout.flush()) {
        // A closed pipe (`| head`) costs the text, not the JSON or the exit code.
        eprintln!("warning: the summary could not be written to stdout: {error}");
    }
    // After the summary is written, so that its peak counts too.
    summary.peak_rss_mb = ops::peak_rss_mb();
    if let Some(path) = json {
        ops::write_json(path, &summary)?;
    }
    Ok(if summary.interrupted() {
        INTERRUPTED
    } else if summary.has_failures() {
        FAILED
    } else {
        OK
    })
}

fn default_journal(plan: &std::path::Path, suffix: &str) -> PathBuf {
    let name = plan.file_stem().map_or("plan".into(), |s| s.to_string_lossy().into_owned());
    PathBuf::from(format!("orgguard-{name}.{suffix}"))
}

/// Teardown: without --dry-run or --yes, a dry run first, its deletions counted by kind,
/// and only what the person confirms on the terminal is made.
fn teardown(args: cli::TeardownArgs) -> Result<u8> {
    use cli::TeardownLayer as L;
    use std::io::IsTerminal;
    let only = |layer| args.only.is_empty() || args.only.contains(&layer);
    if args.delete_detectors && !only(L::Detectors) {
        anyhow::bail!("--delete-detectors, but --only leaves detectors out");
    }
    if args.only.contains(&L::Detectors) && !args.delete_detectors {
        anyhow::bail!("--only detectors deletes every detector with its findings: add --delete-detectors to say so");
    }
    if args.delete_detectors && !only(L::Membership) {
        anyhow::bail!("organization members' detectors go only once they are disassociated: add membership to --only");
    }
    // Removing the designation removes every member, not only the accounts named.
    let some_accounts = !args.scope.accounts.is_empty();
    // So do the admin's suppression rules, IP lists and findings export: they serve every member.
    if some_accounts && (args.only.contains(&L::Admin) || args.only.contains(&L::Central)) {
        anyhow::bail!("--accounts narrows the teardown, but the delegated admin's designation, suppression rules, IP lists and export serve every member of the organization");
    }
    if some_accounts && only(L::Admin) {
        eprintln!("note: --accounts: the delegated admin stays designated and keeps its suppression rules, IP lists and export (they serve every member)");
    }
    let teardown = orgguard::layers::teardown::Teardown {
        wiring: only(L::Wiring),
        iam: only(L::Wiring) || only(L::Exfiltration),
        exfiltration: only(L::Exfiltration),
        membership: only(L::Membership),
        admin: only(L::Admin) && !some_accounts,
        detectors: args.delete_detectors,
        central: only(L::Central) && !some_accounts,
        prune_subscriptions: args.prune_subscriptions,
        some_accounts,
    };
    let record = &args.record;
    let journal = record.journal.clone().unwrap_or_else(|| default_journal(&args.plan, "teardown.journal"));
    let mut options = ops::TeardownOptions { teardown, dry_run: args.dry_run, journal, resume: record.resume, confirmed: None };
    let targeting = targeting(args.plan, &args.scope)?;
    if !args.dry_run && !args.yes {
        if !std::io::stdin().is_terminal() {
            anyhow::bail!("teardown deletes: it asks on a terminal, and otherwise needs --yes (review it first with --dry-run)");
        }
        // Before the question, not after the answer.
        ops::check_resume(&targeting, &options)?;
        let preview = ops::TeardownOptions { teardown, dry_run: true, ..Default::default() };
        let preview = runtime(targeting.threads)?.block_on(ops::teardown(&targeting, &preview))?;
        let counts = deletions(&preview);
        options.confirmed = Some(orgguard::changeset::Reviewed::of(&preview.results));
        let code = finish(preview, record.detail, record.summary_json.as_deref())?;
        if code != OK {
            eprintln!("teardown: the dry run could not read or plan everything (above); nothing was deleted");
            return Ok(code);
        }
        if counts.is_empty() {
            return Ok(OK);
        }
        eprint!("Delete {}?\nOnly these are deleted; type yes to go on: ", counts.join(", "));
        if !confirmed()? {
            eprintln!("teardown: not confirmed; nothing was deleted");
            return Ok(FAILED);
        }
    }
    let summary = runtime(targeting.threads)?.block_on(ops::teardown(&targeting, &options))?;
    finish(summary, record.detail, record.summary_json.as_deref())
}

/// A dry run's deletions by kind, each with how many things it removes (a membership
/// change names many accounts).
fn deletions(preview: &orgguard::summary::Summary) -> Vec<String> {
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for change in preview.results.iter().filter(|r| r.status == orgguard::outcome::Status::Planned).flat_map(|r| &r.changes) {
        *counts.entry(change.kind()).or_default() += change.count();
    }
    counts.iter().map(|(kind, n)| format!("{kind}: {n}")).collect()
}

/// One line from the terminal; Ctrl-C or end of input is a no. The line is read on a
/// thread of its own, which a no leaves behind as the process ends.
fn confirmed() -> Result<bool> {
    let (answer, line) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = answer.send(std::io::stdin().read_line(&mut line).map(|_| line));
    });
    runtime(1)?.block_on(async {
        tokio::select! {
            line = line => Ok(matches!(line, Ok(Ok(l)) if l.trim() == "yes")),
            _ = tokio::signal::ctrl_c() => Ok(false),
        }
    })
}

/// The runtime a run's accounts are worked on with (each account a task): one thread is a
/// current-thread runtime, with no wake-ups across threads; more is tokio's multi-threaded
/// one. Commands that do not enter accounts take one.
fn runtime(threads: usize) -> Result<tokio::runtime::Runtime> {
    let mut builder = match threads {
        1 => tokio::runtime::Builder::new_current_thread(),
        n => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(n);
            builder
        }
    };
    builder.enable_all().build().context("starting the async runtime")
}

fn targeting(plan: PathBuf, scope: &Scope) -> Result<Targeting> {
    let accounts = scope
        .accounts
        .iter()
        .map(|a| AccountId::parse(a).map_err(anyhow::Error::msg).context("--accounts"))
        .collect::<Result<BTreeSet<_>>>()?;
    let regions = scope
        .regions
        .iter()
        .map(|r| Region::parse(r).map_err(anyhow::Error::msg).context("--regions"))
        .collect::<Result<BTreeSet<_>>>()?;
    Ok(Targeting {
        plan,
        narrowing: Narrowing {
            accounts: (!accounts.is_empty()).then_some(accounts),
            regions: (!regions.is_empty()).then_some(regions),
        },
        concurrency: scope.concurrency.map(usize::from),
        threads: scope.threads.map_or_else(|| std::thread::available_parallelism().map_or(1, usize::from), usize::from),
        endpoint_url: scope.endpoint_url.clone(),
        profile: scope.profile.clone(),
    })
}

/// The SDK's own debug logs print credentials' access key ids; every target of the SDK's
/// crates stays at info or above whatever ORGGUARD_LOG asks for, a more specific directive
/// (`aws_smithy_runtime::client=trace`) included.
fn sdk_log_cap(metadata: &tracing::Metadata<'_>) -> bool {
    let sdk = ["aws_smithy_", "aws_config", "aws_credential_types", "aws_runtime", "aws_sigv4", "aws_sdk_"];
    *metadata.level() <= tracing::Level::INFO || !sdk.iter().any(|prefix| metadata.target().starts_with(prefix))
}

fn init_logging(format: LogFormat) {
    use tracing_subscriber::filter::FilterExt;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    // By default the SDK's own warnings (its instance-metadata probing, say) stay out of the
    // terminal: a failure is explained in one line; ORGGUARD_LOG brings them back.
    let wanted = std::env::var("ORGGUARD_LOG").unwrap_or_else(|_| "warn,aws_config=error,aws_smithy_runtime=error,aws_runtime=error".into());
    let filter = tracing_subscriber::EnvFilter::try_new(&wanted).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let filter = filter.and(tracing_subscriber::filter::filter_fn(sdk_log_cap));
    let text = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    match format {
        LogFormat::Text => tracing_subscriber::registry().with(text.with_filter(filter)).init(),
        LogFormat::Json => tracing_subscriber::registry().with(text.json().with_filter(filter)).init(),
    }
}
