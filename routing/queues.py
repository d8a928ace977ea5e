"""A queue's settings document: validation, defaults, and the typed view routing uses.

A queue is stored as :class:`routing.records.QueueRecord` with its configuration as a
JSON document (``settings``). :func:`parse_settings` checks such a document and returns
:class:`QueueSettings`, the typed view (the pure policy's :class:`QueueConfig` plus what the
service needs: response timer, SLA warning, queue-position messages, alerts). Every error
is an :class:`InvalidInput` that names the field. See ``docs/routing.md`` for the format.
"""

# The Russian default text is the point of DEFAULT_TEXTS (RUF001).
# ruff: noqa: RUF001

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from inbox.domain.channels import ChannelKind
from inbox.domain.errors import InvalidInput
from inbox.domain.ids import ChannelId, OperatorId
from inbox.domain.operators import parse_skills, validate_skills
from routing.policy import (
    DEFAULT_WEIGHTS,
    AnyMember,
    EscalationStep,
    HasTag,
    LastOperator,
    OverflowQueue,
    PriorityRule,
    QueueConfig,
    ReturningCustomer,
    SkillAtLeast,
    SlaTarget,
    Strategy,
    UnpaidOrder,
)
from routing.records import QueueId, QueueRecord

__all__ = [
    "DEFAULT_TEXTS",
    "VISIBLE_TO",
    "PositionSettings",
    "QueueSettings",
    "parse_escalation",
    "parse_priority_rules",
    "parse_settings",
    "parse_sla",
    "parse_strategy",
    "parse_weights",
    "position_text",
]

#: What a queued customer is told; ``{position}`` and ``{minutes}`` are filled in.
DEFAULT_TEXTS: Mapping[str, str] = {
    "en": (
        "All our operators are busy. You are number {position} in the queue; "
        "the expected wait is about {minutes} min."
    ),
    "ru": (
        "Все операторы сейчас заняты. Вы {position}-й в очереди, ожидание — около {minutes} мин."
    ),
}

_KNOWN = frozenset(
    {
        "channels",
        "members",
        "skills",
        "strategy",
        "accept_timeout",
        "escalation",
        "sla",
        "sla_warning_before",
        "response_timeout",
        "response_action",
        "allow_pick",
        "priority",
        "position",
        "alert_telegram",
        "off_hours_overflow",
        "sla_business_hours",
        "visible_to",
    }
)

RESPONSE_ACTIONS = ("reoffer", "alert")
#: Who sees a queue's waiting conversations: every operator, or its members only
#: (supervisors and admins always; an operator always sees their own conversations).
VISIBLE_TO = ("everyone", "members")
MAX_SECONDS = 30 * 86_400.0


@dataclass(frozen=True, slots=True)
class PositionSettings:
    """Queue-position messages to waiting customers: the first when the customer has
    waited ``first_after`` seconds unassigned, then an update at most every ``interval``
    seconds while the position changed. ``interval`` of ``None`` turns them off."""

    interval: float | None = 180.0
    first_after: float = 15.0
    language: str = "en"
    texts: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_TEXTS))


@dataclass(frozen=True, slots=True)
class QueueSettings:
    config: QueueConfig
    is_default: bool = False
    sla_warning_before: float = 60.0
    response_timeout: float | None = None
    response_action: str = "reoffer"
    allow_pick: bool = True
    priority_rules: tuple[PriorityRule, ...] = ()
    position: PositionSettings = PositionSettings(interval=None)
    alert_telegram: Mapping[str, str] | None = None
    #: While this queue is closed, its waiting tasks move to that queue (id or name) if
    #: it is open.
    off_hours_overflow: QueueId | None = None
    #: SLA due times count this queue's open time only.
    sla_business_hours: bool = False
    #: ``members``: plain operators who are not members do not see its waiting
    #: conversations (:data:`VISIBLE_TO`).
    visible_to: str = "everyone"

    @property
    def id(self) -> QueueId:
        return QueueId(self.config.id)

    @property
    def name(self) -> str:
        return self.config.name


def _seconds(value: Any, name: str, *, allow_none: bool = True) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{name} must be a number of seconds")
    if not math.isfinite(value) or not 0 < value <= MAX_SECONDS:
        raise InvalidInput(f"{name} must be between 0 and {MAX_SECONDS:g} seconds")
    return float(value)


def _skills(value: Any, name: str) -> dict[str, int]:
    if value is None:
        return {}
    if isinstance(value, str):
        return parse_skills(value)
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{name} must be an object of skill levels")
    try:
        return validate_skills(value)
    except InvalidInput as exc:
        raise InvalidInput(f"{name}: {exc.message}") from exc


def _ids(value: Any, name: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise InvalidInput(f"{name} must be a list of ids")
    return list(value)


def parse_strategy(value: Any) -> Strategy:
    """``least-loaded`` or ``least_loaded`` (and the other three)."""
    if not isinstance(value, str):
        raise InvalidInput("strategy must be a string")
    try:
        return Strategy(value.replace("-", "_"))
    except ValueError as exc:
        names = ", ".join(s.value.replace("_", "-") for s in Strategy)
        raise InvalidInput(f"strategy must be one of {names}") from exc


def parse_escalation(value: Any) -> tuple[EscalationStep, ...]:
    """``[{"after": 0, "target": "last_operator"}, {"after": 60, "target": "skills",
    "skills": {"lenses": 3}}, {"after": 120, "target": "any"}, {"after": 600, "target":
    "overflow", "queue": "<queue id>"}]``."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InvalidInput("escalation must be a list of steps")
    steps: list[EscalationStep] = []
    for i, raw in enumerate(value):
        if not isinstance(raw, Mapping):
            raise InvalidInput(f"escalation step {i} must be an object")
        after = raw.get("after", 0)
        if isinstance(after, bool) or not isinstance(after, int | float) or after < 0:
            raise InvalidInput(f"escalation step {i}: after must be seconds >= 0")
        target = raw.get("target")
        match target:
            case "last_operator":
                steps.append(EscalationStep(float(after), LastOperator()))
            case "skills":
                skills = _skills(raw.get("skills"), f"escalation step {i} skills")
                if not skills:
                    raise InvalidInput(f"escalation step {i}: skills are missing")
                steps.append(EscalationStep(float(after), SkillAtLeast(skills)))
            case "any":
                steps.append(EscalationStep(float(after), AnyMember()))
            case "overflow":
                queue = raw.get("queue")
                if not isinstance(queue, str) or not queue:
                    raise InvalidInput(f"escalation step {i}: overflow needs a queue")
                steps.append(EscalationStep(float(after), OverflowQueue(QueueId(queue))))
            case _:
                raise InvalidInput(
                    f"escalation step {i}: target must be last_operator, skills, any or overflow"
                )
    return tuple(steps)


def parse_sla(value: Any) -> dict[int, SlaTarget]:
    """``{"0": {"first_response": 300, "resolution": 86400}, "10": {...}}``: targets by
    the lowest priority they apply to."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput("sla must be an object keyed by priority")
    out: dict[int, SlaTarget] = {}
    for key, raw in value.items():
        try:
            priority = int(key)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"sla: {key!r} is not a priority number") from exc
        if not isinstance(raw, Mapping):
            raise InvalidInput(f"sla {priority} must be an object")
        out[priority] = SlaTarget(
            _seconds(raw.get("first_response"), f"sla {priority} first_response"),
            _seconds(raw.get("resolution"), f"sla {priority} resolution"),
        )
    return out


def parse_priority_rules(value: Any) -> tuple[PriorityRule, ...]:
    """``[{"rule": "returning", "bonus": 5}, {"rule": "unpaid_order", "bonus": 3},
    {"rule": "tag", "tag": "vip", "bonus": 10}]``."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InvalidInput("priority must be a list of rules")
    rules: list[PriorityRule] = []
    for i, raw in enumerate(value):
        if not isinstance(raw, Mapping):
            raise InvalidInput(f"priority rule {i} must be an object")
        bonus = raw.get("bonus")
        if isinstance(bonus, bool) or not isinstance(bonus, int) or abs(bonus) > 1000:
            raise InvalidInput(f"priority rule {i}: bonus must be a whole number")
        match raw.get("rule"):
            case "returning":
                rules.append(ReturningCustomer(bonus))
            case "unpaid_order":
                rules.append(UnpaidOrder(bonus))
            case "tag":
                tag = raw.get("tag")
                if not isinstance(tag, str) or not tag:
                    raise InvalidInput(f"priority rule {i}: tag is missing")
                rules.append(HasTag(tag, bonus))
            case _:
                raise InvalidInput(
                    f"priority rule {i}: rule must be returning, unpaid_order or tag"
                )
    return tuple(rules)


def _position(value: Any) -> PositionSettings:
    if value is None:
        return PositionSettings(interval=None)
    if not isinstance(value, Mapping):
        raise InvalidInput("position must be an object")
    language = value.get("language", "en")
    if language not in DEFAULT_TEXTS:
        raise InvalidInput("position language must be en or ru")
    texts = dict(DEFAULT_TEXTS)
    custom = value.get("texts") or {}
    if not isinstance(custom, Mapping):
        raise InvalidInput("position texts must be an object keyed by language")
    for lang, text in custom.items():
        if lang not in DEFAULT_TEXTS or not isinstance(text, str) or not text.strip():
            raise InvalidInput("position texts: en or ru to a non-empty text")
        try:
            text.format(position=1, minutes=1)
        except (KeyError, IndexError, ValueError) as exc:
            raise InvalidInput(
                "position texts may only use the {position} and {minutes} fields"
            ) from exc
        texts[lang] = text
    interval = _seconds(value.get("interval", 180), "position interval")
    first_after = _seconds(value.get("first_after", 15), "position first_after", allow_none=False)
    assert first_after is not None
    return PositionSettings(interval, first_after, language, texts)


def position_text(settings: PositionSettings, position: int, wait_seconds: float) -> str:
    minutes = max(1, math.ceil(wait_seconds / 60))
    template = settings.texts.get(settings.language) or DEFAULT_TEXTS["en"]
    return template.format(position=position, minutes=minutes)


def parse_settings(record: QueueRecord) -> QueueSettings:
    """The typed view of a stored or proposed queue. Raises :class:`InvalidInput`."""
    raw = record.settings
    unknown = sorted(set(raw) - _KNOWN)
    if unknown:
        raise InvalidInput(f"unknown queue setting {unknown[0]!r}")
    strategy = parse_strategy(raw.get("strategy", "least_loaded"))
    response_action = raw.get("response_action", "reoffer")
    if response_action not in RESPONSE_ACTIONS:
        raise InvalidInput("response_action must be reoffer or alert")
    visible_to = raw.get("visible_to", "everyone")
    if visible_to not in VISIBLE_TO:
        raise InvalidInput("visible_to must be everyone or members")
    allow_pick = raw.get("allow_pick", True)
    if not isinstance(allow_pick, bool):
        raise InvalidInput("allow_pick must be true or false")
    alert = raw.get("alert_telegram")
    if alert is not None and (
        not isinstance(alert, Mapping)
        or not isinstance(alert.get("channel_id"), str)
        or not isinstance(alert.get("chat_id"), str | int)
    ):
        raise InvalidInput("alert_telegram needs a channel_id and a chat_id")
    warning = _seconds(raw.get("sla_warning_before", 60), "sla_warning_before")
    business = raw.get("sla_business_hours", False)
    if not isinstance(business, bool):
        raise InvalidInput("sla_business_hours must be true or false")
    off_hours = raw.get("off_hours_overflow")
    if off_hours is not None and (not isinstance(off_hours, str) or not off_hours):
        raise InvalidInput("off_hours_overflow must be a queue")
    if off_hours in (record.id, record.name):
        raise InvalidInput("off_hours_overflow cannot be the queue itself")
    try:
        config = QueueConfig(
            id=record.id,
            name=record.name,
            channel_ids=frozenset(ChannelId(c) for c in _ids(raw.get("channels"), "channels")),
            members=tuple(OperatorId(m) for m in _ids(raw.get("members"), "members")),
            required_skills=_skills(raw.get("skills"), "skills"),
            strategy=strategy,
            accept_timeout_seconds=_seconds(raw.get("accept_timeout"), "accept_timeout"),
            escalation=parse_escalation(raw.get("escalation")),
            sla=parse_sla(raw.get("sla")),
        )
    except ValueError as exc:
        raise InvalidInput(str(exc).removeprefix(f"queue {record.id}: ")) from exc
    return QueueSettings(
        config=config,
        is_default=record.is_default,
        sla_warning_before=warning or 0.0,
        response_timeout=_seconds(raw.get("response_timeout"), "response_timeout"),
        response_action=str(response_action),
        allow_pick=allow_pick,
        priority_rules=parse_priority_rules(raw.get("priority")),
        position=_position(raw.get("position")),
        alert_telegram=(
            {"channel_id": str(alert["channel_id"]), "chat_id": str(alert["chat_id"])}
            if isinstance(alert, Mapping)
            else None
        ),
        off_hours_overflow=QueueId(off_hours) if isinstance(off_hours, str) else None,
        sla_business_hours=business,
        visible_to=str(visible_to),
    )


def parse_weights(spec: str, kinds: Collection[str] | None = None) -> dict[ChannelKind, float]:
    """``"email=0.5,webchat=1"`` over :data:`routing.policy.DEFAULT_WEIGHTS`. Raises
    :class:`InvalidInput` for a kind outside ``kinds`` (the installed ones; by default
    the kinds the defaults name) or a weight that is not a positive number."""
    weights = dict(DEFAULT_WEIGHTS)
    known = set(DEFAULT_WEIGHTS) if kinds is None else set(kinds)
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        kind, _, value = item.partition("=")
        if kind.strip() not in known:
            raise InvalidInput(f"unknown channel kind {kind.strip()!r} in channel weights")
        channel_kind = ChannelKind(kind.strip())
        try:
            weight = float(value)
        except ValueError as exc:
            raise InvalidInput(f"the weight of {kind.strip()} must be a number") from exc
        if not math.isfinite(weight) or not 0 < weight <= 100:
            raise InvalidInput(f"the weight of {kind.strip()} must be in (0, 100]")
        weights[channel_kind] = weight
    return weights
