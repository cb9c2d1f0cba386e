"""Where `rollout report` writes (`--output`, `--html`): the folder is made; a path that cannot be
written is one user error (one `error:` line), not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from rollout.cli.report import _writable
from rollout.core.errors import UserError


def test_the_folder_is_made_and_an_unwritable_path_is_a_user_error(tmp_path: Path) -> None:
    assert _writable(tmp_path / "reports" / "release.html").parent.is_dir()
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(
        UserError, match=r"^cannot write the report to .*release.html \(File exists: .*a-file\)$"
    ):
        _writable(blocker / "release.html")
