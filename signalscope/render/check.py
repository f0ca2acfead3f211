"""Renderers of `signalscope check` findings: text, JSON, GitHub workflow commands, SARIF 2.1.0; and of a failed load.

Text, GitHub and SARIF show each file relative to the repository root
(Finding.shown_file), where CI looks for it; JSON keeps `file` relative to
its sys.path entry, as every other JSON of signalscope.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..model import schemas
from ..model.check import RULES, Finding
from ..model.escaping import escape_controls
from ..model.jsonio import dump_json

__all__ = [
    "CHECK_SCHEMA",
    "render_check_error_github",
    "render_check_error_sarif",
    "render_check_github",
    "render_check_json",
    "render_check_sarif",
    "render_check_text",
]

#: Version of the check JSON (model.schemas.CHECK, which tells its history).
CHECK_SCHEMA = schemas.CHECK


def _where(finding: Finding) -> str:
    file = finding.shown_file
    if file is None:
        return "-"
    return f"{file}:{finding.line}" if finding.line else file


def render_check_text(findings: list[Finding]) -> str:
    """One line per finding, ``file:line: RULE severity: message``, then a count by severity.

    Control characters in names are shown escaped (model.escaping): one line stays one finding.
    """
    lines = [escape_controls(f"{_where(f)}: {f.rule} {f.severity}: {f.message}") for f in findings]
    if not findings:
        return "No signal problems found.\n"
    counts = Counter(f.severity for f in findings)
    summary = ", ".join(f"{counts[s]} {s}{'s' if counts[s] != 1 else ''}" for s in ("error", "warning") if counts[s])
    return "\n".join([*lines, "", f"{len(findings)} finding{'s' if len(findings) != 1 else ''}: {summary}."]) + "\n"


def _finding_dict(finding: Finding) -> dict[str, Any]:
    return {
        "rule": finding.rule,
        "severity": finding.severity,
        "title": RULES[finding.rule].title,
        "message": finding.message,
        "file": finding.file,
        "line": finding.line,
        "signal": finding.signal,
        "receiver": finding.receiver,
    }


def render_check_json(findings: list[Finding]) -> str:
    """``{"schema": 1, "findings": [{rule, severity, title, message, file, line, signal, receiver}]}``."""
    data = {"schema": CHECK_SCHEMA, "findings": [_finding_dict(f) for f in findings]}
    return dump_json(data)


def _escape_data(text: str) -> str:
    # Control characters shown escaped, as in the text format: the log that shows these
    # commands is a terminal (it runs ANSI codes), and a name's newline is no line break.
    return escape_controls(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_check_github(findings: list[Finding]) -> str:
    """GitHub Actions workflow commands: each finding an annotation on its file and line."""
    lines = []
    for f in findings:
        level = "error" if f.severity == "error" else "warning"
        props = []
        if f.shown_file:
            props.append(f"file={_escape_property(f.shown_file)}")
            if f.line:
                props.append(f"line={f.line}")
        props.append(f"title={_escape_property(f'{f.rule} {RULES[f.rule].title}')}")
        lines.append(f"::{level} {','.join(props)}::{_escape_data(f.message)}")
    return "".join(line + "\n" for line in lines)


def render_check_error_github(message: str, hint: str | None = None) -> str:
    """A GitHub Actions ``::error`` annotation saying the project did not load: `message`, then `hint`."""
    # Each part escaped on its own: the line break between them is one (%0A), those in them are shown.
    text = "%0A".join(_escape_data(part) for part in (message, hint) if part)
    return f"::error title={_escape_property('signalscope: the project did not load')}::{text}\n"


def _sarif_rules() -> list[dict[str, Any]]:
    return [
        {
            "id": rule.id,
            "name": "".join(word.capitalize() for word in rule.title.split()),
            "shortDescription": {"text": rule.title},
            "fullDescription": {"text": rule.why},
            "help": {"text": f"{rule.why}\n\nFix: {rule.fix}"},
            "defaultConfiguration": {"level": "error" if rule.severity == "error" else "warning"},
        }
        for rule in RULES.values()
    ]


def _sarif_log(run: dict[str, Any]) -> str:
    log = {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0", "runs": [run]}
    return dump_json(log)


def render_check_sarif(findings: list[Finding], *, version: str) -> str:
    """A SARIF 2.1.0 log with one run: every rule, and the findings as results.

    Paths are relative to the repository root (``%SRCROOT%``), as code
    scanning resolves them; a file outside every repository keeps its path.
    """
    index = {rule_id: number for number, rule_id in enumerate(RULES)}
    results = []
    for f in findings:
        result: dict[str, Any] = {
            "ruleId": f.rule,
            "ruleIndex": index[f.rule],
            "level": "error" if f.severity == "error" else "warning",
            "message": {"text": f.message},
        }
        if f.shown_file:
            region = {"startLine": f.line} if f.line else None
            location: dict[str, Any] = {"artifactLocation": {"uri": f.shown_file, "uriBaseId": "%SRCROOT%"}}
            if region:
                location["region"] = region
            result["locations"] = [{"physicalLocation": location}]
        results.append(result)
    driver = {"name": "signalscope", "version": version, "rules": _sarif_rules()}
    return _sarif_log({"tool": {"driver": driver}, "results": results})


def render_check_error_sarif(message: str, hint: str | None = None, *, version: str) -> str:
    """A SARIF 2.1.0 log of a run that failed: the project did not load, so no rule ran.

    Its invocation is not successful and carries `message` (then `hint`) as
    an error notification; ``results`` is empty, as code scanning's upload
    needs the array (SARIF's Appendix I: such a run's results are incomplete).
    """
    text = message if not hint else f"{message}\n{hint}"
    invocation = {
        "executionSuccessful": False,
        "toolExecutionNotifications": [{"level": "error", "message": {"text": text}}],
    }
    driver = {"name": "signalscope", "version": version, "rules": _sarif_rules()}
    return _sarif_log({"tool": {"driver": driver}, "invocations": [invocation], "results": []})
