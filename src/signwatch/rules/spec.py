"""Rules (design §7): the validated rule model — what a rule says, its kind's parameters and their defaults.

A rule arrives as camelCase JSON, is validated once here into a frozen `RuleSpec` (422 with one message per
invalid field), and the engine only ever sees that model. Defaults live in this module and nowhere else.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from signwatch.events import ENVELOPE_TYPES, KNOWN_PREFIXES

KINDS = ("threshold", "ratio", "stuck", "new_network", "anomaly", "flatline")
Kind = Literal["threshold", "ratio", "stuck", "new_network", "anomaly", "flatline"]
GroupBy = Literal["tenant", "actor", "businessUnit", "country"]
Severity = Literal["low", "medium", "high", "critical"]
SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}
FILTER_FIELDS = ("actor", "businessUnit", "country", "source", "clientReferenceId", "asn", "network", "ipAddress")
# Types a condition may name beyond the envelope vocabulary: any `<family>.<name>` of a known family.
_FAMILY_NAMES = frozenset(p.rstrip(".") for p in KNOWN_PREFIXES)
MAX_WINDOW_MINUTES = 7 * 24 * 60
ANY_EVENT = "*"
_READ_ONLY = ("id", "createdAt", "updatedAt", "createdBy")

PositiveMinutes = Annotated[int, Field(gt=0, le=MAX_WINDOW_MINUTES)]


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid")


class Schedule(_Model):
    """When a rule counts: only off hours, only business hours (the tenant's clock and holidays), or always."""

    off_hours_only: bool = False
    business_hours_only: bool = False
    timezone: str | None = None  # overrides the tenant's time zone

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"unknown time zone {value!r} (use Area/City, e.g. Europe/Berlin)") from exc
        return value

    @model_validator(mode="after")
    def _exclusive(self) -> Schedule:
        if self.off_hours_only and self.business_hours_only:
            raise ValueError("offHoursOnly and businessHoursOnly exclude each other")
        return self

    @property
    def always(self) -> bool:
        return not (self.off_hours_only or self.business_hours_only)


def normalize_condition(value: str) -> str:
    """`envelope_sent` / `envelope.sent` / `ENVELOPE.SENT` → `envelope.sent`; refuses unknown types."""
    text = value.strip().lower()
    if text == ANY_EVENT:
        return text
    if "." not in text and "_" in text:
        family, _, name = text.partition("_")
        text = f"{family}.{name}"
    family, _, name = text.partition(".")
    if text in ENVELOPE_TYPES or (family in _FAMILY_NAMES and family != "envelope" and name):
        return text
    known = ", ".join(t.removeprefix("envelope.") for t in ENVELOPE_TYPES)
    raise ValueError(f"unknown event type {value!r}: envelope types are {known}; or user.*, recipient.*, auth.*")


class RuleSpec(_Model):
    """One alert rule. `kind` selects which of the kind-specific fields apply (see docs/rules.md)."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: Kind = "threshold"
    condition: str = "envelope.sent"
    description: str | None = None
    tenant: str | None = None
    group_by: GroupBy | None = None  # default per kind, see `group`
    filter: dict[str, str | list[str]] = Field(default_factory=dict)
    severity: Severity = "medium"
    mode: Literal["shadow", "active"] = "shadow"
    enabled: bool = True
    cooldown_minutes: Annotated[int, Field(ge=0, le=MAX_WINDOW_MINUTES)] = 60
    recipients: list[str] = Field(default_factory=list)
    schedule: Schedule = Field(default_factory=Schedule)
    runbook: str | None = None
    # kind parameters
    window_minutes: PositiveMinutes | None = None
    threshold: Annotated[float, Field(ge=0)] | None = None
    denominator: str | None = None
    factor: Annotated[float, Field(gt=0)] | None = None
    baseline_days: Annotated[int, Field(gt=0, le=90)] | None = None
    min_count: Annotated[int, Field(ge=1)] | None = None
    sla_minutes: Annotated[int, Field(gt=0, le=90 * 24 * 60)] | None = None
    lookback_days: Annotated[int, Field(gt=0, le=365)] | None = None
    network: Literal["prefix", "asn"] | None = None
    min_history_days: Annotated[int, Field(ge=1, le=90)] | None = None
    sensitivity: Annotated[float, Field(gt=0, lt=1)] | None = None
    min_expected: Annotated[float, Field(gt=0)] | None = None
    new_to: Literal["group", "tenant"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_condition(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("kind") in ("new_network", "flatline") and "condition" not in data:
            return {**data, "condition": ANY_EVENT}
        return data

    @field_validator("condition", "denominator")
    @classmethod
    def _event_type(cls, value: str | None) -> str | None:
        return None if value is None else normalize_condition(value)

    @field_validator("filter")
    @classmethod
    def _filter(cls, value: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        for name, wanted in value.items():
            if name not in FILTER_FIELDS:
                raise ValueError(f"cannot filter on {name!r}: use one of {', '.join(FILTER_FIELDS)}")
            if isinstance(wanted, list) and not wanted:
                raise ValueError(f"filter {name!r}: the list of values is empty")
        return value

    @field_validator("recipients")
    @classmethod
    def _recipients(cls, value: list[str]) -> list[str]:
        from signwatch.notify.recipients import parse_recipient

        for text in value:
            parse_recipient(text)  # raises ValueError with the reason
        return value

    @model_validator(mode="after")
    def _kind_fields(self) -> RuleSpec:
        kind = self.kind
        if kind == "threshold" and self.threshold is None:
            raise _field_error("threshold", "a threshold rule needs threshold (events in windowMinutes)")
        if kind == "threshold" and self.threshold is not None and self.threshold < 1:
            raise _field_error("threshold", "threshold must be at least 1 (a count of events)")
        if kind == "stuck" and self.condition != "envelope.sent":
            raise _field_error("condition", "a stuck rule watches envelopes sent and not yet finished: envelope.sent")
        if kind == "ratio" and self.denominator is None:
            raise _field_error("denominator", "a ratio rule needs denominator (e.g. envelope.sent)")
        if kind == "stuck" and self.group == "country":
            raise _field_error("groupBy", "a stuck rule groups by tenant, actor or businessUnit")
        if kind == "stuck" and self.threshold is not None and self.threshold < 1:
            raise _field_error("threshold", "threshold must be at least 1 (overdue envelopes)")
        if kind in ("stuck", "new_network") and self.filter:
            raise _field_error("filter", f"filter does not apply to a {kind} rule")
        if kind in ("stuck", "new_network", "anomaly") and not self.schedule.always:
            raise _field_error("schedule", f"schedule does not apply to a {kind} rule")
        if kind == "new_network" and self.condition != ANY_EVENT:
            raise _field_error("condition", "a new_network rule watches every event with an address: omit condition")
        history = self.param("min_history_days") if kind in ("anomaly", "flatline", "new_network") else None
        horizon = self.param("lookback_days" if kind == "new_network" else "baseline_days") if history else None
        if history is not None and horizon is not None and history > horizon:
            name = "lookbackDays" if kind == "new_network" else "baselineDays"
            raise _field_error(
                "minHistoryDays", f"minHistoryDays ({history}) exceeds {name} ({horizon}): it could never fire"
            )
        if kind == "new_network" and self.group not in ("actor", "tenant"):
            raise _field_error("groupBy", "a new_network rule groups by actor or tenant")
        if self.condition == ANY_EVENT and kind not in ("new_network", "flatline"):
            raise _field_error("condition", "'*' (any event) only suits new_network and flatline rules")
        unused = [name for name in _KIND_ONLY if getattr(self, name) is not None and kind not in _KIND_ONLY[name]]
        if unused:
            alias = to_camel(unused[0])
            raise _field_error(alias, f"{alias} does not apply to a {kind} rule")
        return self

    # -- effective parameters (defaults per kind) ------------------------------------------------------------
    @property
    def group(self) -> GroupBy:
        if self.group_by is not None:
            return self.group_by
        return "actor" if self.kind == "new_network" else "tenant"

    @property
    def window(self) -> int:
        if self.window_minutes is not None:
            return self.window_minutes
        return {"anomaly": 60}.get(self.kind, 60)

    @property
    def types(self) -> tuple[str, ...]:
        """Event types the rule counts (numerator and denominator)."""
        if self.condition == ANY_EVENT:
            return ()
        return tuple(t for t in (self.condition, self.denominator) if t is not None)

    def param(self, name: str) -> Any:
        value = getattr(self, name)
        return _DEFAULTS[self.kind].get(name) if value is None else value

    def wire(self) -> dict[str, Any]:
        """The rule as JSON, defaults of its kind filled in."""
        body = self.model_dump(by_alias=True, mode="json")
        body["groupBy"] = self.group
        body["windowMinutes"] = self.window_minutes if self.kind == "stuck" else self.window
        for name, default in _DEFAULTS[self.kind].items():
            if body.get(to_camel(name)) is None:
                body[to_camel(name)] = default
        body = {k: _plain(v) for k, v in body.items()}
        return {k: v for k, v in body.items() if v is not None or k in ("tenant", "description", "runbook")}


_KIND_ONLY: dict[str, tuple[str, ...]] = {
    "threshold": ("threshold", "stuck"),
    "denominator": ("ratio",),
    "factor": ("ratio",),
    "baseline_days": ("ratio", "flatline", "anomaly"),
    "min_count": ("ratio", "anomaly"),
    "sla_minutes": ("stuck",),
    "lookback_days": ("new_network",),
    "network": ("new_network",),
    "min_history_days": ("anomaly", "flatline", "new_network"),
    "new_to": ("new_network",),
    "sensitivity": ("anomaly",),
    "min_expected": ("flatline",),
}
_DEFAULTS: dict[str, dict[str, Any]] = {
    "threshold": {},
    "ratio": {"factor": 3.0, "baseline_days": 7, "min_count": 5},
    "stuck": {"sla_minutes": 3 * 24 * 60, "threshold": 1},
    "new_network": {"lookback_days": 30, "network": "prefix", "new_to": "group", "min_history_days": 7},
    # the detector's band edge scores 0.998 (rules/detector.py): 0.999 asks for a little more than the band
    "anomaly": {"baseline_days": 28, "min_history_days": 14, "sensitivity": 0.999, "min_count": 10},
    "flatline": {"baseline_days": 28, "min_history_days": 7, "min_expected": 10.0},
}


def _plain(value: Any) -> Any:
    """50.0 → 50: counts read back as they were written."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


class RuleError(ValueError):
    """An invalid rule: every (field, message) pydantic found, the first one leading."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__(problems[0][1] if problems else "invalid rule")
        self.problems = problems


class _FieldProblem(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _field_error(field: str, message: str) -> _FieldProblem:
    return _FieldProblem(field, message)


def parse_rule(body: Any) -> RuleSpec:
    """Validate a rule body (read-only fields such as `id` are ignored, so a GET body can be PUT back)."""
    if not isinstance(body, dict):
        raise RuleError([("", "a rule is a JSON object")])
    data = {k: v for k, v in body.items() if k not in _READ_ONLY}
    try:
        return RuleSpec.model_validate(data)
    except ValidationError as exc:
        raise RuleError(_problems(exc)) from None
    except _FieldProblem as exc:  # pragma: no cover - pydantic wraps validator errors; kept for safety
        raise RuleError([(exc.field, str(exc))]) from None


def _problems(exc: ValidationError) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for err in exc.errors():
        ctx_error = (err.get("ctx") or {}).get("error")
        if isinstance(ctx_error, _FieldProblem):
            out.append((ctx_error.field, str(ctx_error)))
            continue
        loc = ".".join(str(p) for p in err.get("loc", ()))
        message = str(err.get("msg", "invalid"))
        message = message.removeprefix("Value error, ")
        if err.get("type") == "extra_forbidden":
            message = f"unknown field {loc!r}"
        elif err.get("type") == "literal_error" and loc == "kind":
            message = f"unknown kind {err.get('input')!r}: use one of {', '.join(KINDS)}"
        out.append((loc, f"{loc}: {message}" if loc and not message.startswith(loc) else message))
    return out
