//! Command-line definitions only; `main` turns them into options for `ops`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "orgguard", version, about = "Roll Amazon GuardDuty out across an AWS Organization, keep it there, and prove it")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a plan file without calling AWS.
    Validate {
        #[arg(long)]
        plan: PathBuf,
    },
    /// Make every target account and region match the plan.
    Rollout(RolloutArgs),
}

#[derive(Debug, Args)]
pub struct RolloutArgs {
    #[arg(long)]
    pub plan: PathBuf,
    /// Show every change the rollout would make; make none.
    #[arg(long)]
    pub dry_run: bool,
    /// Only these accounts (comma-separated 12-digit ids).
    #[arg(long, value_delimiter = ',')]
    pub accounts: Vec<String>,
    /// Only these regions (comma-separated), within the plan's.
    #[arg(long, value_delimiter = ',')]
    pub regions: Vec<String>,
    /// Replace a delegated GuardDuty admin that differs from the plan's (otherwise a conflict is reported).
    #[arg(long)]
    pub replace_admin: bool,
    /// Account-regions worked on at once (default: the plan's limits.concurrency).
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Send every AWS call here instead of AWS's endpoints (an emulator, a proxy).
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    /// Also write the summary, with every target's result, as JSON to this file.
    #[arg(long)]
    pub summary_json: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}
