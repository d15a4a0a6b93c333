"""What the security suite tried and what failed, printed at the end of the run by conftest.py's
pytest_terminal_summary: the authorization matrix and a summary table per area."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass


@dataclass
class Cell:
    expected: str  # "200", "401", … or "-" (not applicable)
    actual: str  # the status seen, "-" when not applicable, "?" when not run
    ok: bool
    note: str = ""


ROUTES: list[str] = []  # row order of the matrix
COLUMNS: list[str] = []  # column order of the matrix
MATRIX: dict[tuple[str, str], Cell] = {}
AREAS: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # area → [cases tried, failures]
NOTES: list[str] = []
FAILURES: list[str] = []  # one line per failed case, with a reproducing request where there is one


def tried(area: str, count: int = 1, failures: int = 0) -> None:
    AREAS[area][0] += count
    AREAS[area][1] += failures


def failed(area: str, line: str) -> None:
    FAILURES.append(f"[{area}] {line}")


def note(line: str) -> None:
    NOTES.append(line)


def _matrix_lines() -> list[str]:
    if not MATRIX:
        return []
    width = max(len(route) for route in ROUTES)
    cols = [max(len(c), 5) for c in COLUMNS]
    header = " | ".join([" " * width] + [c.rjust(w) for c, w in zip(COLUMNS, cols, strict=True)])
    lines = [
        "authorization matrix (cell: status seen; '!' = not the expected status, '-' = not applicable)",
        header,
        "-" * len(header),
    ]
    for route in ROUTES:
        cells = []
        for column, w in zip(COLUMNS, cols, strict=True):
            cell = MATRIX.get((route, column))
            text = "?" if cell is None else (cell.actual if cell.ok else f"!{cell.actual}")
            cells.append(text.rjust(w))
        lines.append(" | ".join([route.ljust(width), *cells]))
    wrong = [(k, c) for k, c in MATRIX.items() if not c.ok]
    for (route, column), cell in wrong:
        lines.append(f"  ! {route} × {column}: expected {cell.expected}, got {cell.actual} {cell.note}")
    return lines


def render() -> list[str]:
    lines = ["", "=" * 30 + " security suite " + "=" * 30, *_matrix_lines()]
    if AREAS:
        width = max(len(a) for a in AREAS)
        lines += ["", f"{'area'.ljust(width)} | cases tried | failures", "-" * (width + 25)]
        for area, (count, failures) in AREAS.items():
            lines.append(f"{area.ljust(width)} | {count:11d} | {failures:8d}")
        total = sum(c for c, _ in AREAS.values()), sum(f for _, f in AREAS.values())
        lines.append(f"{'total'.ljust(width)} | {total[0]:11d} | {total[1]:8d}")
    lines += [f"note: {n}" for n in NOTES]
    lines += [f"FAILED {f}" for f in FAILURES[:50]]
    if len(FAILURES) > 50:
        lines.append(f"… and {len(FAILURES) - 50} more failures")
    return lines
