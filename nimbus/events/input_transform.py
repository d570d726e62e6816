"""What EventBridge sends a target for an event (pure): the event itself, the target's
``Input``, the part ``InputPath`` selects, or ``InputTransformer``'s template filled in.

AWS's rules ("Transforming target input"; LocalStack's AWS-validated snapshots of
``test_events_inputs``):

- No Input, InputPath or InputTransformer: the whole event, as JSON.
- ``Input``: that JSON text, whatever the event.
- ``InputPath``: the JSON of the value the path selects (``$.detail.payload.sf_id`` of
  ``"baz"`` sends ``"baz"``, with its quotes); a path that selects nothing sends nothing.
- ``InputTransformer``: each ``<name>`` in the template is replaced by the value its
  ``InputPathsMap`` path selects (nothing selected: an empty string), or by a predefined
  variable (``aws.events.rule-arn``, ``aws.events.rule-name``,
  ``aws.events.event.ingestion-time``, ``aws.events.event`` — the event without ``detail``,
  ``detail-type`` spelled ``detailType`` — and ``aws.events.event.json``, the whole event).
  Where it stands decides how a value is written:

  - inside a string of the template (``"users/<id>"``, or anywhere in a string template
    such as ``"<type> happened"``): a string as its text, anything else as JSON without its
    quotes (``{acc_id:0a78,sf_id:baz}``, ``[HIGH]``, ``true``);
  - outside a string (``{"id": <id>}``): as JSON (a string quoted, a missing value ``""``).

  A template that is a JSON object or array must still be JSON once filled in (an object
  placed inside one of its strings, ``{"p": "<payload>"}``, is not): otherwise the event is
  not delivered. Any other template is sent as its filled-in text, quotes included.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Final

import orjson

from nimbus.events.json_path import MISSING, JsonPath, parse_path, select
from nimbus.model.eventbridge import Target

PLACEHOLDER: Final = re.compile(r"<([^<>]+)>")
RULE_ARN: Final = "aws.events.rule-arn"
RULE_NAME: Final = "aws.events.rule-name"
INGESTION_TIME: Final = "aws.events.event.ingestion-time"
EVENT: Final = "aws.events.event"
EVENT_JSON: Final = "aws.events.event.json"
PREDEFINED: Final = frozenset({RULE_ARN, RULE_NAME, INGESTION_TIME, EVENT, EVENT_JSON})


class TransformFailed(ValueError):
    """The filled-in template is not JSON although the template is, or what is to be sent
    cannot be written as JSON at all: nothing is sent."""


def placeholders(template: str) -> list[str]:
    """The names of the template's placeholders, in order."""
    return PLACEHOLDER.findall(template)


@lru_cache(maxsize=4096)
def _path(text: str) -> JsonPath:
    return parse_path(text)  # checked when the target was put; cached per distinct path


def _json(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError as err:  # nested past orjson's 254 levels
        raise TransformFailed(f"The event cannot be written as JSON ({err}).") from None


def target_input(
    target: Target,
    event: Mapping[str, Any],
    *,
    rule_arn: str,
    rule_name: str,
    ingestion_time: str,
) -> str | None:
    """The body sent to ``target`` for ``event``; None when there is nothing to send (an
    InputPath that selects nothing). Raises TransformFailed (see the module's docstring)."""
    if target.input is not None:
        return target.input
    if target.input_path is not None:
        selected = select(_path(target.input_path), event)
        return None if selected is MISSING else _json(selected)
    transformer = target.input_transformer
    if transformer is None:
        return _json(event)
    values: dict[str, Any] = {
        name: select(_path(path), event) for name, path in transformer.paths.items()
    }
    values.update(
        {
            RULE_ARN: rule_arn,
            RULE_NAME: rule_name,
            INGESTION_TIME: ingestion_time,
            EVENT: {
                ("detailType" if key == "detail-type" else key): value
                for key, value in event.items()
                if key != "detail"
            },
            EVENT_JSON: dict(event),
        }
    )
    return fill(transformer.template, values)


def fill(template: str, values: Mapping[str, Any]) -> str:
    """``template`` with its placeholders replaced by ``values`` (a missing name or value:
    empty); raises TransformFailed for a JSON template that is no longer JSON."""
    json_template = template.lstrip().startswith(("{", "["))
    out: list[str] = []
    in_string = False
    at = 0
    for match in PLACEHOLDER.finditer(template):
        literal = template[at : match.start()]
        in_string = _string_state(literal, in_string)
        out.append(literal)
        value = values.get(match.group(1), MISSING)
        out.append(_render(value, quoted=in_string, json_template=json_template))
        at = match.end()
    out.append(template[at:])
    filled = "".join(out)
    if json_template:
        try:
            orjson.loads(filled)
        except orjson.JSONDecodeError as err:
            raise TransformFailed(
                f"The InputTemplate filled in is not valid JSON ({err}): {filled[:200]}"
            ) from None
    return filled


def _string_state(literal: str, in_string: bool) -> bool:
    """Whether the template is inside a JSON string after ``literal`` (which began in that
    state): each unescaped double quote toggles it."""
    escaped = False
    for char in literal:
        if escaped:
            escaped = False
        elif char == "\\" and in_string:
            escaped = True
        elif char == '"':
            in_string = not in_string
    return in_string


def _render(value: Any, *, quoted: bool, json_template: bool) -> str:
    if value is MISSING:
        return "" if quoted else '""'
    if not quoted:
        return _json(value)
    if isinstance(value, str):
        return _json(value)[1:-1]  # the string's text, escaped to stay inside its quotes
    if json_template and isinstance(value, dict | list):
        # An object inside a string of a JSON template: AWS does not deliver the event. Its
        # JSON, quotes and all, makes the filled-in template fail to parse, as there.
        return _json(value)
    return _json(value).replace('"', "")
