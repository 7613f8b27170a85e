"""S3 bucket policies where moto differs from AWS in what a findings archive meets.

moto 5.2.5 checks an object write against the bucket policy without its conditions, so the
TLS-only statement every archive carries (Deny s3:* when aws:SecureTransport is "false"; S3
user guide, "Enforce encryption of data in transit") refuses every write. AWS evaluates the
condition: a request over TLS, which every SDK call to AWS is (this emulator stands in for
AWS's HTTPS endpoints), has aws:SecureTransport "true", so that statement does not apply.
Statements whose conditions test aws:SecureTransport are judged here; other conditions are
left as moto has them.
"""

import json

from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.s3.models import FakeBucket

from registry import Registry

SECURE_TRANSPORT = "true"  # ours: the request came over TLS, as to AWS


def _applies(statement: dict) -> bool:
    for operator, tests in (statement.get("Condition") or {}).items():
        for key, wanted in tests.items():
            if key.lower() == "aws:securetransport":
                wanted = [str(w).lower() for w in (wanted if isinstance(wanted, list) else [wanted])]
                if operator.lower().startswith("bool") and SECURE_TRANSPORT not in wanted:
                    return False
    return True


def get_permission(self: FakeBucket, action: str, resource: str):
    if self.policy is None:
        return PermissionResult.NEUTRAL
    policy = json.loads(self.policy.decode())
    statements = policy.get("Statement", [])
    statements = [s for s in (statements if isinstance(statements, list) else [statements]) if _applies(s)]
    return IAMPolicy(json.dumps(dict(policy, Statement=statements))).is_action_permitted(action, resource)


def register(registry: Registry) -> None:
    registry.patch(FakeBucket, "get_permission", get_permission)
