#!/usr/bin/env python3
"""Prints the size of every function package `sam build` produced: the bootstrap binary and the
zip Lambda would receive (deflate, as `sam package` uploads it). Also writes the table as TSV to
.aws-sam/package-sizes.tsv for the benchmark report."""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

BUILD_DIR = Path(__file__).resolve().parents[1] / ".aws-sam" / "build"


def zipped_size(bootstrap: Path) -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, bootstrap.read_bytes())
    return len(buffer.getvalue())


def main() -> int:
    packages = sorted(BUILD_DIR.glob("*/bootstrap"))
    if not packages:
        print(f"package-sizes: no bootstrap under {BUILD_DIR}; run `make package`", file=sys.stderr)
        return 1
    rows = [(p.parent.name, p.stat().st_size, zipped_size(p)) for p in packages]
    width = max(len(name) for name, _, _ in rows)
    print(f"{'function':<{width}}  {'binary bytes':>12}  {'zipped bytes':>12}")
    for name, binary, zipped in rows:
        print(f"{name:<{width}}  {binary:>12,}  {zipped:>12,}")
    print(f"{'largest':<{width}}  {max(r[1] for r in rows):>12,}  {max(r[2] for r in rows):>12,}")
    (BUILD_DIR.parent / "package-sizes.tsv").write_text(
        "function\tbinary_bytes\tzipped_bytes\n" + "".join(f"{n}\t{b}\t{z}\n" for n, b, z in rows)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
