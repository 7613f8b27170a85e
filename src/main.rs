//! Parse the command line, call one `ops` function, map the result to an exit code.

use std::collections::BTreeSet;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use orgguard::discover::Narrowing;
use orgguard::model::{AccountId, Region};
use orgguard::ops::{self, RolloutOptions};

mod cli;

use cli::{Cli, Command, LogFormat, RolloutArgs};

/// Every target matches the plan (or, for a dry run, the run completed).
const OK: u8 = 0;
/// A target failed, or the run could not start.
const FAILED: u8 = 1;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    match run(cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(FAILED)
        }
    }
}

fn run(command: Command) -> Result<u8> {
    match command {
        Command::Validate { plan } => {
            ops::validate(&plan)?;
            println!("{}: plan is valid", plan.display());
            Ok(OK)
        }
        Command::Rollout(args) => {
            let options = rollout_options(args.plan.clone(), &args)?;
            let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            let summary = runtime.block_on(ops::rollout(&options))?;
            print!("{}", summary.render());
            if let Some(path) = &args.summary_json {
                ops::write_json(path, &summary)?;
            }
            Ok(if summary.has_failures() { FAILED } else { OK })
        }
    }
}

fn rollout_options(plan: std::path::PathBuf, args: &RolloutArgs) -> Result<RolloutOptions> {
    let accounts = args
        .accounts
        .iter()
        .map(|a| AccountId::parse(a).map_err(anyhow::Error::msg).context("--accounts"))
        .collect::<Result<BTreeSet<_>>>()?;
    let regions = args
        .regions
        .iter()
        .map(|r| Region::parse(r).map_err(anyhow::Error::msg).context("--regions"))
        .collect::<Result<BTreeSet<_>>>()?;
    if args.concurrency == Some(0) {
        anyhow::bail!("--concurrency must be at least 1");
    }
    Ok(RolloutOptions {
        plan,
        dry_run: args.dry_run,
        narrowing: Narrowing {
            accounts: (!accounts.is_empty()).then_some(accounts),
            regions: (!regions.is_empty()).then_some(regions),
        },
        concurrency: args.concurrency,
        replace_admin: args.replace_admin,
        endpoint_url: args.endpoint_url.clone(),
    })
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ORGGUARD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
