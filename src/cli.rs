//! Command-line definitions only; `main` turns them into options for `ops`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use orgguard::report::Format;

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
    /// Write a first plan: the seed's defaults, and what the management account's credentials
    /// can read of the organization (its delegated admin, whether the member role works).
    Init {
        /// Where the plan goes; an existing file is left alone.
        #[arg(long, default_value = "orgguard.toml")]
        out: PathBuf,
        /// Read nothing from AWS: the seed's defaults only.
        #[arg(long)]
        offline: bool,
        /// Send every AWS call here instead of AWS's endpoints (an emulator, a proxy).
        #[arg(long, env = "AWS_ENDPOINT_URL")]
        endpoint_url: Option<String>,
        /// A named profile of ~/.aws/config, as the AWS CLI's --profile.
        #[arg(long)]
        profile: Option<String>,
    },
    /// Check a plan file without calling AWS.
    Validate {
        /// The plan file (TOML).
        #[arg(long)]
        plan: PathBuf,
    },
    /// Print the least-privilege IAM policy (JSON) that one principal needs to run one
    /// command with these plans, with their names in the resources. No AWS call.
    IamPolicy {
        /// The plan file (TOML); repeat it for a policy that serves several plans.
        #[arg(long, required = true)]
        plan: Vec<PathBuf>,
        /// Who the policy is for: the identity that runs orgguard in the management account,
        /// or the member role (`organization.member_role`) in every other account.
        #[arg(long, value_enum)]
        principal: orgguard::permissions::Principal,
        /// The command it is for: rollout (and everything read-only), audit (reads only, for
        /// audit, report and rollout --dry-run), teardown or drill.
        #[arg(long = "for", value_enum)]
        purpose: orgguard::permissions::Purpose,
        /// The AWS partition of the resources' ARNs.
        #[arg(long, default_value = "aws", value_parser = ["aws", "aws-cn", "aws-us-gov"])]
        partition: String,
        /// The management account's policy also covers its own account as a target (as with
        /// `include_management_account = true`, which sets it too).
        #[arg(long)]
        own_account: bool,
    },
    /// Make every target account and region match the plan.
    Rollout(RolloutArgs),
    /// Take what the plan put there back out, and nothing else (asks first; see --dry-run).
    /// Exit 0: done; 1: a target failed, or not confirmed; 130: interrupted.
    Teardown(TeardownArgs),
    /// Read-only drift audit. Exit 0: no drift; 2: drift found; 1: the audit itself failed.
    Audit(AuditArgs),
    /// Send one sample finding through each chosen account-region's alert path and say how far
    /// it went (asks first; see --dry-run). Exit 0: every path delivered; 2: one did not; 1:
    /// the drill could not be made or read somewhere.
    Drill(DrillArgs),
    /// Write compliance evidence files from a fresh audit or a saved one (--from).
    Report(ReportArgs),
    /// Print the shell completion script (e.g. `orgguard completions bash > /etc/bash_completion.d/orgguard`).
    Completions {
        /// The shell to complete in.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `orgguard man > orgguard.1`.
    Man,
}

/// Which part of the organization one run covers, and how to reach AWS.
#[derive(Debug, Args)]
pub struct Scope {
    /// Only these accounts (comma-separated 12-digit ids).
    #[arg(long, value_delimiter = ',')]
    pub accounts: Vec<String>,
    /// Only these regions (comma-separated), within the plan's.
    #[arg(long, value_delimiter = ',')]
    pub regions: Vec<String>,
    /// Account-regions worked on at once, 1 to 1024 (default: the plan's limits.concurrency).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub concurrency: Option<u16>,
    /// Threads the accounts are worked on with, 1 to 256 (default: the machine's cores).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,
    /// Send every AWS call here instead of AWS's endpoints (an emulator, a proxy).
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    /// A named profile of ~/.aws/config (SSO and credential_process profiles included), as the AWS CLI's --profile.
    #[arg(long)]
    pub profile: Option<String>,
}

#[derive(Debug, Args)]
pub struct RolloutArgs {
    /// The plan file (TOML).
    #[arg(long)]
    pub plan: PathBuf,
    #[command(flatten)]
    pub scope: Scope,
    /// Show every change the rollout would make; make none.
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run: write the change set to this file, for review and `--apply`.
    #[arg(long, requires = "dry_run")]
    pub out: Option<PathBuf>,
    /// With --dry-run: the latency of one AWS call the forecast assumes, in ms.
    #[arg(long, requires = "dry_run", default_value_t = orgguard::estimate::LATENCY_MS)]
    pub forecast_latency_ms: u64,
    /// Make exactly the changes of a reviewed change set (from `--dry-run --out`); a target
    /// that no longer plans what was reviewed is left alone and reported as stale.
    #[arg(long, conflicts_with = "dry_run")]
    pub apply: Option<PathBuf>,
    /// Replace a delegated GuardDuty admin that differs from the plan's (otherwise a conflict is reported).
    #[arg(long)]
    pub replace_admin: bool,
    #[command(flatten)]
    pub record: Record,
    /// Accounts still tied to an invitation-era GuardDuty administrator (or with invitations
    /// pending): disassociate them and decline the invitations, so the delegated admin can add
    /// them. Without it they are reported as conflicts and left alone.
    #[arg(long)]
    pub migrate_invitations: bool,
}

/// How a run that changes things reports and records itself.
#[derive(Debug, Args)]
pub struct Record {
    /// Also write the summary, with every target's result, as JSON to this file.
    #[arg(long)]
    pub summary_json: Option<PathBuf>,
    /// A line per change per target, instead of identical changes collapsed with a count.
    #[arg(long)]
    pub detail: bool,
    /// Journal of finished targets, written as they finish (default: orgguard-<plan name>.journal,
    /// or .teardown.journal, in the current directory).
    #[arg(long)]
    pub journal: Option<PathBuf>,
    /// Continue an interrupted or killed run from its journal: targets it records applied or
    /// unchanged are not redone.
    #[arg(long, conflicts_with = "dry_run")]
    pub resume: bool,
}

#[derive(Debug, Args)]
pub struct TeardownArgs {
    /// The plan file (TOML) whose resources are removed.
    #[arg(long)]
    pub plan: PathBuf,
    #[command(flatten)]
    pub scope: Scope,
    /// List every deletion; make none.
    #[arg(long)]
    pub dry_run: bool,
    /// Only these layers (comma-separated; default: all but detectors, which also need
    /// --delete-detectors).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub only: Vec<TeardownLayer>,
    /// Also delete the detectors: every account-region's findings and configuration go with them.
    #[arg(long)]
    pub delete_detectors: bool,
    /// Also remove subscriptions the plan does not name; otherwise a topic that has them is kept.
    #[arg(long)]
    pub prune_subscriptions: bool,
    /// Delete without asking (required when stdin is not a terminal).
    #[arg(long, conflicts_with = "dry_run")]
    pub yes: bool,
    #[command(flatten)]
    pub record: Record,
}

/// What a teardown can remove, in the order it is removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TeardownLayer {
    /// Per region: members' auto-enable NONE, the target accounts' memberships removed.
    Membership,
    /// Per region: the planned delegated admin's designation.
    Admin,
    /// Per region at the delegated admin: the plan's suppression rules, IP lists and findings export.
    Central,
    /// Per account-region the plan's rules and topic; per account its IAM role and policy.
    Wiring,
    /// Per account-region the exfiltration alarm, metric filter, orgguard's flow logs and the
    /// log group; per account the flow-log delivery role and policy.
    Exfiltration,
    /// Per account-region the detector (needs --delete-detectors).
    Detectors,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The plan file (TOML).
    #[arg(long)]
    pub plan: PathBuf,
    #[command(flatten)]
    pub scope: Scope,
    /// table for people, json (the full result set) for machines.
    #[arg(long, value_enum, default_value_t = AuditFormat::Table)]
    pub format: AuditFormat,
    /// A line per result that is not PASS, instead of results grouped by what was found.
    #[arg(long)]
    pub detail: bool,
    /// An earlier `--format json` result: new failures, resolved, still failing.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DrillArgs {
    /// The plan file (TOML).
    #[arg(long)]
    pub plan: PathBuf,
    #[command(flatten)]
    pub scope: Scope,
    /// At most this many account-regions, spread over the accounts and regions.
    #[arg(long)]
    pub sample: Option<usize>,
    /// The sample finding's type (GuardDuty marks it a sample; it names no real resource).
    #[arg(long, default_value = "CryptoCurrency:EC2/BitcoinTool.B!DNS")]
    pub finding_type: String,
    /// How long to wait for the metrics to show each delivery, in seconds (AWS publishes
    /// them once a minute).
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
    /// Say where the samples would go and who would be notified; send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask before sending.
    #[arg(long)]
    pub yes: bool,
    /// table for people, json for machines.
    #[arg(long, value_enum, default_value_t = AuditFormat::Table)]
    pub format: AuditFormat,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum AuditFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The plan to audit now (or --from a saved result).
    #[arg(long, required_unless_present = "from")]
    pub plan: Option<PathBuf>,
    /// A saved `orgguard audit --format json` result: no AWS call.
    #[arg(long, conflicts_with = "plan")]
    pub from: Option<PathBuf>,
    #[command(flatten)]
    pub scope: Scope,
    /// Comma-separated: json, ocsf, csv, junit, html.
    #[arg(long, value_delimiter = ',', required = true, value_parser = PossibleValuesParser::new(Format::ALL.map(Format::name))
        .map(|name| name.parse::<Format>().expect("a listed format")))]
    pub format: Vec<Format>,
    /// Directory the files go into.
    #[arg(long)]
    pub out: PathBuf,
    /// An earlier json result to compare with.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn every_argument_of_every_command_has_help_text() {
        let cli = Cli::command();
        cli.clone().debug_assert();
        for command in std::iter::once(&cli).chain(cli.get_subcommands()) {
            for arg in command.get_arguments() {
                assert!(arg.get_help().is_some(), "orgguard {} --{} has no help text", command.get_name(), arg.get_id());
            }
        }
    }
}
