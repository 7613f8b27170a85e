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
