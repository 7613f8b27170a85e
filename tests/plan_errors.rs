//! Every kind of bad plan is refused before any AWS call, with file:line:column, the
//! field, and what is allowed. No emulator runs here: a refused plan never reaches AWS.

mod common;

use common::*;

const BASE: &str = "[organization]\nregions = [\"us-east-1\"]\n[detector]\nfinding_publishing_frequency = \"SIX_HOURS\"\n";

fn refused(plan: &str) -> String {
    let (_dir, path) = plan_file(plan);
    let run = orgguard(&["validate", "--plan", path_str(&path)], None);
    assert_eq!(run.code(), 1, "refused: {plan}");
    let rollout = orgguard(&["rollout", "--plan", path_str(&path), "--endpoint-url", "http://127.0.0.1:9"], None);
    assert_eq!(rollout.stderr(), run.stderr(), "rollout refuses the plan the same way, before connecting");
    let stderr = run.stderr();
    let prefix = format!("error: {}:", path.display());
    stderr.trim_end().strip_prefix(&prefix).unwrap_or_else(|| panic!("{stderr}")).to_owned()
}

#[test]
fn each_kind_of_bad_plan_gets_its_documented_error() {
    let cases: &[(&str, String, &str)] = &[
        (
            "unknown key",
            BASE.replace("regions =", "colour = \"red\"\nregions ="),
            "2:1: organization.colour: unknown field `colour`, expected one of `member_role`, `external_id`, \
             `regions`, `exclude_accounts`, `exclude_ous`, `include_management_account`",
        ),
        (
            "wrong type",
            format!("{BASE}[detector.features]\nS3_DATA_EVENTS = \"yes\"\n"),
            "6:18: detector.features.S3_DATA_EVENTS: invalid type: string \"yes\", expected a boolean",
        ),
        (
            "unknown feature",
            format!("{BASE}[detector.features]\nDNS_MAGIC = true\n"),
            "6:1: detector.features.DNS_MAGIC: unknown variant `DNS_MAGIC`, expected one of `S3_DATA_EVENTS`, \
             `EKS_AUDIT_LOGS`, `EBS_MALWARE_PROTECTION`, `RDS_LOGIN_EVENTS`, `LAMBDA_NETWORK_LOGS`, \
             `EKS_RUNTIME_MONITORING`, `RUNTIME_MONITORING`",
        ),
        (
            "unknown frequency",
            BASE.replace("SIX_HOURS", "TWO_DAYS"),
            "4:32: detector.finding_publishing_frequency: unknown variant `TWO_DAYS`, expected one of \
             `FIFTEEN_MINUTES`, `ONE_HOUR`, `SIX_HOURS`",
        ),
        ("empty region list", BASE.replace("[\"us-east-1\"]", "[]"), "2:11: organization.regions: empty region list: expected \"all\" or a non-empty list of regions such as [\"us-east-1\", \"eu-west-1\"]"),
        ("regions neither all nor a list", BASE.replace("[\"us-east-1\"]", "\"some\""), "2:11: organization.regions: invalid regions \"some\": expected \"all\" or a non-empty list of regions such as [\"us-east-1\", \"eu-west-1\"]"),
        (
            "malformed account id",
            BASE.replace("regions =", "exclude_accounts = [\"12345\"]\nregions ="),
            "2:20: organization.exclude_accounts[0]: invalid account id \"12345\": expected exactly 12 digits",
        ),
        (
            "admin account excluded",
            format!("{}[admin]\naccount = \"100000000001\"\n", BASE.replace("regions =", "exclude_accounts = [\"100000000001\"]\nregions =")),
            "7:11: admin.account: admin account 100000000001 is also in organization.exclude_accounts",
        ),
        (
            "both runtime monitoring features",
            format!("{BASE}[detector.features]\nEKS_RUNTIME_MONITORING = false\nRUNTIME_MONITORING = true\n"),
            "5:1: detector.features: EKS_RUNTIME_MONITORING and RUNTIME_MONITORING are both set: RUNTIME_MONITORING \
             already covers EKS and GuardDuty refuses a request naming both; keep RUNTIME_MONITORING",
        ),
        (
            "runtime agents without a runtime feature",
            format!("{BASE}[detector.runtime_agents]\nEKS_ADDON_MANAGEMENT = true\n"),
            "5:1: detector.runtime_agents: runtime agents need RUNTIME_MONITORING (or EKS_RUNTIME_MONITORING) = true \
             in [detector.features]",
        ),
        (
            "an agent EKS runtime monitoring does not manage",
            format!("{BASE}[detector.features]\nEKS_RUNTIME_MONITORING = true\n[detector.runtime_agents]\nEC2_AGENT_MANAGEMENT = true\n"),
            "7:1: detector.runtime_agents: EC2_AGENT_MANAGEMENT belongs to RUNTIME_MONITORING; EKS_RUNTIME_MONITORING \
             manages only EKS_ADDON_MANAGEMENT",
        ),
        (
            "unknown agent",
            format!("{BASE}[detector.features]\nRUNTIME_MONITORING = true\n[detector.runtime_agents]\nGPU_AGENT = true\n"),
            "8:1: detector.runtime_agents.GPU_AGENT: unknown variant `GPU_AGENT`, expected one of `EKS_ADDON_MANAGEMENT`, \
             `ECS_FARGATE_AGENT_MANAGEMENT`, `EC2_AGENT_MANAGEMENT`",
        ),
        ("missing section", "[organization]\nregions = \"all\"\n".into(), "1:1: (top level): missing field `detector`"),
        ("not TOML", "this is = = not toml".into(), "1:6: (file): key with no value, expected `=`"),
        (
            "empty subscription endpoint",
            format!("{BASE}[notifications]\nrules = []\n[[notifications.subscriptions]]\nprotocol = \"email\"\nendpoint = \" \"\n"),
            "9:12: notifications.subscriptions[0].endpoint: empty endpoint: expected an address such as security@example.com",
        ),
    ];
    for (name, plan, expected) in cases {
        assert_eq!(refused(plan), *expected, "{name}");
    }
}

#[test]
fn an_unknown_region_names_the_allowed_ones() {
    let message = refused(&BASE.replace("us-east-1", "mars-north-1"));
    assert!(message.starts_with("2:11: organization.regions: unknown region \"mars-north-1\": expected a GuardDuty region"), "{message}");
    assert!(message.contains("eu-west-1") && message.contains("ap-southeast-7"), "{message}");
}

#[test]
fn the_example_plan_is_valid() {
    let run = orgguard(&["validate", "--plan", path_str(&root().join("plans/example.toml"))], None);
    assert_eq!(run.code(), 0, "{}", run.stderr());
}
