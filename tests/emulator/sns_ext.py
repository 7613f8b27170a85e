"""SNS subscriptions that wait for their recipient, as AWS keeps them.

AWS: a subscription of an email, email-json, http or https endpoint stays pending until its
recipient confirms it; until then ListSubscriptionsByTopic shows "PendingConfirmation" in
place of its ARN and GetSubscriptionAttributes says PendingConfirmation "true" (SNS API
reference, ListSubscriptionsByTopic and GetSubscriptionAttributes; SNS developer guide,
"Confirm your subscription"). moto 5.2.5 confirms every subscription at once.

The emulator models the recipients too: by default each confirms at once (a recipient who
clicks the link), except the endpoints named "silent" (POST /_orgguard/drift
{"action": "silent_recipient", "endpoint": ...}), whose subscriptions made after that stay
pending, as AWS shows every subscription whose mail nobody answered.
"""

from moto.sns.models import SNSBackend

from registry import Registry

CONFIRMED_BY_RECIPIENT = {"email", "email-json", "http", "https"}
SILENT_RECIPIENTS: set[str] = set()

_moto_subscribe = SNSBackend.subscribe


def subscribe(self: SNSBackend, topic_arn: str, endpoint: str, protocol: str):
    known = self._find_subscription(topic_arn, endpoint, protocol)
    subscription = _moto_subscribe(self, topic_arn, endpoint, protocol)
    if known is None and protocol in CONFIRMED_BY_RECIPIENT and endpoint in SILENT_RECIPIENTS:
        # The serializer takes `SubscriptionArn` before moto's `arn` for the listing.
        subscription.SubscriptionArn = "PendingConfirmation"
        subscription.attributes.update(PendingConfirmation="true", ConfirmationWasAuthenticated="false")
    return subscription


def pending(subscription) -> bool:
    return getattr(subscription, "SubscriptionArn", None) == "PendingConfirmation"


def register(registry: Registry) -> None:
    registry.patch(SNSBackend, "subscribe", subscribe)
