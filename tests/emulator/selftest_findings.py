"""Self-test of GuardDuty findings (findings_ext.py), run by selftest.py: sample findings as AWS
shapes them, the administrator seeing its members' findings, criteria, sorting, pages,
statistics, archiving (administrators only), feedback, the suppression rules that archive a
new finding, and POST /_orgguard/findings.
"""

M3, M4 = "100000000003", "100000000004"


def findings(emulator, t) -> None:
    region = "sa-east-1"
    admin = emulator.guardduty(M3, region)
    d = admin.create_detector(Enable=True)["DetectorId"]
    admin.create_members(DetectorId=d, AccountDetails=[{"AccountId": M4, "Email": "m4@example.com"}])
    admin.invite_members(DetectorId=d, AccountIds=[M4])
    member = emulator.guardduty(M4, region)
    md = member.create_detector(Enable=True)["DetectorId"]
    invitation = member.list_invitations()["Invitations"][0]
    member.accept_administrator_invitation(DetectorId=md, AdministratorId=M3, InvitationId=invitation["InvitationId"])

    member.create_sample_findings(DetectorId=md, FindingTypes=["Recon:EC2/PortProbeUnprotectedPort", "Exfiltration:S3/AnomalousBehavior"])
    ids = member.list_findings(DetectorId=md)["FindingIds"]
    t.check("CreateSampleFindings: one finding per type", len(ids), 2)
    found = {f["Type"]: f for f in member.get_findings(DetectorId=md, FindingIds=ids)["Findings"]}
    probe = found["Recon:EC2/PortProbeUnprotectedPort"]
    t.check("a sample's title, severity and marks", (probe["Title"][:9], probe["Severity"], probe["Service"]["AdditionalInfo"]["Value"], probe["Service"]["Archived"]),
            ("[SAMPLE] ", 2.0, '{"sample":true}', False))
    t.check("its resource, with its tags", (probe["Resource"]["ResourceType"], probe["Resource"]["InstanceDetails"]["Tags"][0]["Key"]),
            ("Instance", "GeneratedFindingInstanceTag1"))
    t.check("its account, region and detector", (probe["AccountId"], probe["Region"], probe["Service"]["DetectorId"]), (M4, region, md))
    t.check("an unknown type is refused", t.error_of(lambda: member.create_sample_findings(DetectorId=md, FindingTypes=["Nope:EC2/Nothing"]))[1], "BadRequestException")

    injected = emulator.control("findings", {"account": M3, "region": region, "type": "CryptoCurrency:EC2/BitcoinTool.B!DNS"})
    everything = admin.list_findings(DetectorId=d)["FindingIds"]
    t.check("the administrator sees its own findings and its members'", sorted(everything), sorted(ids + [injected["id"]]))
    t.check("the member sees only its own", sorted(member.list_findings(DetectorId=md)["FindingIds"]), sorted(ids))
    real = admin.get_findings(DetectorId=d, FindingIds=[injected["id"]])["Findings"][0]
    t.check("an injected finding is not a sample", (real["Title"][:9] == "[SAMPLE] ", "AdditionalInfo" in real["Service"], real["Severity"]), (False, False, 8.0))

    high = admin.list_findings(DetectorId=d, FindingCriteria={"Criterion": {"severity": {"GreaterThanOrEqual": 7}}})["FindingIds"]
    t.check("criteria: severity >= 7", sorted(high), sorted([injected["id"], found["Exfiltration:S3/AnomalousBehavior"]["Id"]]))
    of_member = admin.list_findings(DetectorId=d, FindingCriteria={"Criterion": {"accountId": {"Equals": [M4]}, "resource.resourceType": {"Equals": ["S3Bucket"]}}})
    t.check("criteria: two fields, nested", of_member["FindingIds"], [found["Exfiltration:S3/AnomalousBehavior"]["Id"]])
    ordered = admin.list_findings(DetectorId=d, SortCriteria={"AttributeName": "severity", "OrderBy": "ASC"}, MaxResults=1)
    t.check("sorted by severity, a page of one", (ordered["FindingIds"], "NextToken" in ordered), ([probe["Id"]], True))

    by_account = admin.get_findings_statistics(DetectorId=d, GroupBy="ACCOUNT")["FindingStatistics"]["GroupedByAccount"]
    t.check("statistics by account, most first", [(r["AccountId"], r["TotalFindings"]) for r in by_account], [(M4, 2), (M3, 1)])
    by_severity = admin.get_findings_statistics(DetectorId=d, GroupBy="SEVERITY", OrderBy="ASC")["FindingStatistics"]["GroupedBySeverity"]
    t.check("statistics by severity", sorted((r["Severity"], r["TotalFindings"]) for r in by_severity), [(2.0, 1), (8.0, 2)])
    counts = admin.get_findings_statistics(DetectorId=d, FindingStatisticTypes=["COUNT_BY_SEVERITY"])["FindingStatistics"]["CountBySeverity"]
    t.check("the deprecated COUNT_BY_SEVERITY", counts, {"2.0": 1, "8.0": 2})
    by_type = admin.get_findings_statistics(DetectorId=d, GroupBy="FINDING_TYPE", MaxResults=1)["FindingStatistics"]["GroupedByFindingType"]
    t.check("statistics by type, at most MaxResults", len(by_type), 1)

    t.check("a member may not archive", t.error_of(lambda: member.archive_findings(DetectorId=md, FindingIds=[probe["Id"]]))[1], "BadRequestException")
    admin.archive_findings(DetectorId=d, FindingIds=[probe["Id"]])
    archived = admin.list_findings(DetectorId=d, FindingCriteria={"Criterion": {"service.archived": {"Equals": ["true"]}}})["FindingIds"]
    t.check("the administrator archives a member's finding", archived, [probe["Id"]])
    admin.unarchive_findings(DetectorId=d, FindingIds=[probe["Id"]])
    t.check("and unarchives it", admin.get_findings(DetectorId=d, FindingIds=[probe["Id"]])["Findings"][0]["Service"]["Archived"], False)
    member.update_findings_feedback(DetectorId=md, FindingIds=[probe["Id"]], Feedback="NOT_USEFUL")
    t.check("feedback", member.get_findings(DetectorId=md, FindingIds=[probe["Id"]])["Findings"][0]["Service"]["UserFeedback"], "NOT_USEFUL")

    admin.create_filter(DetectorId=d, Name="quiet-probes", Action="ARCHIVE",
                        FindingCriteria={"Criterion": {"type": {"Equals": ["Recon:EC2/PortProbeUnprotectedPort"]}}})
    suppressed = emulator.control("findings", {"account": M4, "region": region, "type": "Recon:EC2/PortProbeUnprotectedPort"})
    t.check("the administrator's suppression rule archives a member's new finding", suppressed["suppressed"], "quiet-probes")
    kept = emulator.control("findings", {"account": M4, "region": region, "type": "Execution:EC2/MaliciousFile"})
    t.check("and not one it does not match", kept["suppressed"], None)
    state = emulator.control("state")["findings"][f"{M4}/{region}"]
    t.check("GET state lists them, archived as suppressed", [f["service"]["archived"] for f in state[-2:]], [True, False])
    t.check("POST findings without a detector", t.control_error(emulator, "findings", {"account": M4, "region": "eu-north-1", "type": "Execution:EC2/MaliciousFile"}), 400)
