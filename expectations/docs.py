"""Render the suites as the Markdown tables of docs/data_quality.md ("The suites").

    .venv/bin/python -m expectations.docs marts --write  # rewrite the mart sections in place
    .venv/bin/python -m expectations.docs marts          # print them
    .venv/bin/python -m expectations.docs raw --write    # rewrite each raw-layer section in place
    .venv/bin/python -m expectations.docs raw            # print them
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from expectations.suites import ERROR, Expect, Metric, SuiteSpec, Volume


def _severity(severity: str) -> str:
    return "**error**" if severity == ERROR else "warning"


def _row_level(expectation: Expect) -> str:
    kwargs = expectation.kwargs
    column = kwargs.get("column")
    if expectation.name == "ExpectColumnValuesToNotBeNull":
        live = " (live events only)" if "row_condition" in kwargs else ""
        return f"`{column}` not null{live}"
    if expectation.name == "ExpectColumnValuesToBeBetween":
        low, high = kwargs.get("min_value"), kwargs.get("max_value")
        return f"`{column}` between {low if low is not None else '…'} and {high if high is not None else '…'}"
    if expectation.name == "ExpectColumnValuesToBeInSet":
        return f"`{column}` in {{{', '.join(map(str, kwargs.get('value_set', [])))}}}"
    return f"{expectation.name} on `{column}`"


def _volume(volume: Volume) -> str:
    return (f"| row count within −{volume.max_drop:.0%} … ×{volume.max_growth:g} (+{volume.growth_slack}) of the "
            f"previous validated run | pushed down + history | {_severity(volume.severity)} | a load that lost or "
            "multiplied rows; may be real |")


def suite_markdown(spec: SuiteSpec) -> str:
    where = "raw file" if spec.layer.value == "raw" else "build file"
    lines = [f"#### `gx_{spec.name}` → asset `{spec.schema}/{spec.table}` ({where})", "",
             "| expectation | how | severity | why |", "|---|---|---|---|"]
    if spec.columns_present:
        lines.append(f"| columns present: {', '.join(spec.columns_present)} | GX on an empty frame | **error** | "
                     "the readers (dbt, dashboards) select them |")
    for expectation in spec.expectations:
        if isinstance(expectation, Metric):
            what, how = expectation.description, "pushed down"
        else:
            what, how = _row_level(expectation), "row-level, streamed"
        why = expectation.why.replace("|", "\\|")
        lines.append(f"| {what.replace('|', chr(92) + '|')} | {how} | {_severity(expectation.severity)} | {why} |")
    if spec.volume is not None:
        lines.append(_volume(spec.volume))
    return "\n".join(lines) + "\n"


DATA_QUALITY_DOC = Path(__file__).resolve().parent.parent / "docs" / "data_quality.md"
GENERATED_START = "<!-- generated: .venv/bin/python -m expectations.docs marts"
GENERATED_END = "<!-- end generated -->"


def write_mart_sections(markdown: str, doc: Path = DATA_QUALITY_DOC) -> None:
    """Replace what lies between the generated markers of ``doc`` with ``markdown``."""
    text = doc.read_text(encoding="utf-8")
    start = text.index(GENERATED_START)
    body_start = text.index("\n", start) + 1
    end = text.index(GENERATED_END, body_start)
    doc.write_text(text[:body_start] + "\n" + markdown + "\n\n" + text[end:], encoding="utf-8")


def write_raw_sections(suites: tuple[SuiteSpec, ...], doc: Path = DATA_QUALITY_DOC) -> None:
    """Replace each raw suite's section (from its `####` header to the next header) in ``doc``."""
    text = doc.read_text(encoding="utf-8")
    for spec in suites:
        markdown = suite_markdown(spec).strip("\n")
        header = markdown.splitlines()[0]
        if header not in text:
            raise SystemExit(f"{doc} has no section {header!r}: add it where the suite belongs, then rerun")
        start = text.index(header)
        following = re.compile(r"\n(?=#{2,4} )").search(text, start + len(header))
        end = following.start() if following else len(text)
        text = text[:start] + markdown + text[start + len(text[start:end].rstrip("\n")):]
    doc.write_text(text, encoding="utf-8")


def main(argv: list[str]) -> int:
    from expectations.suites import MART_SUITES, RAW_SUITES

    suites = RAW_SUITES if argv[:1] == ["raw"] else MART_SUITES
    markdown = "\n".join(suite_markdown(spec) for spec in suites)
    if "--write" in argv:
        if suites is MART_SUITES:
            write_mart_sections(markdown)
        else:
            write_raw_sections(suites)
        print(f"wrote {len(suites)} suites to {DATA_QUALITY_DOC}")
    else:
        print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
