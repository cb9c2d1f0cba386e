"""GitHub's `$GITHUB_OUTPUT` file format, read the way the runner reads it (tests only)."""

from __future__ import annotations


def parse_github_output(text: str) -> dict[str, str]:
    """Step outputs as GitHub's runner reads `$GITHUB_OUTPUT`: `key=value` lines, and
    `key<<DELIMITER` followed by the value's lines up to a line that is exactly `DELIMITER`
    (whichever of `=` and `<<` comes first in the line decides the form)."""
    values: dict[str, str] = {}
    lines = iter(text.split("\n"))
    for line in lines:
        if not line:
            continue
        equals, heredoc = line.find("="), line.find("<<")
        if equals >= 0 and (heredoc < 0 or equals < heredoc):
            key, value = line[:equals], line[equals + 1 :]
        elif heredoc >= 0:
            key, delimiter = line[:heredoc], line[heredoc + 2 :]
            assert delimiter, f"empty delimiter: {line!r}"
            body: list[str] = []
            for body_line in lines:
                if body_line == delimiter:
                    break
                body.append(body_line)
            else:
                raise AssertionError(f"matching delimiter {delimiter!r} not found")
            value = "\n".join(body)
        else:
            raise AssertionError(f"invalid format: {line!r}")
        assert key, f"empty name: {line!r}"
        values[key] = value
    return values
