"""Helpers both sidecars import."""
import json


def envelope(kind, payload):
    return json.dumps({"kind": kind, "payload": payload}, sort_keys=True)


def parse_numbers(args):
    return [float(a) for a in args]

REVISION = 0  # the benchmark changes this value: an edit of a module body
