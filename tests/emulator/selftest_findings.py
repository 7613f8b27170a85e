"""Self-test of GuardDuty findings (findings_ext.py), run by selftest.py: sample findings as AWS
shapes them, the administrator seeing its members' findings, criteria, sorting, pages,
statistics, archiving (administrators only), feedback, the suppression rules that archive a
new finding, and POST /_orgguard/findings; then (delivery_ext.py) a finding's way through
EventBridge and SNS, each way it can be stopped, and the metrics.
"""

import datetime
import json

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


def delivery(emulator, t) -> None:
    """A finding's way: the rule matches it, the target publishes (or is refused, and why), the
    topic delivers to confirmed subscriptions whose filter lets it through, the metrics count."""
    region, account = "eu-west-3", M3
    credentials = emulator.credentials(account)
    gd, sns = emulator.guardduty(account, region), emulator.client("sns", credentials, region)
    events, iam = emulator.client("events", credentials, region), emulator.client("iam", credentials)
    cloudwatch, kms = emulator.client("cloudwatch", credentials, region), emulator.client("kms", credentials, region)
    d = gd.create_detector(Enable=True)["DetectorId"]
    topic = sns.create_topic(Name="findings")["TopicArn"]
    allow_events = {"Sid": "events", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sns:Publish", "Resource": topic}
    sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps({"Version": "2012-10-17", "Statement": [allow_events]}))
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="soc@example.com")
    pattern = json.dumps({"source": ["aws.guardduty"], "detail-type": ["GuardDuty Finding"], "detail": {"severity": [{"numeric": [">=", 7]}]}})
    events.put_rule(Name="high", EventPattern=pattern)
    events.put_targets(Rule="high", Targets=[{"Id": "sns", "Arn": topic}])

    def sent(finding_type: str) -> tuple[dict, list]:
        """A real finding of the type; the invocations and deliveries it caused."""
        made = emulator.control("findings", {"account": account, "region": region, "type": finding_type})
        seen = emulator.control("deliveries")
        return ([i for i in seen["invocations"] if i["finding"] == made["id"]], [d for d in seen["deliveries"] if d["finding"] == made["id"]])

    invocations, deliveries = sent("CryptoCurrency:EC2/BitcoinTool.B!DNS")
    t.check("a high finding: the rule invokes the topic", [(i["rule"], i["failed"]) for i in invocations], [("high", None)])
    t.check("and the topic delivers it to the subscription", [(d["endpoint"], d["outcome"]) for d in deliveries], [("soc@example.com", "delivered")])
    t.check("the message is the event", json.loads(deliveries[0]["message"])["detail-type"], "GuardDuty Finding")
    t.check("a low finding matches nothing", sent("Recon:EC2/PortProbeUnprotectedPort"), ([], []))

    def metric(namespace: str, name: str, dimension: tuple[str, str]) -> float:
        query = {"Id": "m", "MetricStat": {"Metric": {"Namespace": namespace, "MetricName": name, "Dimensions": [{"Name": dimension[0], "Value": dimension[1]}]},
                                           "Period": 60, "Stat": "Sum"}}
        now = datetime.datetime.now(datetime.timezone.utc)
        result = cloudwatch.get_metric_data(MetricDataQueries=[query], StartTime=now - datetime.timedelta(minutes=5), EndTime=now + datetime.timedelta(minutes=1))
        return sum(result["MetricDataResults"][0]["Values"])
    t.check("AWS/Events MatchedEvents by RuleName", metric("AWS/Events", "MatchedEvents", ("RuleName", "high")), 1.0)
    t.check("AWS/SNS NumberOfNotificationsDelivered by TopicName", metric("AWS/SNS", "NumberOfNotificationsDelivered", ("TopicName", "findings")), 1.0)

    events.disable_rule(Name="high")
    t.check("a disabled rule does not fire", sent("CryptoCurrency:EC2/BitcoinTool.B!DNS"), ([], []))
    events.enable_rule(Name="high")
    deny = dict(allow_events, Sid="deny", Effect="Deny")
    sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps({"Version": "2012-10-17", "Statement": [allow_events, deny]}))
    invocations, deliveries = sent("CryptoCurrency:EC2/BitcoinTool.B!DNS")
    t.check("a Deny for EventBridge in the topic policy fails the invocation", (invocations[0]["failed"], deliveries), ("the topic policy denies events.amazonaws.com sns:Publish", []))
    t.check("AWS/Events FailedInvocations", metric("AWS/Events", "FailedInvocations", ("RuleName", "high")), 1.0)
    sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps({"Version": "2012-10-17", "Statement": [allow_events]}))

    sns.set_topic_attributes(TopicArn=topic, AttributeName="KmsMasterKeyId", AttributeValue="alias/aws/sns")
    t.check("a topic under AWS's managed key refuses EventBridge", "alias/aws/sns" in sent("CryptoCurrency:EC2/BitcoinTool.B!DNS")[0][0]["failed"], True)
    key = kms.create_key()["KeyMetadata"]["Arn"]
    sns.set_topic_attributes(TopicArn=topic, AttributeName="KmsMasterKeyId", AttributeValue=key)
    t.check("a customer key whose policy does not name EventBridge", "does not let events.amazonaws.com" in sent("CryptoCurrency:EC2/BitcoinTool.B!DNS")[0][0]["failed"], True)
    let_events = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": ["kms:GenerateDataKey*", "kms:Decrypt"], "Resource": "*"}]}
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(let_events))
    t.check("a customer key that lets EventBridge use it", [d["outcome"] for d in sent("CryptoCurrency:EC2/BitcoinTool.B!DNS")[1]], ["delivered"])
    sns.set_topic_attributes(TopicArn=topic, AttributeName="KmsMasterKeyId", AttributeValue="")

    events.put_targets(Rule="high", Targets=[{"Id": "sns", "Arn": topic, "Input": json.dumps({"hello": "world"})}])
    t.check("an Input constant replaces the finding", sent("CryptoCurrency:EC2/BitcoinTool.B!DNS")[1][0]["message"], '{"hello": "world"}')
    events.put_targets(Rule="high", Targets=[{"Id": "sns", "Arn": topic, "InputPath": "$.detail.type"}])
    t.check("an InputPath", sent("CryptoCurrency:EC2/BitcoinTool.B!DNS")[1][0]["message"], '"CryptoCurrency:EC2/BitcoinTool.B!DNS"')

    subscription = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"][0]["SubscriptionArn"]
    sns.set_subscription_attributes(SubscriptionArn=subscription, AttributeName="FilterPolicy", AttributeValue=json.dumps({"severity": ["high"]}))
    t.check("an attribute filter policy filters EventBridge's message out", [d["outcome"] for d in sent("CryptoCurrency:EC2/BitcoinTool.B!DNS")[1]], ["filtered out"])
    sns.unsubscribe(SubscriptionArn=subscription)

    emulator.control("drift", {"action": "silent_recipient", "endpoint": "quiet@example.com"})
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="quiet@example.com")
    t.check("a pending subscription receives nothing", [d["outcome"] for d in sent("CryptoCurrency:EC2/BitcoinTool.B!DNS")[1]], ["pending confirmation"])

    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName="to-sns", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps({"Version": "2012-10-17", "Statement": []}))
    events.put_targets(Rule="high", Targets=[{"Id": "sns", "Arn": topic, "RoleArn": role}])
    t.check("a role without sns:Publish", "may not sns:Publish" in sent("CryptoCurrency:EC2/BitcoinTool.B!DNS")[0][0]["failed"], True)
    publish = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sns:Publish", "Resource": topic}]}
    iam.put_role_policy(RoleName="to-sns", PolicyName="publish", PolicyDocument=json.dumps(publish))
    t.check("a role that may publish, with no topic policy for it", sent("CryptoCurrency:EC2/BitcoinTool.B!DNS")[0][0]["failed"], None)

    # The administrator's bus gets its member's findings (sa-east-1: M3 administers M4 there).
    admin_events = emulator.client("events", emulator.credentials(M3), "sa-east-1")
    admin_sns = emulator.client("sns", emulator.credentials(M3), "sa-east-1")
    central = admin_sns.create_topic(Name="central")["TopicArn"]
    admin_sns.set_topic_attributes(TopicArn=central, AttributeName="Policy", AttributeValue=json.dumps(
        {"Version": "2012-10-17", "Statement": [dict(allow_events, Resource=central)]}))
    admin_sns.subscribe(TopicArn=central, Protocol="email", Endpoint="central@example.com")
    admin_events.put_rule(Name="central", EventPattern=json.dumps({"source": ["aws.guardduty"]}))
    admin_events.put_targets(Rule="central", Targets=[{"Id": "sns", "Arn": central}])
    made = emulator.control("findings", {"account": M4, "region": "sa-east-1", "type": "Execution:EC2/MaliciousFile"})
    reached = [d["endpoint"] for d in emulator.control("deliveries")["deliveries"] if d["finding"] == made["id"]]
    t.check("a member's finding reaches its administrator's rule", reached, ["central@example.com"])
    quiet = emulator.control("findings", {"account": M4, "region": "sa-east-1", "type": "Recon:EC2/PortProbeUnprotectedPort"})
    t.check("a suppressed finding is not sent", [d for d in emulator.control("deliveries")["deliveries"] if d["finding"] == quiet["id"]], [])
