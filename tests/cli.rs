//! The command line for people: completions a shell accepts and a manual page.

mod common;

use std::process::Command;

use common::*;

#[test]
fn bash_loads_the_completions_and_the_manual_page_covers_every_command() {
    let completions = orgguard(&["completions", "bash"], None);
    assert_eq!(completions.code(), 0, "{}", completions.stderr());
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("orgguard.bash");
    std::fs::write(&script, completions.stdout()).unwrap();
    let loaded = Command::new("bash").args(["-c", &format!("source {} && complete -p orgguard", path_str(&script))]).output().unwrap();
    assert!(loaded.status.success(), "{}", String::from_utf8_lossy(&loaded.stderr));
    assert!(String::from_utf8_lossy(&loaded.stdout).contains("orgguard"), "a completion is registered for orgguard");
    for shell in ["zsh", "fish"] {
        assert_eq!(orgguard(&["completions", shell], None).code(), 0, "{shell}");
    }

    let man = orgguard(&["man"], None);
    assert_eq!(man.code(), 0);
    let page = man.stdout();
    assert!(page.starts_with(".ie") || page.contains(".TH orgguard"), "{page:.200}");
    for command in ["validate", "rollout", "audit", "report", "completions"] {
        assert!(page.contains(command), "the manual names {command}");
    }
}

/// orgguard with nothing but a PATH and an empty home: no credentials, no profile files.
fn bare(args: &[&str]) -> (i32, String) {
    let home = tempfile::tempdir().unwrap();
    let plan = root().join("plans/example.toml");
    let output = Command::new(env!("CARGO_BIN_EXE_orgguard"))
        .args(["audit", "--plan", path_str(&plan)])
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("HOME", home.path())
        // No instance-metadata probing: this machine is not an EC2 instance.
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    (output.status.code().unwrap(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn missing_credentials_or_an_unknown_profile_are_one_line_that_says_what_to_do() {
    let (code, stderr) = bare(&[]);
    assert_eq!(code, 1);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: no AWS credentials found: name a profile (--profile or AWS_PROFILE)"), "{stderr}");
    let (code, stderr) = bare(&["--profile", "nonexistent"]);
    assert_eq!(code, 1);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("profile nonexistent"), "{stderr}");
}

#[test]
fn init_writes_a_valid_plan_with_what_the_organization_says_and_never_overwrites() {
    let emulator = Emulator::start(&["--accounts", "3"]);
    let first = emulator.workdir.path().join("first.toml");
    let run = emulator.orgguard(&["init", "--out", path_str(&first)]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(run.stderr().contains("[admin] left out: no delegated administrator is designated"), "{}", run.stderr());
    assert!(run.stderr().contains("OrganizationAccountAccessRole: assumed in 100000000001"), "{}", run.stderr());
    assert_eq!(orgguard(&["validate", "--plan", path_str(&first)], None).code(), 0);
    assert_eq!(emulator.mutating_calls(), 0, "init only reads");

    let example = root().join("plans/example.toml");
    assert_eq!(emulator.orgguard(&["rollout", "--plan", path_str(&example), "--regions", "us-east-1"]).code(), 0);
    let second = emulator.workdir.path().join("second.toml");
    let run = emulator.orgguard(&["init", "--out", path_str(&second)]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let text = std::fs::read_to_string(&second).unwrap();
    assert!(text.contains("[admin]\n# Delegated GuardDuty administrator (the same in every region).\naccount = \"100000000001\""), "{text}");

    let again = emulator.orgguard(&["init", "--out", path_str(&second), "--offline"]);
    assert_eq!(again.code(), 1, "an existing plan is left alone");
    assert_eq!(std::fs::read_to_string(&second).unwrap(), text);
}
