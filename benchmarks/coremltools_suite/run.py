"""Run coremltools' own torch-op tests with ``coreml_emulator`` standing in for Core ML.

    nice python -m benchmarks.coremltools_suite.run [--seed 0] [--jobs 2] [--out DIR] [-k EXPR]
        [--all]

Samples one ML-program case per test function of the installed coremltools'
``converters/mil/frontend/torch/test/test_torch_ops.py`` (seeded), runs it under pytest with the
plugin in :mod:`benchmarks.coremltools_suite.plugin`, and prints how many cases reached predict,
how many of those match, and how many got a WRONG answer (the emulator answered and the test's
comparison failed). A case the emulator cannot run must say so (``UnsupportedOpError``) rather
than answer wrongly: the run exits 1 if any answer was wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SUITE = "converters/mil/frontend/torch/test/test_torch_ops.py"

_INI = """[pytest]
addopts = -p no:cacheprovider
"""


def _suite_path() -> Path:
    import coremltools

    return Path(coremltools.__file__).parent / SUITE


def _run_shard(
    index: int, count: int, args: argparse.Namespace, out: Path
) -> subprocess.Popen[bytes]:
    ini = out / "pytest.ini"
    ini.write_text(_INI)
    command = [
        sys.executable, "-m", "pytest", str(_suite_path()),
        "-c", str(ini), "--rootdir", str(out), "-q", "-p", "no:randomly",
        "-p", "benchmarks.coremltools_suite.plugin",
        f"--emu-seed={args.seed}", f"--emu-shard={index}/{count}",
        f"--emu-results={out / f'shard{index}.jsonl'}",
        f"--timeout={args.timeout}", "-W", "ignore",
    ]  # fmt: skip
    if args.k:
        command += ["-k", args.k]
    if args.all:
        command.append("--emu-all")
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    log = (out / f"shard{index}.log").open("wb")
    return subprocess.Popen(command, cwd=out, env=env, stdout=log, stderr=subprocess.STDOUT)


def summarise(rows: list[dict[str, object]]) -> dict[str, object]:
    """The figures from the per-case rows the plugin writes."""
    verdicts = Counter(str(row["verdict"]) for row in rows)
    reached = sum(n for v, n in verdicts.items() if v not in ("no-predict", "xfail"))
    return {
        "cases": len(rows),
        "reached_predict": reached,
        "match": verdicts["match"],
        "match_percent": round(100.0 * verdicts["match"] / reached, 1) if reached else 0.0,
        "wrong": verdicts["wrong"],
        "unsupported": verdicts["unsupported"],
        "refused": verdicts["refused"],
        "xfail": verdicts["xfail"],
        "no_predict": verdicts["no-predict"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=600, help="seconds per case")
    parser.add_argument("--out", type=Path, default=None, help="keep logs and rows here")
    parser.add_argument("-k", default="", help="pytest -k expression to narrow the suite")
    parser.add_argument("--all", action="store_true", help="every ML-program case, no sampling")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="ct-suite-"))
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("shard*.jsonl"):
        stale.unlink()
    shards = [_run_shard(i + 1, args.jobs, args, out) for i in range(args.jobs)]
    for shard in shards:
        shard.wait()
    rows = [
        json.loads(line)
        for path in sorted(out.glob("shard*.jsonl"))
        for line in path.read_text().splitlines()
    ]
    figures = summarise(rows)
    sample = "every ML-program case" if args.all else f"seed {args.seed}, one case per test"
    for row in rows:
        if row["verdict"] in ("wrong", "unsupported", "refused"):
            print(f"{str(row['verdict']).upper():12} {row['test']}\n    {row['message'][:300]}")
    print(json.dumps(figures, indent=2))
    print(
        f"coremltools 9.0 test_torch_ops ({sample}): "
        f"{figures['match']}/{figures['reached_predict']} cases that reach predict match "
        f"({figures['match_percent']}%), {figures['wrong']} wrong; rows in {out}"
    )
    return 1 if figures["wrong"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
