"""The emulator's access log: no scoring lines, and no query strings (a SAS signature is a secret)."""

from __future__ import annotations

import logging

from rollout.emulator.host.server import access_line


def _record(method: str, path: str) -> logging.LogRecord:
    # the arguments of uvicorn's access log line: client, method, path, HTTP version, status
    args = ("127.0.0.1:5000", method, path, "1.1", 200)
    return logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d', args, None
    )


def test_a_blob_urls_signature_does_not_reach_the_log() -> None:
    record = _record("GET", "/acct.blob.core/azureml/model/MLmodel?sv=2021-08-06&sig=SECRET%3D&se=2026")
    assert access_line(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /acct.blob.core/azureml/model/MLmodel HTTP/1.1" 200'


def test_scoring_requests_are_counted_not_logged() -> None:
    assert not access_line(_record("POST", "/online-endpoints/ep/score?x=1"))
    assert access_line(_record("GET", "/online-endpoints/ep/score"))
