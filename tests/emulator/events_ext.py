"""EventBridge's TestEventPattern, which moto 5.2.5 leaves unimplemented (its handler answers
nothing). AWS (EventBridge API reference, TestEventPattern): the event must carry id,
account, source, time, region, resources and detail-type, else a ValidationException; the
answer is {"Result": true|false}, with EventBridge's matching (moto's EventPattern does the
matching it also uses to deliver, numeric comparisons included).
"""

import json

from moto.events.exceptions import ValidationException
from moto.events.models import EventPattern
from moto.events.responses import EventsHandler

from registry import Registry

REQUIRED = ("id", "account", "source", "time", "region", "resources", "detail-type")


def test_event_pattern(self: EventsHandler):
    try:
        event = json.loads(self._get_param("Event") or "")
    except ValueError:
        raise ValidationException("Parameter Event is not valid.")
    if not isinstance(event, dict) or any(key not in event for key in REQUIRED):
        raise ValidationException("Parameter Event is not valid.")
    pattern = EventPattern.load(self._get_param("EventPattern"))
    return json.dumps({"Result": pattern.matches_event(event)}), self.response_headers


def register(registry: Registry) -> None:
    registry.patch(EventsHandler, "test_event_pattern", test_event_pattern)
