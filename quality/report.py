"""The steward report: `release_dir/quality/report.html`, one static self-contained file."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path
from typing import Any

from fhirmony.quality import charts, report_data
from fhirmony.quality.catalogue import Catalogue
from fhirmony.quality.model import CATEGORIES, CheckResult
from fhirmony.quality.results import RESULTS_PATH, Comparison, compare_results, read_results

# EHDS data-quality dimensions; a check type maps to one, otherwise its category decides.
DIMENSIONS = ("completeness", "uniqueness", "accuracy", "validity", "timeliness", "consistency")
_DIMENSION_OF_CHECK = {
    "is_primary_key": "uniqueness",
    "duplicate_records": "uniqueness",
    "release_primary_key": "uniqueness",
    "single_split": "consistency",
    "is_foreign_key": "consistency",
    "release_foreign_key": "consistency",
    "plausible_after_birth": "consistency",
    "plausible_before_death": "consistency",
    "plausible_start_before_end": "consistency",
    "within_visit_dates": "consistency",
    "no_future_dates": "timeliness",
    "is_required": "completeness",
}
_DIMENSION_OF_CATEGORY = {"conformance": "validity", "completeness": "completeness", "plausibility": "accuracy"}
_SEVERITY_ORDER = {"fatal": 0, "convention": 1, "characterization": 2}
_STATUS_ORDER = {"failed": 0, "error": 1, "passed": 2, "not_applicable": 3}


def dimension(result: CheckResult) -> str:
    return _DIMENSION_OF_CHECK.get(result.check) or _DIMENSION_OF_CATEGORY.get(result.category, "validity")


def write_report(release_dir: Path, previous: Path | None = None, *, catalogue: Catalogue | None = None) -> Path:
    """Render `release_dir/quality/report.html` from quality/results.json, manifest.json,
    quality/quarantine.json and data/; `previous` is an earlier release folder or results.json."""
    from fhirmony.quality.runner import default_catalogue

    release_dir = Path(release_dir)
    catalogue = catalogue or default_catalogue()
    results_file = release_dir / RESULTS_PATH
    results = read_results(results_file) if results_file.exists() else []
    comparison = None
    if previous is not None and (Path(previous).is_file() or (Path(previous) / RESULTS_PATH).exists()):
        comparison = compare_results(results, read_results(Path(previous)))
    manifest = report_data.read_json(release_dir / "manifest.json")
    quarantine = report_data.quarantine_rows(
        manifest, report_data.read_json(release_dir / "quality" / "quarantine.json")
    )
    data_dir = release_dir / "data"
    sections = [
        _summary(results, manifest, release_dir),
        _matrix(results),
        _dimensions(results),
        _by_type(results),
        _failures(results),
        _comparison(comparison, previous),
        _quarantine(quarantine),
        _coverage(report_data.mapping_coverage(manifest)),
        _missingness(report_data.missingness(data_dir)),
        _labs(report_data.lab_distributions(data_dir, catalogue)),
        _time_coverage(report_data.time_coverage(data_dir, catalogue)),
        _all_checks(results),
    ]
    title = f"Quality report — {_release_name(manifest, release_dir)}"
    page = _PAGE.format(title=escape(title), css=_CSS, js=_JS, body="\n".join(sections))
    out = release_dir / "quality" / "report.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out


def _release_name(manifest: Any, release_dir: Path) -> str:
    if isinstance(manifest, dict):
        return str(manifest.get("id") or manifest.get("name") or release_dir.name)
    return release_dir.name


def _section(anchor: str, title: str, body: str, note: str = "") -> str:
    note_html = f'<p class="note">{note}</p>' if note else ""
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>{note_html}{body}</section>'


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _badge(text: str) -> str:
    return f'<span class="badge {escape(text)}">{escape(text.replace("_", " "))}</span>'


def _pct(share: float) -> str:
    return f"{100 * share:.2f}%" if share < 0.1 else f"{100 * share:.1f}%"


def _summary(results: list[CheckResult], manifest: Any, release_dir: Path) -> str:
    statuses = Counter(r.status for r in results)
    fatal = [r for r in results if r.status == "failed" and r.severity == "fatal"]
    verdict = (
        f'<p class="verdict blocked">Blocked: {len(fatal)} fatal check failure(s) '
        "must be resolved before publishing.</p>"
        if fatal
        else '<p class="verdict ok">No fatal failures: the release may be published.</p>'
    )
    if not results:
        verdict = f'<p class="verdict blocked">No check results found in {escape(str(RESULTS_PATH))}.</p>'
    tiles = "".join(
        f'<div class="tile {s}"><b>{statuses.get(s, 0)}</b><span>{s.replace("_", " ")}</span></div>'
        for s in ("passed", "failed", "error", "not_applicable")
    )
    sources = sorted({(r.source_id, r.country) for r in results})
    created = manifest.get("created", "") if isinstance(manifest, dict) else ""
    facts = (
        f"<p>{len(results)} checks run over {len({r.check for r in results})} check types, "
        f"{len(sources)} source/country pairs. Not applicable: the table, field or code a check needs is "
        "absent from that source, or no row is in scope. "
        f"Release <code>{escape(_release_name(manifest, release_dir))}</code>"
        f"{', created ' + escape(str(created)) if created else ''}; report generated "
        f"{dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}.</p>"
    )
    return _section("summary", "Summary", verdict + f'<div class="tiles">{tiles}</div>' + facts)


def _matrix(results: list[CheckResult]) -> str:
    cells: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for r in results:
        label = "release-wide (all sources)" if r.source_id == "*" else f"{r.source_id} ({r.country})"
        cells[(label, r.category)][r.status] += 1
    rows = []
    for source in sorted({k[0] for k in cells}):
        row = [escape(source)]
        for category in CATEGORIES:
            c = cells.get((source, category), Counter())
            run = c["passed"] + c["failed"]
            cls = "bad" if c["failed"] else ("ok" if run else "na")
            text = f"{c['failed']} failed / {run}" + (f", {c['error']} error" if c["error"] else "")
            row.append(f'<span class="cell {cls}">{text}</span>')
        rows.append(row)
    body = _table(["source (country)", *CATEGORIES], rows, "matrix") if rows else "<p>No results.</p>"
    return _section("matrix", "Failures by source and category", body, "failed / evaluated (passed + failed)")


def _by_type(results: list[CheckResult]) -> str:
    """One row per check type: how often it ran, failed, and how many rows it flagged."""
    stats: dict[str, dict[str, Any]] = {}
    for r in results:
        row = stats.setdefault(r.check, {"category": r.category, "run": 0, "failed": 0, "error": 0, "rows": 0})
        row["run"] += r.status in ("passed", "failed")
        row["failed"] += r.status == "failed"
        row["error"] += r.status == "error"
        row["rows"] += r.violating if r.status == "failed" else 0
    ordered = sorted(stats.items(), key=lambda kv: (-kv[1]["failed"], kv[0]))
    rows = [
        [
            escape(name),
            escape(row["category"]),
            str(row["run"]),
            f'<span class="cell {"bad" if row["failed"] else "ok"}">{row["failed"]}</span>',
            str(row["error"]),
            f"{row['rows']:,}",
        ]
        for name, row in ordered
    ]
    headers = ["check type", "category", "evaluated", "failed", "errors", "rows flagged by failures"]
    legend = (
        "Severity: <b>fatal</b> blocks publishing (ids, keys, provenance, splits, broken references); "
        "<b>convention</b> is a defect a steward should fix or document; <b>characterization</b> "
        "describes the data (completeness) without judging it."
    )
    return _section("types", "By check type", _table(headers, rows) if rows else "<p>No results.</p>", legend)


def _dimensions(results: list[CheckResult]) -> str:
    counts: dict[str, Counter[str]] = {d: Counter() for d in DIMENSIONS}
    for r in results:
        counts[dimension(r)][r.status] += 1
    rows = []
    for d in DIMENSIONS:
        c = counts[d]
        run = c["passed"] + c["failed"]
        rate = c["passed"] / run if run else 0.0
        rows.append([escape(d), str(run), str(c["failed"]), f"{charts.bar(rate, False)} {_pct(rate) if run else '–'}"])
    note = (
        "Checks mapped to the EHDS data-quality dimensions: conformance → validity, completeness → "
        "completeness, plausibility → accuracy, with keys and duplicates as uniqueness, cross-table "
        "and temporal-order checks as consistency, and future dates as timeliness."
    )
    return _section(
        "dimensions",
        "EHDS data-quality dimensions",
        _table(["dimension", "evaluated", "failed", "pass rate"], rows),
        note,
    )


def _ordered_failures(results: list[CheckResult]) -> list[CheckResult]:
    bad = [r for r in results if r.status in ("failed", "error")]
    return sorted(
        bad, key=lambda r: (_STATUS_ORDER[r.status], _SEVERITY_ORDER.get(r.severity, 9), -r.share, r.check_id)
    )


def _failures(results: list[CheckResult]) -> str:
    bad = _ordered_failures(results)
    if not bad:
        return _section("failures", "Failures", "<p>No check failed.</p>")
    return _section(
        "failures",
        f"Failures ({len(bad)})",
        "".join(_drill(r) for r in bad),
        "Fatal first, then by share of violating rows.",
    )


def _drill(r: CheckResult) -> str:
    share = f"{r.violating:,} / {r.total:,} rows ({_pct(r.share)}), threshold {_pct(r.threshold)}"
    sample = ", ".join(f"<code>{escape(s)}</code>" for s in r.sample) or "–"
    summary = (
        f"{_badge(r.status)} {_badge(r.severity)} <b>{escape(r.check_id)}</b> "
        f'<span class="muted">{escape(r.source_id)} · {escape(r.country)}</span> '
        f"{charts.bar(r.share, r.status == 'failed') if r.total else ''} {share if r.total else ''}"
    )
    rows = [
        ["description", escape(r.description)],
        ["category", escape(f"{r.category} / {r.subcategory or '–'} ({r.context})")],
        ["table.field", escape(f"{r.table}.{r.field or ''}")],
        ["engine", escape(r.engine)],
        ["violating / total", share],
        ["sample of failing ids", sample],
    ]
    if r.message:
        rows.append(["message", escape(r.message)])
    detail = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return (
        f'<details class="check" data-status="{escape(r.status)}"><summary>{summary}</summary>'
        f'<table class="kv">{detail}</table></details>'
    )


def _comparison(comparison: Comparison | None, previous: Path | None) -> str:
    if comparison is None:
        note = "No previous release given." if previous is None else f"No results found at {escape(str(previous))}."
        return _section("comparison", "Changes since the previous release", f"<p>{note}</p>")
    counts = comparison.counts()
    tiles = "".join(f'<div class="tile {k}"><b>{v}</b><span>{k}</span></div>' for k, v in counts.items())

    def row(label: str, now: CheckResult, then: CheckResult | None, current: CheckResult | None) -> list[str]:
        now_text = f"{current.violating:,} / {current.total:,}" if current else "not run"
        if current is not None and current.status != "failed":
            now_text = escape(current.status)
        before = f"{then.violating:,} / {then.total:,}" if then else "–"
        return [_badge(label), escape(now.check_id), escape(now.source_id), now_text, before]

    groups = (
        ("new", [row("new", r, None, r) for r in comparison.new], True),
        ("resolved", [row("resolved", o, o, n) for o, n in comparison.resolved], True),
        ("persisting", [row("persisting", r, o, r) for r, o in comparison.persisting], False),
    )
    table = "".join(
        f"<details{' open' if opened else ''}><summary>{label} ({len(rows)})</summary>"
        f"{_table(['change', 'check', 'source', 'now', 'before'], rows)}</details>"
        for label, rows, opened in groups
        if rows
    )
    return _section("comparison", "Changes since the previous release", f'<div class="tiles">{tiles}</div>{table}')


def _quarantine(rows: list[dict[str, Any]]) -> str:
    rows = [r for r in rows if r["count"]]
    if not rows:
        return _section(
            "quarantine",
            "Quarantine",
            "<p>No quarantined records reported (manifest.json sources[].quarantined, quality/quarantine.json).</p>",
        )
    totals = Counter()
    for r in rows:
        totals[r["source_id"]] += r["count"]
    summary = ", ".join(f"{escape(str(s))}: {n:,}" for s, n in totals.most_common())
    table = _table(
        ["source", "stage", "resource type", "reason", "records", "examples"],
        (
            [
                escape(str(r["source_id"])),
                escape(str(r["stage"])),
                escape(str(r["resource_type"])),
                escape(r["reason"]),
                f"{r['count']:,}",
                _samples(r.get("samples", [])),
            ]
            for r in rows
        ),
    )
    return _section("quarantine", "Quarantine", f"<p>Records rejected, per source: {summary}.</p>{table}")


def _samples(samples: list[dict[str, Any]]) -> str:
    """Where rejected records came from: file:line and the detail, as the quarantine recorded it."""
    shown = []
    for sample in samples:
        where = ":".join(str(sample[k]) for k in ("file", "line") if sample.get(k) not in (None, ""))
        detail = sample.get("detail") or sample.get("reason") or ""
        shown.append(f"<code>{escape(where)}</code> {escape(str(detail))}".strip())
    return "<br>".join(shown) or "–"


def _coverage(coverage: dict[str, Any]) -> str:
    if not coverage:
        return _section("coverage", "Mapping coverage", "<p>No mapping coverage in manifest.json.</p>")
    parts = []
    for source, value in coverage.items():
        parts.append(f"<h3>{escape(source)}</h3>{_value(value)}")
    return _section("coverage", "Mapping coverage", "".join(parts))


def _value(value: Any, depth: int = 0) -> str:
    """Generic rendering of nested JSON facts (mapping coverage is written by another stage)."""
    if isinstance(value, dict):
        rows = "".join(f"<tr><th>{escape(str(k))}</th><td>{_value(v, depth + 1)}</td></tr>" for k, v in value.items())
        return f'<table class="kv">{rows}</table>'
    if isinstance(value, list):
        if value and all(isinstance(v, dict) for v in value):
            keys = list(dict.fromkeys(k for v in value for k in v))
            return _table(keys, ([escape(str(v.get(k, ""))) for k in keys] for v in value[:50]))
        return escape(", ".join(str(v) for v in value[:50]))
    if isinstance(value, float):
        return f"{value:.4g}"
    return escape(str(value))


def _missingness(data: dict[str, tuple[list[str], dict[str, dict[str, float]]]]) -> str:
    if not data:
        return _section("missingness", "Missing values", "<p>No release data found under data/.</p>")
    charts_html = "".join(
        f"<figure><figcaption>{escape(t)}</figcaption>{charts.missingness_heatmap(t, shares, countries)}</figure>"
        for t, (countries, shares) in data.items()
        if countries
    )
    empty = [t for t, (countries, _) in data.items() if not countries]
    note = f"<p>No rows in: {escape(', '.join(empty))}.</p>" if empty else ""
    return _section(
        "missingness", "Missing values by table, column and country", f'<div class="figs">{charts_html}</div>{note}'
    )


def _labs(labs: list[tuple[dict[str, Any], dict[str, dict[str, float]]]]) -> str:
    if not labs:
        return _section(
            "labs",
            "Key labs by country",
            "<p>No key labs (labs.yaml key: true) in canonical units in data/observation.</p>",
        )
    figs = "".join(
        "<figure>" + charts.box_plots(f"{lab['name']} (LOINC {lab['code']})", lab["unit"], stats) + "</figure>"
        for lab, stats in labs
    )
    note = "Boxes: 25th–75th percentile and median; whiskers: 5th–95th percentile; values in the canonical unit."
    return _section("labs", "Key labs by country", f'<div class="figs">{figs}</div>', note)


def _time_coverage(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return _section("time", "Time coverage", "<p>No dated rows under data/.</p>")
    table = _table(
        ["table", "date field", "country", "earliest", "latest", "rows dated / rows"],
        (
            [escape(r["table"]), escape(r["field"]), escape(r["country"]), escape(str(r["first"] or "–")),
             escape(str(r["last"] or "–")), f"{r['dated']:,} / {r['rows']:,}"]
            for r in rows
        ),
    )  # fmt: skip
    note = "Data currency per table and country (EHDS timeliness); de-identified dates may be shifted per patient."
    return _section("time", "Time coverage", table, note)


def _all_checks(results: list[CheckResult]) -> str:
    ordered = sorted(
        results,
        key=lambda r: (_STATUS_ORDER.get(r.status, 9), _SEVERITY_ORDER.get(r.severity, 9), r.check_id, r.source_id),
    )
    controls = (
        '<div class="controls"><input id="filter" type="search" placeholder="filter checks (id, table, source)" '
        'aria-label="filter checks"> <select id="status" aria-label="status"><option value="">all statuses</option>'
        + "".join(f'<option value="{s}">{s.replace("_", " ")}</option>' for s in _STATUS_ORDER)
        + '</select> <span id="shown"></span></div>'
    )
    items = "".join(_drill(r) for r in ordered)
    return _section("checks", f"All checks ({len(results)})", controls + f'<div id="checklist">{items}</div>')


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>{css}</style></head>
<body><header><h1>{title}</h1><nav><a href="#summary">summary</a> <a href="#matrix">by source</a>
<a href="#dimensions">EHDS dimensions</a> <a href="#types">check types</a>
<a href="#failures">failures</a> <a href="#comparison">changes</a>
<a href="#quarantine">quarantine</a> <a href="#coverage">mapping</a> <a href="#missingness">missingness</a>
<a href="#labs">labs</a> <a href="#time">time coverage</a> <a href="#checks">all checks</a></nav></header>
<main>{body}</main><script>{js}</script></body></html>
"""

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#1f3a5f;color:#fff;padding:12px 24px}header h1{margin:0 0 6px;font-size:20px}
nav a{color:#cfe0f5;margin-right:10px;text-decoration:none}main{padding:8px 24px 40px;max-width:1200px}
section{background:#fff;border:1px solid #e3e3e3;border-radius:6px;padding:8px 16px 14px;margin:14px 0}
h2{font-size:17px;margin:8px 0}h3{font-size:14px}.note,.muted{color:#666;font-size:12px}
table{border-collapse:collapse;margin:6px 0}
th,td{border-bottom:1px solid #eee;padding:3px 8px;text-align:left;vertical-align:top}
table.kv th{color:#555;font-weight:600;white-space:nowrap}.tiles{display:flex;gap:10px;margin:8px 0}
.tile{border:1px solid #ddd;border-radius:6px;padding:6px 14px;min-width:80px;text-align:center}
.tile b{display:block;font-size:20px}.tile span{color:#555;font-size:12px}
.tile.failed,.tile.new{border-color:#c0392b}.tile.passed,.tile.resolved{border-color:#27ae60}.tile.error{border-color:#e67e22}
.verdict{font-weight:600;padding:6px 10px;border-radius:4px}.verdict.blocked{background:#fdecea;color:#922}
.verdict.ok{background:#eaf7ee;color:#1e6b3a}.cell{padding:1px 6px;border-radius:3px}
.cell.bad{background:#fdecea}.cell.ok{background:#eaf7ee}.cell.na{color:#999}
.badge{display:inline-block;font-size:11px;padding:0 6px;border-radius:8px;background:#eee;margin-right:2px}
.badge.failed,.badge.fatal,.badge.new{background:#c0392b;color:#fff}.badge.error{background:#e67e22;color:#fff}
.badge.passed,.badge.resolved{background:#27ae60;color:#fff}.badge.convention{background:#f6d365}
.badge.characterization{background:#d6e4f0}.badge.persisting{background:#8e44ad;color:#fff}
details.check{border-bottom:1px solid #f0f0f0;padding:2px 0}details.check summary{cursor:pointer}
details.check table{margin-left:22px}.figs{display:flex;flex-wrap:wrap;gap:18px}figure{margin:4px}
figcaption{font-weight:600}svg.chart text{font-size:11px;fill:#333}svg.chart text.cell{font-size:10px}
svg.chart text.title{font-weight:600}.controls{margin:6px 0}input,select{font:inherit;padding:2px 6px}
code{background:#f3f3f3;padding:0 3px;border-radius:3px}
"""

_JS = """
(function () {
  var input = document.getElementById('filter');
  var status = document.getElementById('status');
  var shown = document.getElementById('shown');
  var items = Array.prototype.slice.call(document.querySelectorAll('#checklist details.check'));
  function apply() {
    var text = input.value.toLowerCase();
    var wanted = status.value;
    var visible = 0;
    items.forEach(function (item) {
      var ok = (!wanted || item.getAttribute('data-status') === wanted) &&
        (!text || item.textContent.toLowerCase().indexOf(text) !== -1);
      item.style.display = ok ? '' : 'none';
      if (ok) { visible += 1; }
    });
    shown.textContent = visible + ' of ' + items.length + ' shown';
  }
  if (input && status && shown) {
    input.addEventListener('input', apply);
    status.addEventListener('change', apply);
    apply();
  }
})();
"""
