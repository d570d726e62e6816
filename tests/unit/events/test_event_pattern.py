"""The event-pattern language: a table of pattern / event / expected rows (most from AWS's
EventBridge and Lambda event-filtering docs), then patterns AWS refuses, with its reasons."""

from __future__ import annotations

import inspect
import json
import sys
from typing import Any

import pytest

from nimbus.events.event_pattern import MAX_DEPTH, InvalidEventPattern, matches, parse_pattern

# AWS's sample EC2 event (EventBridge user guide, "Amazon EventBridge event patterns").
EC2 = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "111122223333",
    "time": "2017-12-22T18:43:48Z",
    "region": "us-west-1",
    "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
    "detail": {
        "instance-id": "i-1234567890abcdef0",
        "state": "terminated",
        "c-count": 5,
        "x-limit": 301.8,
        "source-ip": "10.0.0.33",
        "empty": [],
        "nothing": None,
        "flag": True,
        "tags": ["blue", "green"],
        "location": {"city": "Seattle", "zip": "98101"},
        "items": [{"kind": "a", "size": 1}, {"kind": "b", "size": 2}],
        "path": "/usr/lib/x.so",
        "filename": "Image.PNG",
    },
}

ROWS: list[tuple[dict[str, Any], dict[str, Any], bool]] = [
    # exact values; arrays of alternatives are ORed, fields ANDed
    ({"source": ["aws.ec2"]}, EC2, True),
    ({"source": ["aws.s3"]}, EC2, False),
    ({"source": ["aws.s3", "aws.ec2"]}, EC2, True),
    ({"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]}, EC2, True),
    ({"source": ["aws.ec2"], "detail-type": ["Other"]}, EC2, False),
    ({"detail": {"state": ["terminated"]}}, EC2, True),
    ({"detail": {"state": ["Terminated"]}}, EC2, False),  # case-sensitive
    ({"detail": {"location": {"city": ["Seattle"]}}}, EC2, True),
    ({"detail": {"missing": ["x"]}}, EC2, False),
    ({"nope": {"deeper": ["x"]}}, EC2, False),
    # numbers compare by value and type; booleans and null are their own values
    ({"detail": {"c-count": [5]}}, EC2, True),
    ({"detail": {"c-count": [5.0]}}, EC2, True),
    ({"detail": {"c-count": ["5"]}}, EC2, False),
    ({"detail": {"x-limit": [301.8]}}, EC2, True),
    ({"detail": {"flag": [True]}}, EC2, True),
    ({"detail": {"flag": [1]}}, EC2, False),
    ({"detail": {"flag": ["true"]}}, EC2, False),
    ({"detail": {"nothing": [None]}}, EC2, True),
    ({"detail": {"state": [None]}}, EC2, False),
    ({"detail": {"missing": [None]}}, EC2, False),  # null is a value, not absence
    # arrays in the event: any element
    ({"resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"]}, EC2, True),
    ({"detail": {"tags": ["green"]}}, EC2, True),
    ({"detail": {"tags": ["red", "blue"]}}, EC2, True),
    ({"detail": {"tags": ["red"]}}, EC2, False),
    # objects in an array: one element must match the whole nested pattern
    ({"detail": {"items": {"kind": ["b"], "size": [2]}}}, EC2, True),
    ({"detail": {"items": {"kind": ["a"], "size": [2]}}}, EC2, False),
    ({"detail": {"items": {"kind": ["a", "b"]}}}, EC2, True),
    # prefix / suffix (and their equals-ignore-case forms)
    ({"time": [{"prefix": "2017-12-22"}]}, EC2, True),
    ({"time": [{"prefix": "2018"}]}, EC2, False),
    ({"detail": {"c-count": [{"prefix": "5"}]}}, EC2, False),  # strings only
    ({"source": [{"prefix": {"equals-ignore-case": "AWS.E"}}]}, EC2, True),
    ({"source": [{"prefix": "AWS.E"}]}, EC2, False),
    ({"detail": {"filename": [{"suffix": ".PNG"}]}}, EC2, True),
    ({"detail": {"filename": [{"suffix": ".png"}]}}, EC2, False),
    ({"detail": {"filename": [{"suffix": {"equals-ignore-case": ".png"}}]}}, EC2, True),
    ({"detail": {"tags": [{"suffix": "een"}]}}, EC2, True),
    # equals-ignore-case
    (
        {"detail-type": [{"equals-ignore-case": "ec2 instance state-change NOTIFICATION"}]},
        EC2,
        True,
    ),
    ({"detail": {"state": [{"equals-ignore-case": "TERMINATED"}]}}, EC2, True),
    ({"detail": {"state": [{"equals-ignore-case": "TERMINATE"}]}}, EC2, False),
    # anything-but: a value, a list, prefix, suffix, equals-ignore-case, wildcard
    ({"detail": {"state": [{"anything-but": "initializing"}]}}, EC2, True),
    ({"detail": {"state": [{"anything-but": "terminated"}]}}, EC2, False),
    ({"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}}, EC2, True),
    ({"detail": {"state": [{"anything-but": ["stopped", "terminated"]}]}}, EC2, False),
    ({"detail": {"c-count": [{"anything-but": [1, 2, 3]}]}}, EC2, True),
    ({"detail": {"c-count": [{"anything-but": [5]}]}}, EC2, False),
    ({"detail": {"c-count": [{"anything-but": 5.0}]}}, EC2, False),
    ({"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}, EC2, True),
    ({"detail": {"state": [{"anything-but": {"prefix": "term"}}]}}, EC2, False),
    ({"detail": {"filename": [{"anything-but": {"suffix": ".txt"}}]}}, EC2, True),
    ({"detail": {"filename": [{"anything-but": {"suffix": ".PNG"}}]}}, EC2, False),
    ({"detail": {"state": [{"anything-but": {"equals-ignore-case": ["TERMINATED"]}}]}}, EC2, False),
    ({"detail": {"state": [{"anything-but": {"equals-ignore-case": "Stopped"}}]}}, EC2, True),
    ({"detail": {"path": [{"anything-but": {"wildcard": "*/lib/*"}}]}}, EC2, False),
    ({"detail": {"path": [{"anything-but": {"wildcard": ["*/bin/*", "*.txt"]}}]}}, EC2, True),
    ({"detail": {"missing": [{"anything-but": "x"}]}}, EC2, False),  # needs a value
    ({"detail": {"tags": [{"anything-but": "blue"}]}}, EC2, True),  # "green" is not blue
    # numeric
    ({"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}}, EC2, True),
    ({"detail": {"c-count": [{"numeric": [">", 0, "<", 5]}]}}, EC2, False),
    ({"detail": {"c-count": [{"numeric": [">=", 5]}]}}, EC2, True),
    ({"detail": {"c-count": [{"numeric": [">", 5]}]}}, EC2, False),
    ({"detail": {"c-count": [{"numeric": ["<", 10]}]}}, EC2, True),
    ({"detail": {"c-count": [{"numeric": ["<=", 4.99]}]}}, EC2, False),
    ({"detail": {"x-limit": [{"numeric": ["=", 3.018e2]}]}}, EC2, True),
    ({"detail": {"x-limit": [{"numeric": ["=", 301]}]}}, EC2, False),
    ({"detail": {"state": [{"numeric": [">", 0]}]}}, EC2, False),  # numbers only
    ({"detail": {"flag": [{"numeric": ["=", 1]}]}}, EC2, False),  # true is not 1
    # exists
    ({"detail": {"state": [{"exists": True}]}}, EC2, True),
    ({"detail": {"state": [{"exists": False}]}}, EC2, False),
    ({"detail": {"missing": [{"exists": False}]}}, EC2, True),
    ({"detail": {"missing": [{"exists": True}]}}, EC2, False),
    ({"detail": {"nothing": [{"exists": True}]}}, EC2, True),  # null is a leaf
    ({"detail": {"empty": [{"exists": True}]}}, EC2, False),  # an empty array holds none
    ({"detail": {"empty": [{"exists": False}]}}, EC2, True),
    ({"detail": {"location": [{"exists": True}]}}, EC2, False),  # leaves only
    ({"nope": {"deeper": [{"exists": False}]}}, EC2, True),
    ({"detail": {"state": [{"exists": False}, "terminated"]}}, EC2, True),
    # wildcard
    ({"detail": {"path": [{"wildcard": "/usr/*/x.so"}]}}, EC2, True),
    ({"detail": {"path": [{"wildcard": "/usr/*"}]}}, EC2, True),
    ({"detail": {"path": [{"wildcard": "*.so"}]}}, EC2, True),
    ({"detail": {"path": [{"wildcard": "*lib*"}]}}, EC2, True),
    ({"detail": {"path": [{"wildcard": "/usr/lib/x.so*"}]}}, EC2, True),  # * matches nothing
    ({"detail": {"path": [{"wildcard": "/usr/bin/*"}]}}, EC2, False),
    ({"detail": {"path": [{"wildcard": "/usr/lib/x.s"}]}}, EC2, False),  # whole value
    ({"source": [{"wildcard": "aws.ec2"}]}, EC2, True),
    ({"a": [{"wildcard": "a\\*b"}]}, {"a": "a*b"}, True),
    ({"a": [{"wildcard": "a\\*b"}]}, {"a": "axb"}, False),
    ({"a": [{"wildcard": "a\\\\b"}]}, {"a": "a\\b"}, True),
    ({"a": [{"wildcard": "ab*ba"}]}, {"a": "aba"}, False),  # segments may not overlap
    ({"a": [{"wildcard": "ab*ba"}]}, {"a": "abba"}, True),
    ({"a": [{"wildcard": "*x*x*"}]}, {"a": "x"}, False),
    # cidr
    ({"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}}, EC2, True),
    ({"detail": {"source-ip": [{"cidr": "10.0.1.0/24"}]}}, EC2, False),
    ({"a": [{"cidr": "2001:db8::/32"}]}, {"a": "2001:db8::1"}, True),
    ({"a": [{"cidr": "10.0.0.0/8"}]}, {"a": "not-an-ip"}, False),
    # $or: at any level, each branch a full object
    ({"$or": [{"source": ["aws.s3"]}, {"detail": {"c-count": [5]}}]}, EC2, True),
    ({"$or": [{"source": ["aws.s3"]}, {"detail": {"c-count": [6]}}]}, EC2, False),
    (
        {
            "source": ["aws.ec2"],
            "detail": {
                "$or": [
                    {"c-count": [{"numeric": [">", 0, "<=", 5]}]},
                    {"d-count": [{"numeric": ["<", 10]}]},
                ]
            },
        },
        EC2,
        True,
    ),
    (
        {
            "source": ["aws.s3"],
            "$or": [{"detail": {"state": ["terminated"]}}, {"region": ["us-west-1"]}],
        },
        EC2,
        False,  # $or is ANDed with the rest
    ),
    # mixed alternatives in one array
    ({"detail": {"state": [{"prefix": "run"}, "terminated"]}}, EC2, True),
    ({"detail": {"state": [{"prefix": "run"}, {"numeric": [">", 1]}]}}, EC2, False),
    # Lambda's SQS record with a JSON body decoded under "body" (Lambda's docs example)
    (
        {"body": {"RequestCode": ["BBBB"]}},
        {"body": {"RecordNumber": 1234, "RequestCode": "BBBB"}, "eventSource": "aws:sqs"},
        True,
    ),
    (
        {"body": {"RecordNumber": [{"numeric": [">", 9999]}]}},
        {"body": {"RecordNumber": 1234, "RequestCode": "BBBB"}},
        False,
    ),
    # a plain-string body is matched as a string
    ({"body": ["hello"]}, {"body": "hello"}, True),
    ({"body": [{"prefix": "hel"}]}, {"body": "hello"}, True),
    ({"body": {"kind": ["x"]}}, {"body": "hello"}, False),
]


@pytest.mark.parametrize(("pattern", "event", "expected"), ROWS)
def test_matches(pattern: dict[str, Any], event: dict[str, Any], expected: bool) -> None:
    assert matches(parse_pattern(json.dumps(pattern)), event) is expected


def test_a_parsed_pattern_is_a_frozen_value_that_keeps_its_text() -> None:
    text = '{"source": ["aws.ec2"]}'
    pattern = parse_pattern(text)
    assert pattern.source == text
    assert pattern == parse_pattern(text)
    with pytest.raises(AttributeError):
        pattern.source = "x"  # type: ignore[misc]


INVALID: list[tuple[str, str]] = [
    ("{", "Filter is not valid JSON"),
    ("[1]", "Filter is not an object"),
    ('"text"', "Filter is not an object"),
    ("{}", "Empty objects are not allowed"),
    ('{"a": {}}', "Empty objects are not allowed"),
    ('{"a": "x"}', '"a" must be an object or an array'),
    ('{"a": 5}', '"a" must be an object or an array'),
    ('{"a": null}', '"a" must be an object or an array'),
    ('{"a": []}', "Empty arrays are not allowed"),
    ('{"a": [["x"]]}', "Match value must be String, number, true, false, or null"),
    ('{"a": [{}]}', "Match expression name not found"),
    ('{"a": [{"prefix": "x", "suffix": "y"}]}', "Only one key allowed in match expression"),
    ('{"a": [{"regex": "x"}]}', "Unrecognized match type regex"),
    ('{"a": [{"prefix": 5}]}', "prefix match pattern must be a string"),
    ('{"a": [{"prefix": {"wildcard": "x"}}]}', "Unsupported prefix pattern: wildcard"),
    ('{"a": [{"suffix": ["x"]}]}', "suffix match pattern must be a string"),
    ('{"a": [{"equals-ignore-case": 5}]}', "equals-ignore-case match pattern must be a string"),
    ('{"a": [{"exists": "yes"}]}', "exists match pattern must be either true or false."),
    ('{"a": [{"numeric": 5}]}', "Value of numeric must be an array."),
    ('{"a": [{"numeric": []}]}', "Invalid member in numeric match: ]"),
    ('{"a": [{"numeric": [5]}]}', "Invalid member in numeric match: 5"),
    ('{"a": [{"numeric": ["!=", 5]}]}', "Unrecognized numeric range operator: !="),
    ('{"a": [{"numeric": ["=", "5"]}]}', "Value of equals must be numeric"),
    ('{"a": [{"numeric": [">"]}]}', "Value of > must be numeric"),
    ('{"a": [{"numeric": ["=", 5, "<", 6]}]}', "Too many elements in numeric expression"),
    ('{"a": [{"numeric": ["<", 5, ">", 1]}]}', "Too many elements in numeric expression"),
    ('{"a": [{"numeric": [">", 5, 6]}]}', "Bad value in numeric range: 6"),
    ('{"a": [{"numeric": [">", 5, ">", 6]}]}', "Bad numeric range operator: >"),
    ('{"a": [{"numeric": [">", 5, "<", "x"]}]}', "Value of < must be numeric"),
    ('{"a": [{"numeric": [">", 5, "<", 1]}]}', "Bottom must be less than top"),
    ('{"a": [{"numeric": [">", 1, "<", 5, "x"]}]}', "Too many terms in numeric range expression"),
    ('{"a": [{"numeric": [">", 6e9]}]}', "Value must be between -5000000000.0 and 5000000000.0"),
    ('{"a": [{"anything-but": null}]}', "Value of anything-but must be an array or single"),
    ('{"a": [{"anything-but": true}]}', "Value of anything-but must be an array or single"),
    ('{"a": [{"anything-but": [null]}]}', "start|null|boolean is not supported"),
    ('{"a": [{"anything-but": ["x", 1]}]}', "mixed type is not supported"),
    ('{"a": [{"anything-but": []}]}', "mixed type is not supported"),
    ('{"a": [{"anything-but": {"numeric": [">", 1]}}]}', "Unsupported anything-but pattern"),
    ('{"a": [{"anything-but": {}}]}', "Anything-But expression name not found"),
    ('{"a": [{"anything-but": {"prefix": ""}}]}', "Null prefix/suffix not allowed"),
    ('{"a": [{"anything-but": {"prefix": 5}}]}', "prefix/suffix match pattern must be a string"),
    ('{"a": [{"anything-but": {"equals-ignore-case": [1]}}]}', "number|start|null|boolean"),
    ('{"a": [{"wildcard": 5}]}', "wildcard match pattern must be a string"),
    ('{"a": [{"wildcard": "a**b"}]}', "Consecutive wildcard characters at pos 2"),
    ('{"a": [{"wildcard": "a\\\\xb"}]}', "Invalid escape character at pos 1"),
    ('{"a": [{"cidr": 5}]}', "prefix match pattern must be a string"),
    ('{"a": [{"cidr": "10.0.0.0"}]}', "Malformed CIDR, one '/' required"),
    ('{"a": [{"cidr": "10.0.0.0/x"}]}', "Malformed CIDR, mask bits must be an integer"),
    ('{"a": [{"cidr": "10.0.0.999/8"}]}', "Nonstandard IP address: 10.0.0.999"),
    ('{"$or": {"a": ["x"]}}', "It must be an Array followed with $or."),
    ('{"$or": [{"a": ["x"]}]}', "There must have at least 2 Objects in $or relationship."),
    ('{"$or": [{"a": ["x"]}, "b"]}', "Only JSON object is allowed in array of $or"),
    ('{"$or": [{"a": ["x"]}, {"prefix": ["b"]}]}', "prefix is Ruler reserved fieldName"),
]


@pytest.mark.parametrize(("text", "reason"), INVALID)
def test_invalid_patterns_say_why(text: str, reason: str) -> None:
    with pytest.raises(InvalidEventPattern) as exc:
        parse_pattern(text)
    assert reason in str(exc.value)
    assert isinstance(exc.value, ValueError)


def test_wildcards_match_in_linear_time() -> None:
    # A regex translation of "*a*a*...*b" backtracks catastrophically on a long run of "a"s.
    pattern = parse_pattern(json.dumps({"x": [{"wildcard": "*a" * 20 + "*b"}]}))
    assert not matches(pattern, {"x": "a" * 100_000})


def test_arrays_nested_deeper_than_pythons_recursion_are_matched() -> None:
    deep: object = "x"
    for _ in range(5000):
        deep = [deep, 1]
    pattern = parse_pattern('{"a": ["x"]}')
    assert matches(pattern, {"a": deep})
    assert not matches(parse_pattern('{"a": ["y"]}'), {"a": deep})


# --- nesting -----------------------------------------------------------------------------


def nested_fields(levels: int) -> str:
    """A pattern of ``levels`` objects, one inside the other."""
    return '{"a":' * (levels - 1) + '{"x": ["leaf"]}' + "}" * (levels - 1)


def nested_ors(levels: int) -> dict[str, Any]:
    """``levels`` objects, every other one an $or branch."""
    pattern: dict[str, Any] = {"x": ["leaf"]}
    for level in range(2, levels + 1):
        pattern = {"$or": [pattern, {"q": ["no"]}]} if level % 2 else {"a": pattern}
    return pattern


def event_for(pattern: dict[str, Any]) -> Any:
    """An event matching ``pattern``'s first branches, each object inside an array (the
    costliest way to match)."""
    if "$or" in pattern:
        return event_for(pattern["$or"][0])
    ((name, value),) = pattern.items()
    return {name: [event_for(value)] if isinstance(value, dict) else value}


@pytest.mark.parametrize(
    "text",
    [
        '{"":' * 810 + "[1]" + "}" * 810,  # the review's: 4,053 characters, valid JSON
        nested_fields(MAX_DEPTH + 1),
        json.dumps(nested_ors(MAX_DEPTH + 1)),
    ],
)
def test_patterns_nested_past_the_bound_are_refused_when_parsed(text: str) -> None:
    assert len(text) <= 4096
    with pytest.raises(InvalidEventPattern, match=f"more than {MAX_DEPTH} levels deep"):
        parse_pattern(text)


def test_the_deepest_valid_pattern_matches_within_a_small_stack() -> None:
    # Matching recurses per level: a pattern parse_pattern accepts must match (and fail to
    # match) in well under Python's recursion limit, from however deep a caller calls.
    fields, ors = json.loads(nested_fields(MAX_DEPTH)), nested_ors(MAX_DEPTH)
    cases = [(parse_pattern(json.dumps(p)), event_for(p)) for p in (fields, ors)]
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 250)
    try:
        for pattern, event in cases:
            assert matches(pattern, event)
            assert not matches(pattern, json.loads(json.dumps(event).replace("leaf", "other")))
    finally:
        sys.setrecursionlimit(limit)
