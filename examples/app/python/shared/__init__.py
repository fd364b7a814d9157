"""Code both sidecars share."""

APP_VERSION = "0.1.0"


def answer(kind, value):
    return f"{kind}: {value}"
