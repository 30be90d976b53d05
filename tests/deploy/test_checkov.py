"""checkov over infra/, offline: no failed check, no file it could not parse, and every
skip an inline `checkov:skip=<ID>:<reason>` comment in the resource, with a reason.

checkov lives in .venv-checkov (requirements-checkov.txt: its pins conflict with
requirements-dev.txt's), installed by `make checkov`, which `make test` depends on.
`make test` passes its path as CALSYNC_CHECKOV, and then a missing checkov fails the
test; run alone without it, the test is skipped with the command to run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

from tests.deploy.templates import INFRA, ROOT, bicep_files

DEFAULT_CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
SKIP_COMMENT = re.compile(r"//\s*checkov:skip=([A-Z0-9_]+):(.*)$")


def checkov_path() -> Path:
    configured = os.environ.get("CALSYNC_CHECKOV")
    if configured:
        path = Path(configured)
        if not (path.is_file() and os.access(path, os.X_OK)):
            pytest.fail(f"CALSYNC_CHECKOV={configured} is not an executable checkov: run `make checkov`")
        return path
    if not DEFAULT_CHECKOV.is_file():
        pytest.skip("checkov is not installed: `make checkov` installs it into .venv-checkov (`make test` does)")
    return DEFAULT_CHECKOV


@cache
def _run(checkov: Path, folder: Path = INFRA) -> dict:
    # --skip-download (and BC_SKIP_MAPPING) keep checkov off the network: no policy
    # download, no guideline mapping, no API key (DEPLOY-FACTS §6).
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_NO_OUTPUT_WRAP": "1"}
    result = subprocess.run(
        [str(checkov), "-d", str(folder), "--framework", "bicep", "--skip-download", "--output", "json", "--compact"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=ROOT,
    )
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        output = f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        pytest.fail(f"checkov printed no JSON report (exit {result.returncode}):\n{output}")
    assert isinstance(report, dict), f"expected one framework's report, got {type(report).__name__}"
    assert report.get("check_type") == "bicep", report.get("check_type")
    return report


@pytest.fixture(scope="module")
def report() -> dict:
    return _run(checkov_path())


def test_checkov_fails_no_check(report: dict) -> None:
    failed = report["results"]["failed_checks"]
    lines = [
        f"{c['check_id']} {c['check_name']}: {c['file_path']} {c['resource']} lines {c['file_line_range']}"
        for c in failed
    ]
    assert not failed, "checkov failed checks (fix them, or skip inline with a reason):\n" + "\n".join(lines)
    assert report["summary"]["passed"] > 0, f"checkov ran no check: {report['summary']}"


def test_checkov_parses_every_bicep_file(report: dict) -> None:
    # A file checkov cannot parse gets no findings at all, so a parse error would pass silently.
    errors = report["results"].get("parsing_errors") or []
    assert not errors and report["summary"]["parsing_errors"] == 0, f"checkov could not parse: {errors}"


def test_every_skip_is_inline_with_a_reason(report: dict) -> None:
    skipped = report["results"]["skipped_checks"]
    for check in skipped:
        comment = (check.get("check_result") or {}).get("suppress_comment") or ""
        assert comment.strip() and comment != "No comment provided", (
            f"{check['check_id']} on {check['resource']} is skipped without a reason"
        )
    # Skips come from the Bicep comments only (no --skip-check on the command line, no
    # .checkov config): each report entry matches a comment, and each comment was used.
    comments = set()
    for path in bicep_files():
        for line in path.read_text().splitlines():
            match = SKIP_COMMENT.search(line)
            if match:
                assert match.group(2).strip(), f"{path.relative_to(ROOT)}: skip of {match.group(1)} without a reason"
                comments.add((f"/{path.relative_to(INFRA).as_posix()}", match.group(1)))
    reported = {(c["file_path"], c["check_id"]) for c in skipped}
    assert reported == comments, (
        f"skips in the report but not in a comment: {sorted(reported - comments)}; "
        f"comments checkov did not use (no longer needed, or outside the resource): {sorted(comments - reported)}"
    )
    assert not any((ROOT / name).exists() for name in (".checkov.yaml", ".checkov.yml")), "no checkov config file"


def test_every_skip_is_still_needed(report: dict, tmp_path: Path) -> None:
    """With the skip comments taken out, each skipped check must fail: a skip of a check
    that would pass is stale and hides nothing but a reason that is no longer true."""
    copy = tmp_path / "infra"
    shutil.copytree(INFRA, copy)
    for path in copy.rglob("*.bicep"):
        path.write_text(path.read_text().replace("checkov:skip=", "checkov-skip-removed="))
    unskipped = _run(checkov_path(), copy)
    failing = {(c["file_path"], c["check_id"], c["resource"]) for c in unskipped["results"]["failed_checks"]}
    skipped = {(c["file_path"], c["check_id"], c["resource"]) for c in report["results"]["skipped_checks"]}
    stale = sorted(skipped - failing)
    assert not stale, f"skipped checks that pass without their skip (remove the comments): {stale}"
