"""The one way an extension module plugs into the emulator.

Every module in emulator.EXTENSIONS defines `register(registry)`. At startup the emulator
makes one Registry and calls install(EXTENSIONS), which calls each module's register() once,
in the list's order, before the organization is seeded and before the first request (so
every moto backend is made with the extensions in place). Through the registry a module

- patches moto (patch): a class's method or attribute replaced by the module's own. One
  module per attribute: a second patch of the same attribute is refused at startup, so two
  extensions cannot silently undo each other;
- adds GuardDuty operations (guardduty): each (method, path, name) gets a route into moto's
  GuardDuty dispatcher where moto has none and its name in the request counts, and the
  handler class's methods (moto's dispatch calls them by snake_case operation name) go onto
  moto's GuardDutyResponse, through patch;
- names another REST service's operations for the request counts (operations);
- serves a service moto does not have at all (service; the gate answers it in moto's stead);
- makes a service regional for the gate (regional): its requests are counted per Region and
  refused in Regions an account has not enabled (gate.REGIONAL_SERVICES has the others);
- adds control API endpoints (control) and sections of GET /_orgguard/state (state).

The gate (gate.py), the operation names (protocols.py) and the control API (control.py) read
what was registered here; none of them names an extension module.
"""

import re
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any, NamedTuple

from moto.guardduty import urls as guardduty_urls
from moto.guardduty.responses import GuardDutyResponse

# GuardDuty's paths under one detector, as moto's own routes spell them.
DETECTOR = "/detector/(?P<detector_id>[^/]+)"

Operation = tuple[str, str, str]  # (HTTP method, path regex, operation name)


class Service(NamedTuple):
    """A service the emulator answers itself (moto has none of it)."""

    operation: Callable[[str], str]  # request path -> operation name
    answer: Callable[[str, str, str, bytes], tuple[int, dict, str | None]]
    # (account, region, path, body) -> (status, JSON answer, error code or None)


def _unnamed(pattern: str) -> str:
    """The pattern without group names: moto's routes and ours may name a group differently."""
    return re.sub(r"\?P<\w+>", "", pattern)


class Registry:
    """What the extension modules registered."""

    def __init__(self) -> None:
        # service -> [(method, compiled path, operation name)], for REST services whose
        # operation is named by method and path only (protocols.operation_name)
        self.rest: dict[str, list[tuple[str, re.Pattern, str]]] = {}
        self.services: dict[str, Service] = {}
        self.controls: dict[tuple[str, str], Callable[[Any], Any]] = {}  # (method, path) -> handler
        self.state_sections: dict[str, Callable[[], Any]] = {}  # GET /_orgguard/state's key -> reader
        self.regional_services: set[str] = set()  # signing names, besides gate.REGIONAL_SERVICES
        self._patched: dict[tuple[int, str], str] = {}  # (id(owner), attribute) -> the module that patched it
        self._module = "emulator"

    def install(self, modules: Iterable[ModuleType]) -> None:
        """Each module's register(self), in order."""
        for module in modules:
            self._module = module.__name__
            module.register(self)
        self._module = "emulator"

    def patch(self, owner: Any, name: str, value: Any) -> None:
        """owner.name = value (owner: a moto class, usually)."""
        key = (id(owner), name)
        if key in self._patched:
            raise RuntimeError(
                f"{self._module} patches {getattr(owner, '__name__', owner)}.{name}, "
                f"which {self._patched[key]} patched already"
            )
        self._patched[key] = self._module
        setattr(owner, name, value)

    def operations(self, service: str, operations: Iterable[Operation]) -> None:
        """Names for the request counts of a REST service's operations: (method, path regex
        matched whole against the request path, AWS's operation name)."""
        table = self.rest.setdefault(service, [])
        table.extend((method, re.compile(path), name) for method, path, name in operations)

    def guardduty(self, operations: Iterable[Operation], handlers: type | None = None) -> None:
        """GuardDuty operations: their names for the counts, a route into moto's dispatcher
        for each path moto does not route already (the url map is built from moto's url_paths
        on the first GuardDuty request), and `handlers`' methods onto GuardDutyResponse (a
        GuardDutyResponse subclass; its own methods, not inherited ones, and not those whose
        names start with __)."""
        operations = list(operations)
        self.operations("guardduty", operations)
        routed = {_unnamed(key) for key in guardduty_urls.url_paths}
        for _, path, _ in operations:
            key = "{0}" + path + "$"
            if _unnamed(key) not in routed:
                guardduty_urls.url_paths[key] = GuardDutyResponse.dispatch
                routed.add(_unnamed(key))
        if handlers is not None:
            for name, function in vars(handlers).items():
                if not name.startswith("__"):
                    self.patch(GuardDutyResponse, name, function)

    def service(self, name: str, operation: Callable[[str], str], answer: Callable) -> None:
        """A service moto lacks, answered by `answer` (see Service) in the gate, after the
        gate's checks and faults as for any other service; `name` is its signing name."""
        self.services[name] = Service(operation, answer)

    def regional(self, name: str) -> None:
        """The service (signing name) is regional: the gate counts its requests per Region and
        refuses them in Regions an account has not enabled, as for gate.REGIONAL_SERVICES."""
        self.regional_services.add(name)

    def control(self, method: str, path: str, handler: Callable[[Any], Any]) -> None:
        """An endpoint of the control API at /_orgguard/PATH: handler(request) gets the
        request's JSON body ({} without one) and returns the JSON answer. KeyError,
        TypeError, ValueError and AttributeError become 400 (control.py)."""
        key = (method, f"/_orgguard/{path}")
        if key in self.controls:
            raise RuntimeError(f"{self._module}: {method} /_orgguard/{path} is registered already")
        self.controls[key] = handler

    def state(self, key: str, reader: Callable[[], Any]) -> None:
        """A key of GET /_orgguard/state, answered by reader(); keys come in registration order."""
        self.state_sections[key] = reader
