#!/usr/bin/env python3
"""Fails when a secret appears in any line of a stack's logs.

    .venv/bin/python tests/security/scan_logs.py .dev/logs/e2e .dev/logs/e2e-billing-disabled
    ... --secret "$WEBHOOK_SECRET"      # also look for this exact value (repeatable)

Looked for, in every file under each directory (recursively):
  stripe-api-key     sk_/rk_ test or live keys (the local one is stacklib.DEV_STRIPE_API_KEY)
  webhook-secret     whsec_… (the stack registers one with the fake Stripe and keeps it in moto)
  client-secret      a SetupIntent's or PaymentIntent's client secret (seti_…_secret_…, pi_…_secret_…)
  jwt                a JSON Web Token (eyJ….eyJ….), signed or not
  jwt-signing-key    the dev HS256 secret (stacklib.DEV_JWT_SECRET)
  literal            each --secret value

A scan of nothing must not pass: a directory that is missing, empty, or has no non-empty
functions.log (where the Lambda functions log) is an error. Hits are printed with the secret
masked, so the scan's own output never repeats it.

Exit status: 0 clean, 1 secrets found, 2 nothing to scan / bad arguments.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from stacklib import DEV_JWT_SECRET, DEV_STRIPE_API_KEY  # noqa: E402

PATTERNS: dict[str, re.Pattern] = {
    "stripe-api-key": re.compile(r"\b(?:sk|rk)_(?:test|live)_[A-Za-z0-9_]+"),
    "webhook-secret": re.compile(r"whsec_[A-Za-z0-9_]{6,}"),
    "client-secret": re.compile(r"\b(?:seti|pi)_[A-Za-z0-9]+_secret_[A-Za-z0-9]+"),
    "jwt": re.compile(r"eyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*"),
}
LITERALS = {DEV_STRIPE_API_KEY: "stripe-api-key", DEV_JWT_SECRET: "jwt-signing-key"}


class NothingToScan(Exception):
    pass


@dataclass(frozen=True)
class Hit:
    path: Path
    line_number: int
    kind: str
    masked_line: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line_number}: {self.kind}: {self.masked_line}"


def _mask(value: str) -> str:
    return value[:6] + "…[masked]"


def scan_line(line: str, literals: dict[str, str]) -> list[tuple[str, str]]:
    """(kind, matched value) for every secret in one line."""
    found = [(kind, m.group(0)) for kind, pattern in PATTERNS.items() for m in pattern.finditer(line)]
    found += [(kind, value) for value, kind in literals.items() if value and value in line]
    return found


def log_files(directory: Path) -> list[Path]:
    if not directory.exists():
        raise NothingToScan(f"{directory}: no such directory (did the stack run and log here?)")
    if not directory.is_dir():
        raise NothingToScan(f"{directory}: not a directory")
    files = sorted(p for p in directory.rglob("*") if p.is_file())
    if not any(p.stat().st_size for p in files):
        raise NothingToScan(f"{directory}: no log lines at all ({len(files)} empty files)")
    functions_log = directory / "functions.log"
    if not functions_log.is_file() or functions_log.stat().st_size == 0:
        raise NothingToScan(f"{directory}: functions.log is missing or empty, so no function log was scanned")
    return files


def scan(directories: list[Path], extra_secrets: list[str] = ()) -> tuple[list[Hit], int, int]:
    """Returns (hits, files scanned, lines scanned); raises NothingToScan for an empty scan."""
    if not directories:
        raise NothingToScan("no log directory given")
    literals = dict(LITERALS)
    literals.update({value: "literal" for value in extra_secrets if value})
    hits: list[Hit] = []
    files = lines = 0
    for directory in directories:
        for path in log_files(directory):
            files += 1
            with open(path, encoding="utf-8", errors="replace") as handle:
                for number, line in enumerate(handle, start=1):
                    lines += 1
                    found = scan_line(line, literals)
                    if not found:
                        continue
                    masked = line.rstrip("\n")
                    for _, value in found:
                        masked = masked.replace(value, _mask(value))
                    for kind, _ in found:
                        hits.append(Hit(path, number, kind, masked[:300]))
    if lines == 0:
        raise NothingToScan("no log lines at all")
    return hits, files, lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("log_dirs", nargs="+", type=Path, help="a stack's log directory, e.g. .dev/logs/e2e")
    parser.add_argument("--secret", action="append", default=[], help="an exact value that must not appear")
    args = parser.parse_args(argv)
    try:
        hits, files, lines = scan(args.log_dirs, args.secret)
    except NothingToScan as error:
        print(f"scan_logs: FAILED, nothing to scan: {error}", file=sys.stderr)
        return 2
    where = ", ".join(str(d) for d in args.log_dirs)
    if hits:
        for hit in hits[:100]:
            print(f"scan_logs: SECRET {hit}", file=sys.stderr)
        kinds = sorted({h.kind for h in hits})
        print(
            f"scan_logs: FAILED: {len(hits)} secret(s) ({', '.join(kinds)}) "
            f"in {files} files / {lines} lines of {where}",
            file=sys.stderr,
        )
        return 1
    print(f"scan_logs: 0 secrets in {files} files / {lines} lines of {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
