"""IAM where moto differs from AWS in what a teardown meets.

AWS's DeletePolicy refuses a policy that is still attached, or that has versions besides the
default one (IAM API reference, DeletePolicy: "Before you can delete a managed policy, you
must first detach the policy from all users, groups, and roles that it is attached to. In
addition, you must delete all the policy's versions"); moto 5.2.5 deletes it regardless.
"""

from moto.iam.exceptions import DeleteConflictException
from moto.iam.models import IAMBackend

from registry import Registry

_moto_delete_policy = IAMBackend.delete_policy


def delete_policy(self: IAMBackend, policy_arn: str) -> None:
    policy = self.get_policy(policy_arn)
    if policy.attachment_count > 0:
        raise DeleteConflictException("Cannot delete a policy attached to entities.")
    if len(policy.versions) > 1:
        raise DeleteConflictException(
            "This policy has more than one version. Before you delete a policy, you must delete the "
            "policy's versions. The default version is deleted with the policy."
        )
    _moto_delete_policy(self, policy_arn)


def register(registry: Registry) -> None:
    registry.patch(IAMBackend, "delete_policy", delete_policy)
