//! What a person reads: a dry run of 500 accounts in a screen, every kind of change with its
//! exact count, and `--detail` with a line per change per target.

mod common;

use std::collections::BTreeMap;

use common::*;
use serde_json::Value;

#[test]
fn a_fresh_dry_run_of_500_accounts_reads_in_a_screen_and_detail_lists_every_change() {
    let emulator = Emulator::start(&["--accounts", "500"]);
    let example = root().join("plans/example.toml");
    let summary = emulator.workdir.path().join("summary.json");
    let args = ["rollout", "--plan", path_str(&example), "--regions", "us-east-1,eu-west-1,ap-northeast-1", "--dry-run"];
    let dry = emulator.orgguard(&[&args[..], &["--summary-json", path_str(&summary)]].concat());
    assert_eq!(dry.code(), 0, "{}", dry.stderr());
    let stdout = format!("\n{}", dry.stdout());
    assert!(stdout.lines().count() < 80, "{} lines:\n{stdout}", stdout.lines().count());
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    let kinds: BTreeMap<String, u64> =
        summary["changes_by_kind"].as_object().unwrap().iter().map(|(k, n)| (k.clone(), n.as_u64().unwrap())).collect();
    assert_eq!(kinds.len(), 11, "every kind of change a fresh organization needs: {kinds:?}");
    let targets = summary["targets"].as_u64().unwrap();
    assert_eq!(targets, 501 * 3, "500 members and the management account, in 3 regions");
    assert_eq!(kinds["create detector"], targets);
    assert_eq!(kinds["put EventBridge rule"], 2 * targets);
    for (kind, count) in &kinds {
        assert!(stdout.contains(&format!("\n{kind} ({count}, would change):\n")), "{kind} ({count}) in\n{stdout}");
    }
    assert!(stdout.contains(&format!("  {targets} x enabled=true frequency=SIX_HOURS")), "identical detectors collapse:\n{stdout}");
    assert!(stdout.contains(&format!("... and {} more", targets - 3)), "{stdout}");
    assert_eq!(emulator.mutating_calls(), 0);

    let detail = emulator.orgguard(&[&args[..], &["--detail"]].concat());
    let detail = detail.stdout();
    let per_target: Vec<&str> = detail.lines().take_while(|l| !l.is_empty()).filter(|l| l.starts_with("  ")).collect();
    assert_eq!(per_target.len() as u64, kinds.values().sum::<u64>(), "a line per change per target");
    assert!(per_target.contains(&"  100000000042/eu-west-1                   email:security-alerts@example.com"), "today's line");
}
