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

#[test]
fn the_nightly_audit_workflow_is_a_valid_github_workflow_and_the_check_can_fail() {
    let checker = root().join(".venv/emulator/bin/check-jsonschema");
    let check = |file: &std::path::Path| {
        Command::new(&checker).args(["--builtin-schema", "vendor.github-workflows", path_str(file)]).output().expect("scripts/emulator --install-only installs check-jsonschema")
    };
    let workflow = root().join("examples/nightly-audit.yml");
    let checked = check(&workflow);
    assert!(checked.status.success(), "{}{}", String::from_utf8_lossy(&checked.stdout), String::from_utf8_lossy(&checked.stderr));
    let text = std::fs::read_to_string(&workflow).unwrap();
    for expected in ["id-token: write", "role-to-assume:", "orgguard\" audit --plan", "--format junit,html", "actions/upload-artifact", "steps.audit.outcome == 'failure'"] {
        assert!(text.contains(expected), "{expected}");
    }
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.yml");
    std::fs::write(&broken, text.replace("runs-on: ubuntu-latest", "runs_on: ubuntu-latest")).unwrap();
    assert!(!check(&broken).status.success(), "a misspelt key fails the check");
    // zizmor, GitHub Actions' static analyser (actionlint's PyPI package fetches its binary from
    // GitHub at install, which this project's machines cannot reach): no finding, and an action
    // moved back to a tag is one.
    let zizmor = |file: &std::path::Path| {
        let run = Command::new(root().join(".venv/emulator/bin/zizmor")).args(["--offline", path_str(file)]).output();
        run.expect("scripts/emulator --install-only installs zizmor")
    };
    let linted = zizmor(&workflow);
    assert!(linted.status.success(), "{}{}", String::from_utf8_lossy(&linted.stdout), String::from_utf8_lossy(&linted.stderr));
    let unpinned = dir.path().join("unpinned.yml");
    std::fs::write(&unpinned, text.replace("actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683", "actions/checkout@v4")).unwrap();
    let linted = zizmor(&unpinned);
    assert!(!linted.status.success() && String::from_utf8_lossy(&linted.stdout).contains("unpinned-uses"), "an unpinned action is a finding");
}

/// Builds the image and runs `orgguard --version` in it where a container engine can build
/// (docker or podman answering); otherwise says so and checks the Dockerfile's shape only.
#[test]
fn the_container_image_is_multi_stage_runs_unprivileged_and_builds_where_an_engine_can() {
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let stages: Vec<&str> = dockerfile.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(stages.len(), 2, "a build stage and a small runtime stage: {stages:?}");
    assert!(stages[1].contains("-slim"), "{stages:?}");
    let user = dockerfile.lines().rev().find_map(|l| l.strip_prefix("USER ")).expect("a USER");
    assert!(user != "root" && user != "0", "runs as {user}");
    let engine = ["docker", "podman"].into_iter().find(|engine| Command::new(engine).arg("info").output().is_ok_and(|o| o.status.success()));
    let Some(engine) = engine else {
        eprintln!("skipped: no container engine that can build here (docker or podman info failed); the Dockerfile's shape was checked");
        return;
    };
    let built = Command::new(engine).args(["build", "-t", "orgguard-test", path_str(&root())]).output().unwrap();
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    let version = Command::new(engine).args(["run", "--rm", "orgguard-test", "--version"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&version.stdout).trim(), format!("orgguard {}", env!("CARGO_PKG_VERSION")));
}
