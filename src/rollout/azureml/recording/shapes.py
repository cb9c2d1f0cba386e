"""Where a replayed response differs from the recorded one: status, the headers that matter, shape.

Values are not compared (ids, times, names and numbers differ from run to run), only what a client
depends on:
- the status code;
- the headers of `COMPARED_HEADERS`: the media type of `content-type` (when both have a body) and
  the presence of the rest (the long-running operation headers, `retry-after`, the `x-ms-*` request
  ids and throttling counters ARM documents, Azure ML's scoring headers);
- the body's shape: the same JSON keys with the same JSON types (null, boolean, number, string,
  array, object) at every level; an array's first elements are compared (its length is a value),
  and so are the first values of an object keyed by numbers (a count per status code: its keys are
  values).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rollout.azureml.recording.exchanges import Message

PRESENCE_HEADERS = (
    "azure-asyncoperation",
    "location",
    "retry-after",
    "x-ms-request-id",
    "x-ms-correlation-request-id",
    "x-ms-routing-request-id",
    "x-ms-ratelimit-remaining-subscription-reads",
    "x-ms-ratelimit-remaining-subscription-writes",
    "x-ms-ratelimit-remaining-subscription-deletes",
    "azureml-model-deployment",
    "x-request-id",
    "x-ms-run-function-failed",
    "ms-azureml-model-error-statuscode",
)
COMPARED_HEADERS = ("content-type", *PRESENCE_HEADERS)


@dataclass(frozen=True)
class Difference:
    """One way the emulator's answer differs from the recorded one."""

    where: str  # "status", "header location", "body $.properties.scoringUri"
    recorded: str
    replayed: str

    def __str__(self) -> str:
        return f"{self.where}: recorded {self.recorded}, emulator {self.replayed}"


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def shape_differences(recorded: Any, replayed: Any, where: str = "$") -> list[Difference]:
    """The keys and JSON types that differ between two JSON values, by JSON path."""
    kinds = json_type(recorded), json_type(replayed)
    if kinds[0] != kinds[1]:
        return [Difference(f"body {where}", kinds[0], kinds[1])]
    found: list[Difference] = []
    if isinstance(recorded, dict) and (_keyed_by_numbers(recorded) or _keyed_by_numbers(replayed)):
        if recorded and replayed:
            first, other = next(iter(recorded.values())), next(iter(replayed.values()))
            found.extend(shape_differences(first, other, f"{where}.*"))
    elif isinstance(recorded, dict):
        for key in recorded.keys() - replayed.keys():
            found.append(Difference(f"body {where}.{key}", json_type(recorded[key]), "no such key"))
        for key in replayed.keys() - recorded.keys():
            found.append(Difference(f"body {where}.{key}", "no such key", json_type(replayed[key])))
        for key in recorded.keys() & replayed.keys():
            found.extend(shape_differences(recorded[key], replayed[key], f"{where}.{key}"))
    elif isinstance(recorded, list) and recorded and replayed:
        found.extend(shape_differences(recorded[0], replayed[0], f"{where}[0]"))
    return sorted(found, key=lambda difference: difference.where)


def header_differences(
    recorded: Mapping[str, str], replayed: Mapping[str, str], bodies: bool
) -> list[Difference]:
    """The compared headers that one side has and the other lacks, and a different media type
    (compared only when both sides have a body)."""
    ours = {name.lower(): value for name, value in recorded.items()}
    theirs = {name.lower(): value for name, value in replayed.items()}
    found = []
    for name in COMPARED_HEADERS:
        if name == "content-type":
            mine, other = _media_type(ours.get(name)), _media_type(theirs.get(name))
            if bodies and mine != other:
                found.append(Difference(f"header {name}", mine or "none", other or "none"))
        elif (name in ours) != (name in theirs):
            present = {True: "present", False: "absent"}
            found.append(Difference(f"header {name}", present[name in ours], present[name in theirs]))
    return found


def differences(status: int, recorded: Message, replayed_status: int, replayed: Message) -> list[Difference]:
    """Every difference between a recorded response and the emulator's."""
    found = []
    if status != replayed_status:
        found.append(Difference("status", str(status), str(replayed_status)))
    has_body = (
        recorded.body is not None or bool(recorded.text),
        replayed.body is not None or bool(replayed.text),
    )
    found.extend(header_differences(recorded.headers, replayed.headers, all(has_body)))
    if recorded.body is not None and replayed.body is not None:
        found.extend(shape_differences(recorded.body, replayed.body))
    elif has_body[0] != has_body[1] or (recorded.body is None) != (replayed.body is None):
        found.append(Difference("body", _kind(recorded), _kind(replayed)))
    return found


def _kind(message: Message) -> str:
    if message.body is not None:
        return f"JSON {json_type(message.body)}"
    return "text" if message.text else "empty"


def _media_type(value: str | None) -> str | None:
    return value.split(";")[0].strip().lower() if value else None


def _keyed_by_numbers(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(str(key).isdigit() for key in value)
