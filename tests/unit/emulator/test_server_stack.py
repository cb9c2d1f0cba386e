"""The emulator's HTTP stack: uvicorn on uvloop with httptools' parser, the C parts its dependencies
install, which keep the router's time per scoring request within its budget."""

from __future__ import annotations

from rollout.emulator.host.server import event_loop, http_parser


def test_the_emulator_serves_on_uvloop_with_httptools() -> None:
    assert event_loop() == "uvloop"
    assert http_parser() == "httptools"
