"""How much disk `pip install .` takes: a fresh virtual environment, the package installed
as the README says, and the size of that environment against an empty one's.

Run: python benchmarks/install_size.py [--extra cluster]

Prints the environment's size, the empty venv's (pip itself), and the largest installed
distributions. The goal (issue 20): 450 MB or less for `pip install .`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).parents[1]
GOAL_MB = 450
LARGEST = 8


def size_mb(path: Path) -> float:
    files = (f for f in path.rglob("*") if f.is_file() and not f.is_symlink())
    return sum(f.stat().st_size for f in files) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra", help="an optional extra to install too, e.g. cluster")
    extra = parser.parse_args().extra
    target = f".[{extra}]" if extra else "."
    with tempfile.TemporaryDirectory() as scratch:
        venv = Path(scratch) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        empty = size_mb(venv)
        pip = [str(venv / "bin" / "pip"), "install", "-q", "--no-cache-dir", target]
        subprocess.run(pip, cwd=ROOT, check=True)
        total = size_mb(venv)
        site = next((venv / "lib").glob("python*/site-packages"))
        folders = [p for p in site.iterdir() if p.is_dir() and not p.name.endswith("-info")]
        largest = sorted(((size_mb(p), p.name) for p in folders), reverse=True)[:LARGEST]
    print(f"pip install {target}: {total:,.0f} MB ({empty:,.0f} MB of it an empty venv), "
          f"goal <= {GOAL_MB} MB")  # fmt: skip
    for mb, name in largest:
        print(f"  {name:<24} {mb:7,.1f} MB")


if __name__ == "__main__":
    main()
