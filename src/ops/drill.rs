//! `orgguard drill`: proves that each chosen account-region's alert path delivers. One sample
//! finding is made there (GuardDuty marks it a sample: "[SAMPLE]" in its title), then
//! EventBridge's and SNS's metrics in the account say how far it went: matched by the rule,
//! the target invoked without failure, delivered by the topic to its subscriptions.

use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use serde::Serialize;

use super::run::connect;
use super::{OpsError, Targeting};
use crate::aws::{Aws, AwsError, Metric};
use crate::desired::protocol_name;
use crate::discover;
use crate::model::{AccountId, Region};
use crate::permissions::{Grant, Phase};
use crate::plan::{Notifications, Plan};

/// What the drill sends, where, and for how long it waits.
pub struct DrillOptions {
    pub finding_type: String,
    /// At most this many account-regions, spread over accounts and regions.
    pub sample: Option<usize>,
    pub timeout: Duration,
    /// Between two reads of the metrics (AWS publishes them once a minute).
    pub every: Duration,
}

/// The drill, ready to send: where, and who will be notified how often.
pub struct Prepared {
    aws: std::sync::Arc<Aws>,
    plan: Plan,
    pub targets: Vec<(AccountId, Region)>,
    /// The plan's rules a finding of the type matches (EventBridge's TestEventPattern).
    pub rules: Vec<String>,
    pub finding_type: String,
    concurrency: usize,
}

/// One account-region's sample, sent: the metrics just before, the detector, when.
struct Sent {
    before: Vec<f64>,
    detector: String,
    made: SystemTime,
}

/// How far one account-region's sample finding went.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    /// The step where it stopped, and what the metrics said.
    Fail { step: Step, detail: String },
    /// The drill could not be made or read there.
    Error { operation: String, message: String },
    /// A region the account has not enabled: nothing to drill.
    Skipped { reason: String },
    /// A suppression rule archived the sample as it was made, so GuardDuty did not send it: the
    /// path is not proven (drill with another --finding-type), and not broken either.
    Suppressed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// GuardDuty is not on here: no detector makes findings.
    NoDetector,
    /// No rule matched the finding (a rule disabled, deleted or its pattern changed).
    NotMatched,
    /// EventBridge could not publish to the topic (its policy, its key, the target's role).
    TargetFailed,
    /// The rule matched but invoked no target.
    NotInvoked,
    /// A subscription's filter policy turned the notification away.
    FilteredOut,
    /// The topic published to fewer subscriptions than the plan names (removed, pending
    /// confirmation, or the target's input sent elsewhere).
    NotDelivered,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::NoDetector => "no_detector",
            Self::NotMatched => "not_matched",
            Self::TargetFailed => "target_failed",
            Self::NotInvoked => "not_invoked",
            Self::FilteredOut => "filtered_out",
            Self::NotDelivered => "not_delivered",
        })
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct DrillResult {
    pub account: AccountId,
    pub region: Region,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// Default severities of the finding types a drill may send, from GuardDuty's finding types
/// (what the test of the rules' patterns gives as the finding's severity).
const SEVERITIES: &[(&str, f64)] = &[
    ("CryptoCurrency:EC2/BitcoinTool.B!DNS", 8.0),
    ("Backdoor:EC2/C&CActivity.B!DNS", 8.0),
    ("Recon:EC2/PortProbeUnprotectedPort", 2.0),
    ("UnauthorizedAccess:EC2/SSHBruteForce", 2.0),
    ("Execution:EC2/MaliciousFile", 8.0),
];

/// Connects, lists the organization, chooses the account-regions and finds which of the
/// plan's rules a finding of the type matches. Sends nothing.
pub async fn prepare(targeting: &Targeting, options: &DrillOptions) -> Result<Prepared, OpsError> {
    let plan = Plan::load(&targeting.plan)?;
    let aws = connect(targeting, &plan, false).await?;
    let targets = {
        let mut discovery = discover::discover(&aws, &plan, &targeting.narrowing).await?;
        discovery.finish().await?;
        let scope = &discovery.scope;
        let all = scope.accounts.len() * scope.regions.len();
        spread(&scope.accounts, &scope.regions, options.sample.unwrap_or(all).min(all))
    };
    let mut rules = Vec::new();
    if let (Some(notifications), Some((account, region))) = (&plan.notifications, targets.first()) {
        let events = aws.management().events(region);
        let event = sample_event(&options.finding_type, account, region);
        for rule in &notifications.rules {
            if events.test_event_pattern(&rule.pattern().to_string(), &event).await.map_err(OpsError::Connect)? {
                rules.push(rule.name.get_ref().clone());
            }
        }
    }
    let concurrency = targeting.concurrency.unwrap_or(plan.limits.concurrency).max(1);
    Ok(Prepared { aws, plan, targets, rules, finding_type: options.finding_type.clone(), concurrency })
}

/// `n` account-regions: accounts evenly spaced, their regions in turn (every region before
/// one comes twice), each pair once.
fn spread(accounts: &[AccountId], regions: &[Region], n: usize) -> Vec<(AccountId, Region)> {
    let chosen: Vec<&AccountId> = match n.min(accounts.len()) {
        0 => return Vec::new(),
        m => (0..m).map(|j| &accounts[j * accounts.len() / m]).collect(),
    };
    let rounds = (0..regions.len()).flat_map(|k| chosen.iter().enumerate().map(move |(j, a)| (**a, regions[(j + k) % regions.len()])));
    rounds.take(n).collect()
}

/// The event GuardDuty sends for a finding of the type, as far as rules look at it.
fn sample_event(finding_type: &str, account: &AccountId, region: &Region) -> String {
    let severity = SEVERITIES.iter().find(|(t, _)| *t == finding_type).map_or(8.0, |(_, s)| *s);
    serde_json::json!({
        "version": "0", "id": "00000000-0000-0000-0000-000000000000", "detail-type": "GuardDuty Finding",
        "source": "aws.guardduty", "account": account.as_str(), "time": "2026-01-01T00:00:00Z", "region": region.as_str(),
        "resources": [], "detail": {"type": finding_type, "severity": severity, "accountId": account.as_str(), "region": region.as_str()},
    })
    .to_string()
}

impl Prepared {
    /// Who is notified, and how often: each planned subscription once per account-region and
    /// matching rule, and in the delegated admin's account once more for each member's sample
    /// of its region (GuardDuty sends members' findings to the admin's bus too).
    pub fn notices(&self) -> Vec<String> {
        let Some(notifications) = &self.plan.notifications else { return Vec::new() };
        let admin = self.plan.admin.as_ref().map(|a| *a.account.get_ref());
        let admin_regions: Vec<Region> = self.targets.iter().filter(|(a, _)| Some(*a) == admin).map(|(_, r)| *r).collect();
        let members = self.targets.iter().filter(|(a, r)| Some(*a) != admin && admin_regions.contains(r)).count();
        let each = (self.targets.len() + members) * self.rules.len();
        notifications.subscriptions.iter().map(|s| format!("{} {}: {each} notifications", protocol_name(s.protocol), s.endpoint.0)).collect()
    }

    /// Sends one sample finding to each account-region, then reads the metrics until each has
    /// passed or the time is up.
    pub async fn run(&self, options: &DrillOptions) -> Vec<DrillResult> {
        let Some(notifications) = &self.plan.notifications else { return Vec::new() };
        // Every read sums the same minutes, from before the drill: what it adds is the drill's.
        let since = SystemTime::now() - Duration::from_secs(300);
        let deadline = Instant::now() + options.timeout;
        let sent = futures::stream::iter(self.targets.iter().copied())
            .map(|(account, region)| async move { (account, region, self.send(notifications, &account, &region, since).await) })
            .buffer_unordered(self.concurrency)
            .collect::<Vec<_>>()
            .await;
        let mut results = Vec::new();
        let mut waiting = Vec::new();
        for (account, region, sent) in sent {
            match sent {
                Ok(sent) => waiting.push((account, region, sent)),
                Err(outcome) => results.push(DrillResult { account, region, outcome }),
            }
        }
        loop {
            let read = futures::stream::iter(waiting.drain(..))
                .map(|(account, region, sent)| async move {
                    let outcome = self.verdict(notifications, &account, &region, since, &sent).await;
                    (account, region, sent, outcome)
                })
                .buffer_unordered(self.concurrency)
                .collect::<Vec<_>>()
                .await;
            let last = Instant::now() + options.every > deadline;
            for (account, region, sent, outcome) in read {
                match outcome {
                    Outcome::Fail { step, .. } if !last && step != Step::TargetFailed => waiting.push((account, region, sent)),
                    outcome => results.push(DrillResult { account, region, outcome }),
                }
            }
            if waiting.is_empty() {
                break;
            }
            tokio::time::sleep(options.every).await;
        }
        results.sort_by(|a, b| (a.account, a.region).cmp(&(b.account, b.region)));
        results
    }

    /// The metrics so far, then the sample finding.
    async fn send(&self, notifications: &Notifications, account: &AccountId, region: &Region, since: SystemTime) -> Result<Sent, Outcome> {
        let organization = &self.plan.organization;
        let session = self.aws.session(account, &organization.member_role, organization.external_id.as_deref());
        let guardduty = session.guardduty(region);
        let Some(detector) = guardduty.detector_id().await.map_err(|e| failed(&e))? else {
            return Err(Outcome::Fail { step: Step::NoDetector, detail: "GuardDuty has no detector here".into() });
        };
        let before = session.network(region).metric_sums(&self.metrics(notifications), since).await.map_err(|e| failed(&e))?;
        let made = SystemTime::now();
        guardduty.create_sample_findings(&detector, std::slice::from_ref(&self.finding_type)).await.map_err(|e| failed(&e))?;
        Ok(Sent { before, detector, made })
    }

    /// Per matching rule MatchedEvents, Invocations and FailedInvocations; then the topic's
    /// NumberOfNotificationsDelivered and NumberOfNotificationsFilteredOut.
    fn metrics<'a>(&'a self, notifications: &'a Notifications) -> Vec<Metric<'a>> {
        let mut metrics = Vec::new();
        for rule in &self.rules {
            for name in ["MatchedEvents", "Invocations", "FailedInvocations"] {
                metrics.push(Metric { namespace: "AWS/Events", name, dimension: ("RuleName", rule) });
            }
        }
        for name in ["NumberOfNotificationsDelivered", "NumberOfNotificationsFilteredOut"] {
            metrics.push(Metric { namespace: "AWS/SNS", name, dimension: ("TopicName", &notifications.topic) });
        }
        metrics
    }

    /// The step where the finding stopped, from what the metrics gained since the sample was
    /// sent; a sample no rule matched may have been suppressed.
    async fn verdict(&self, notifications: &Notifications, account: &AccountId, region: &Region, since: SystemTime, sent: &Sent) -> Outcome {
        let organization = &self.plan.organization;
        let session = self.aws.session(account, &organization.member_role, organization.external_id.as_deref());
        let topic = notifications.topic.as_str();
        let sums: Vec<f64> = match session.network(region).metric_sums(&self.metrics(notifications), since).await {
            Ok(now) => now.iter().zip(&sent.before).map(|(now, before)| now - before).collect(),
            Err(error) => return failed(&error),
        };
        let expected = (notifications.subscriptions.len() * self.rules.len()) as f64;
        let outcome = judge(&self.rules, topic, &sums, expected);
        if !matches!(outcome, Outcome::Fail { step: Step::NotMatched, .. }) {
            return outcome;
        }
        let made_ms = sent.made.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64) - 1000;
        match session.guardduty(region).archived_since(&sent.detector, &self.finding_type, made_ms).await {
            Ok(true) => Outcome::Suppressed,
            Ok(false) => outcome,
            Err(error) => failed(&error),
        }
    }
}

/// Pure: the step where the sample stopped, from what each metric gained (per rule
/// MatchedEvents, Invocations, FailedInvocations; then the topic's deliveries and filtered).
fn judge(rules: &[String], topic: &str, sums: &[f64], expected: f64) -> Outcome {
    let fail = |step, detail: String| Outcome::Fail { step, detail };
    for (n, rule) in rules.iter().enumerate() {
        let (matched, invoked, failures) = (sums[3 * n], sums[3 * n + 1], sums[3 * n + 2]);
        if matched < 1.0 {
            return fail(Step::NotMatched, format!("rule {rule}: MatchedEvents 0"));
        }
        if failures > 0.0 {
            return fail(Step::TargetFailed, format!("rule {rule}: FailedInvocations {failures}"));
        }
        if invoked < 1.0 {
            return fail(Step::NotInvoked, format!("rule {rule}: Invocations 0"));
        }
    }
    let (delivered, filtered) = (sums[3 * rules.len()], sums[3 * rules.len() + 1]);
    match (delivered >= expected, filtered > 0.0) {
        (true, _) => Outcome::Pass,
        (false, true) => fail(Step::FilteredOut, format!("topic {topic}: NumberOfNotificationsFilteredOut {filtered}")),
        (false, false) => fail(Step::NotDelivered, format!("topic {topic}: NumberOfNotificationsDelivered {delivered} of {expected}")),
    }
}

/// What a drill calls besides the reads every command makes: the rules' patterns tested from
/// the management account; in each account-region its detector listed, a sample finding made
/// and the delivery metrics read.
pub fn grants(p: &str) -> Vec<Grant> {
    vec![
        Grant::new("DrillTestRulePatterns", Phase::Drill, &["events:TestEventPattern"], &["*"]).management(),
        Grant::new("DrillSampleFindings", Phase::Drill, &["guardduty:CreateSampleFindings"], &[format!("arn:{p}:guardduty:*:*:detector/*")]),
        // GetMetricData has no resource type.
        Grant::new("DrillDeliveryMetrics", Phase::Drill, &["guardduty:ListDetectors", "cloudwatch:GetMetricData"], &["*"]),
        // Whether a suppression rule archived the sample.
        Grant::new("DrillSampleFindings", Phase::Drill, &["guardduty:ListFindings"], &[format!("arn:{p}:guardduty:*:*:detector/*")]),
    ]
}

fn failed(error: &AwsError) -> Outcome {
    if error.is_region_not_enabled() {
        return Outcome::Skipped { reason: "region not enabled".into() };
    }
    Outcome::Error { operation: error.operation.to_owned(), message: format!("{}: {}", error.code, error.message) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_metric_that_did_not_move_names_its_step() {
        let rules = ["all".to_owned()];
        let step = |sums: &[f64]| match judge(&rules, "t", sums, 2.0) {
            Outcome::Fail { step, .. } => Some(step),
            _ => None,
        };
        assert_eq!(step(&[1.0, 1.0, 0.0, 2.0, 0.0]), None, "matched, invoked, delivered to both subscriptions");
        assert_eq!(step(&[0.0, 0.0, 0.0, 0.0, 0.0]), Some(Step::NotMatched));
        assert_eq!(step(&[1.0, 1.0, 1.0, 0.0, 0.0]), Some(Step::TargetFailed));
        assert_eq!(step(&[1.0, 0.0, 0.0, 0.0, 0.0]), Some(Step::NotInvoked));
        assert_eq!(step(&[1.0, 1.0, 0.0, 1.0, 1.0]), Some(Step::FilteredOut));
        assert_eq!(step(&[1.0, 1.0, 0.0, 1.0, 0.0]), Some(Step::NotDelivered), "one of two subscriptions");
    }

    #[test]
    fn a_sample_spreads_over_accounts_and_regions_and_takes_each_pair_once() {
        let accounts: Vec<AccountId> = (1..=8).map(|n| AccountId::parse(&format!("{:012}", 100_000_000_000u64 + n)).unwrap()).collect();
        let regions = [Region::parse("us-east-1").unwrap(), Region::parse("eu-west-1").unwrap(), Region::parse("ap-northeast-1").unwrap()];
        let distinct = |picked: &[(AccountId, Region)]| {
            let accounts: std::collections::BTreeSet<_> = picked.iter().map(|(a, _)| *a).collect();
            let regions: std::collections::BTreeSet<_> = picked.iter().map(|(_, r)| *r).collect();
            let pairs: std::collections::BTreeSet<_> = picked.iter().copied().collect();
            (accounts.len(), regions.len(), pairs.len())
        };
        assert_eq!(distinct(&spread(&accounts, &regions, 4)), (4, 3, 4), "four accounts, every region");
        assert_eq!(distinct(&spread(&accounts, &regions, 20)), (8, 3, 20), "more than the accounts: each pair once");
        assert_eq!(spread(&accounts, &regions, 24).len(), 24, "all of them");
    }
}
