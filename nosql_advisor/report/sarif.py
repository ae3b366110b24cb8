"""report.sarif: SARIF 2.1.0 for code-scanning tools (GitHub, Azure DevOps, IDE viewers).

One `rule` per DM id (summary, the rule page as help, its link when a docs URL is given), one
`result` per finding. A finding whose collection was held against a schema file from
`--schemas` points at that file and the line of its field (report.json's `schema_location`),
so code scanning annotates the schema the team edits; otherwise it points at the dump or export
file the collection was read from. GitHub code scanning rejects a file whose results are located
only logically, so a finding with neither (a live collection with no schema file, a finding on
a family of collections) carries no location; its namespace and path are in its message and
properties (a family's collections in properties.collections, the files they were read from in
relatedLocations). Results carry a partial fingerprint of rule, namespace and path (the baseline's
key), so a tool can follow one problem from run to run.
"""

from __future__ import annotations

import hashlib
from pathlib import PurePosixPath
from urllib.parse import quote

from nosql_advisor.report.format import incomplete_collections, namespaces_of, not_checked_by_reason, not_checked_line

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
# GitHub code scanning reads `security-severity` (0.0-10.0) to sort and label results
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "1.0"}
FINGERPRINT = "nosqlAdvisorFinding/v1"


def rule_catalogue() -> list[dict]:
    """Every registered rule as plain data: id, summary, severity, principle, page (or None)."""
    from nosql_advisor.rules import all_rules

    return [{"id": r.id, "summary": r.summary, "severity": r.severity, "principle": r.principle,
             "page": r.docs()} for r in all_rules()]


def rule_url(rule: str, docs_url: str | None) -> str | None:
    return f"{docs_url.rstrip('/')}/{rule}.md" if docs_url else None


def sarif_rule(rule: dict, docs_url: str | None) -> dict:
    text = f"{rule['summary']} ({rule['principle']}). `nosql-advisor rules {rule['id']}` shows the page."
    entry = {
        "id": rule["id"],
        "name": _pascal(rule["summary"].split(":")[0]),
        "shortDescription": {"text": rule["summary"]},
        "fullDescription": {"text": f"{rule['summary']} (principle: {rule['principle']})"},
        "help": {"text": rule["page"] or text, "markdown": rule["page"] or text},
        "defaultConfiguration": {"level": LEVEL[rule["severity"]]},
        "properties": {"tags": ["mongodb", "data-model", *rule["principle"].replace("&", "and").split(", ")],
                       "security-severity": SECURITY_SEVERITY[rule["severity"]]},
    }
    url = rule_url(rule["id"], docs_url)
    if url:
        entry["helpUri"] = url
    return entry


def _pascal(text: str) -> str:
    words = "".join(c if c.isalnum() else " " for c in text).split()
    return "".join(w[:1].upper() + w[1:] for w in words)


def artifact_uri(path: str) -> dict:
    """Relative paths stay relative to the repository root (%SRCROOT%), as code scanning wants;
    absolute ones become file URIs."""
    posix = PurePosixPath(path)
    if posix.is_absolute():
        return {"uri": "file://" + quote(str(posix))}
    return {"uri": quote(str(posix)), "uriBaseId": "%SRCROOT%"}


def source_files(report: dict) -> dict[str, str]:
    """namespace -> the dump or export file it was read from (live collections have none)."""
    return {c["namespace"]: c["source"]["location"] for c in report["collections"]
            if c.get("source", {}).get("kind") in ("dump", "export")}


def sarif_result(finding: dict, index: dict[str, int], files: dict[str, str]) -> dict:
    where = ".".join(part for part in (finding["namespace"], finding.get("path")) if part)
    text = finding["message"]
    if finding.get("recommendation"):
        text += f" Fix: {finding['recommendation']}"
    result = {
        "ruleId": finding["rule"],
        "ruleIndex": index[finding["rule"]],
        "level": LEVEL[finding["severity"]],
        "message": {"text": f"{where}: {text}"},
        "partialFingerprints": {FINGERPRINT: fingerprint(finding)},
        "properties": {"severity": finding["severity"], "namespace": finding["namespace"],
                       "path": finding.get("path")},
    }
    place = location(finding, where, files.get(finding["namespace"]))
    if place is not None:
        result["locations"] = [place]
    members = namespaces_of(finding)
    if members != [finding["namespace"]]:  # a family finding: each collection, and the file it was read from
        result["properties"]["collections"] = members
        related = [{"id": i, **location({"path": None}, member, files[member])} for i, member in enumerate(members)
                   if member in files]
        if related:
            result["relatedLocations"] = related
    return result


def location(finding: dict, where: str, source_file: str | None) -> dict | None:
    """The schema file and line, else the source file; None when there is no file to name."""
    logical = [{"fullyQualifiedName": where, "kind": "member" if finding.get("path") else "module"}]
    found = finding.get("schema_location")
    if found:
        return {"physicalLocation": {"artifactLocation": artifact_uri(found["file"]),
                                     "region": {"startLine": found["line"]}},
                "logicalLocations": logical, "message": {"text": f"JSON pointer {found['pointer'] or '/'}"}}
    if source_file:
        return {"physicalLocation": {"artifactLocation": artifact_uri(source_file)},
                "logicalLocations": logical, "message": {"text": "the file this collection was read from"}}
    return None


def fingerprint(finding: dict) -> str:
    key = "\x1f".join((finding["rule"], finding["namespace"], finding.get("path") or ""))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def render_sarif(report: dict, rules: list[dict], docs_url: str | None = None) -> dict:
    """The SARIF log of one report.json dict. Rules are every registered rule in id order (so
    ruleIndex is stable); results keep report.json's order."""
    known = {rule["id"] for rule in rules}
    rules = rules + [{"id": f["rule"], "summary": f["rule"], "severity": f["severity"], "principle": "other",
                      "page": None} for f in _first_of_each(report["findings"]) if f["rule"] not in known]
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    files = source_files(report)
    tool = report["tool"]
    driver = {"name": tool["name"], "semanticVersion": tool["version"], "version": tool["version"],
              "rules": [sarif_rule(rule, docs_url) for rule in rules]}
    if docs_url:
        driver["informationUri"] = docs_url
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": driver},
            "automationDetails": {"id": "nosql-advisor/"},
            "columnKind": "unicodeCodePoints",
            "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "The folder scan ran in (the repository root in CI)."}}},
            "results": [sarif_result(f, index, files) for f in report["findings"]],
            "invocations": [invocation(report)],
            "properties": {"generated_at": report["generated_at"],
                           "sources": [s["location"] for s in report["sources"]]},
        }],
    }


def invocation(report: dict) -> dict:
    """What the run could not do, as tool execution notifications: collections read only in
    part (errors: exit 4) and rules not checked (warnings), so a code-scanning view never reads
    silence as a pass."""
    notes = [{"level": "error", "message": {"text": f"read only in part: {line}"}}
             for line in incomplete_collections(report)]
    notes += [{"level": "warning", "message": {"text": f"not checked: {not_checked_line(reason, rules)}"},
               "properties": {"reason": reason, "not_checked_on": rules}}
              for reason, rules in not_checked_by_reason(report).items()]
    return {"executionSuccessful": not incomplete_collections(report), "toolExecutionNotifications": notes}


def _first_of_each(findings: list[dict]) -> list[dict]:
    seen: dict[str, dict] = {}
    for finding in findings:
        seen.setdefault(finding["rule"], finding)
    return [seen[key] for key in sorted(seen)]
