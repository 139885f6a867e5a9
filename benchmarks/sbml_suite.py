"""Run bonemet_ode over the SBML Test Suite's semantic cases and judge each with the suite's criterion.

Usage::

    python benchmarks/sbml_suite.py [--cases DIR] [--workers 2] [--only 00001-00100] [--tier 0,1]
                                    [--csv FILE] [--show-wrong]

Cases default to ``../shared/data/sbml-test-suite/cases`` beside the repository
(``$BONEMET_SBML_SUITE`` overrides).  Each case runs in-process (the code of
``bonemet-ode sbml-test``) in a pool of worker processes, with compiled models
cached in a fresh temporary ``BONEMET_ODE_CACHE`` (so the compile times are
cold: cases that share a structure share one build), built quick
(``BONEMET_ODE_BUILD=quick``: -O1, no lane solver) unless ``--full-build``.  A case **passes** when
every point satisfies ``|expected - actual| <= absolute + relative*|expected|``
(the settings' tolerances), is **refused** when import raises
``UnsupportedFeatureError`` (the reason names the feature), is **wrong** when it
simulates but a point is off, and is an **error** when import or the solve fails
otherwise.  Prints passed / refused / wrong / error per tier (``case_tags.csv``
beside ``cases/``) and per tag (``componentTags`` and ``testTags`` of
``NNNNN-model.m``), the commonest refusal reasons, the wrong and error cases, and
import / compile / solve times.
"""

from __future__ import annotations

import argparse
import collections
import csv
import multiprocessing as mp
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUITE = Path("shared") / "data" / "sbml-test-suite" / "cases"


def suite_dir() -> Path:
    """``$BONEMET_SBML_SUITE``, else ``../shared/...`` beside the repository (or beside a folder above it,
    for a git worktree kept below the main checkout's parent)."""
    env = os.environ.get("BONEMET_SBML_SUITE")
    if env:
        return Path(env)
    for up in ROOT.parents:
        if (up / SUITE).is_dir():
            return up / SUITE
    return ROOT.parent / SUITE


def model_tags(case_dir: Path) -> tuple[list[str], list[str]]:
    """componentTags and testTags from ``NNNNN-model.m``."""
    comp, test = [], []
    for f in case_dir.glob("*-model.m"):
        for line in f.read_text(errors="replace").splitlines():
            if line.startswith("componentTags:"):
                comp = [t.strip() for t in line.split(":", 1)[1].split(",") if t.strip()]
            elif line.startswith("testTags:"):
                test = [t.strip() for t in line.split(":", 1)[1].split(",") if t.strip()]
    return comp, test


def tiers(cases: Path) -> dict[str, str]:
    f = cases.parent / "case_tags.csv"
    if not f.exists():
        return {}
    with open(f, newline="") as fh:
        return {r["case"]: r.get("tier", "") for r in csv.DictReader(fh)}


def _work(case_dir: str) -> dict:
    from bonemet_ode.io.sbml_import.testsuite import judge, run_case

    t0 = time.perf_counter()
    try:
        run = run_case(case_dir)
    except Exception as exc:  # noqa: BLE001 - a crash is reported as an error case, not fatal to the run
        return dict(case=Path(case_dir).name, status="error", reason=f"crash {type(exc).__name__}: {exc}",
                    import_s=0.0, compile_s=0.0, solve_s=0.0, built=False, total_s=time.perf_counter() - t0)
    out = dict(case=run.case, status=run.status, reason=run.reason, import_s=run.import_seconds,
               compile_s=run.compile_seconds, solve_s=run.solve_seconds, built=run.built)
    if run.status == "ok":
        try:
            ok, why = judge(run, case_dir)
        except Exception as exc:  # noqa: BLE001 - a malformed expected file is reported, not fatal
            ok, why = False, f"cannot judge: {exc}"
        out["status"] = "passed" if ok else "wrong"
        out["reason"] = why
    out["total_s"] = time.perf_counter() - t0
    return out


def _child(case_dir: str, conn) -> None:  # noqa: ANN001 - a multiprocessing connection
    conn.send(_work(case_dir))
    conn.close()


def _run_isolated(cases: list[str], workers: int, timeout: float) -> list[dict]:
    """Each case in its own forked process, ``workers`` at a time: a case that crashes the process
    (a signal in compiled code) or runs past ``timeout`` seconds is reported as an error, and the run goes on."""
    ctx = mp.get_context("fork")
    todo = list(reversed(cases))
    running: dict = {}
    done: dict[str, dict] = {}
    while todo or running:
        while todo and len(running) < workers:
            case = todo.pop()
            recv, send = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_child, args=(case, send))
            proc.start()
            send.close()
            running[case] = (proc, recv, time.perf_counter())
        time.sleep(0.002)
        for case, (proc, recv, t0) in list(running.items()):
            if recv.poll():
                try:
                    done[case] = recv.recv()
                except EOFError:
                    pass
            if case in done or not proc.is_alive() or time.perf_counter() - t0 > timeout:
                if case not in done and recv.poll():
                    try:
                        done[case] = recv.recv()
                    except EOFError:
                        pass
                if case not in done:
                    if proc.is_alive():
                        proc.kill()
                        why = f"timed out after {timeout:g} s"
                    else:
                        why = f"process died (exit code {proc.exitcode})"
                    done[case] = dict(case=Path(case).name, status="error", reason=why, import_s=0.0, compile_s=0.0,
                                      solve_s=0.0, built=False, total_s=time.perf_counter() - t0)
                proc.join()
                recv.close()
                del running[case]
    return [done[c] for c in cases]


def _short(reason: str) -> str:
    """A refusal reason without the element id (for counting)."""
    m = re.match(r"unsupported SBML feature: (.*?)(?: \(element .*)?$", reason)
    return m.group(1) if m else reason[:90]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=Path, default=None)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--only", default="", help="range of case numbers, e.g. 1-100")
    ap.add_argument("--tier", default="", help="comma-separated tiers to run (case_tags.csv), e.g. 0,1")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per case before it counts as an error")
    ap.add_argument("--csv", type=Path, default=None, help="write one row per case here")
    ap.add_argument("--full-build", action="store_true",
                    help="compile as for production (-O3 with the lane solver) instead of BONEMET_ODE_BUILD=quick")
    ap.add_argument("--show-wrong", action="store_true", help="print every wrong and error case with its reason")
    args = ap.parse_args(argv)
    cases = args.cases or suite_dir()
    if not cases.is_dir():
        print(f"no SBML Test Suite cases at {cases} (set --cases or BONEMET_SBML_SUITE)")
        return 1
    tier_of = tiers(cases)
    dirs = sorted(p for p in cases.iterdir() if p.is_dir() and p.name.isdigit())
    if args.only:
        lo, _, hi = args.only.partition("-")
        dirs = [d for d in dirs if int(lo) <= int(d.name) <= int(hi or lo)]
    if args.tier:
        want = {t.strip() for t in args.tier.split(",")}
        dirs = [d for d in dirs if tier_of.get(d.name, "") in want]
    cache = tempfile.mkdtemp(prefix="bm_sbml_suite_")
    os.environ["BONEMET_ODE_CACHE"] = cache
    if not args.full_build:
        os.environ["BONEMET_ODE_BUILD"] = "quick"
    t0 = time.perf_counter()
    import sympy  # noqa: F401

    import bonemet_ode.compile.codegen  # noqa: F401 - imported once here, inherited by every forked case
    import bonemet_ode.io.sbml_import.testsuite  # noqa: F401

    rows = _run_isolated([str(d) for d in dirs], args.workers, args.timeout)
    wall = time.perf_counter() - t0
    for r in rows:
        comp, test = model_tags(cases / r["case"])
        r["tier"] = tier_of.get(r["case"], "?")
        r["tags"] = comp + test
    kinds = ("passed", "refused", "wrong", "error")

    def table(title: str, groups: dict[str, list[dict]]) -> None:
        print(f"\n{title:<34}" + "".join(f"{k:>9}" for k in kinds) + f"{'total':>8}")
        for g in sorted(groups, key=lambda x: (not x[:1].isdigit(), x)):
            c = collections.Counter(r["status"] for r in groups[g])
            print(f"{g:<34}" + "".join(f"{c[k]:>9}" for k in kinds) + f"{len(groups[g]):>8}")

    by_tier: dict[str, list[dict]] = collections.defaultdict(list)
    by_tag: dict[str, list[dict]] = collections.defaultdict(list)
    for r in rows:
        by_tier[f"tier {r['tier']}"].append(r)
        for t in r["tags"]:
            by_tag[t].append(r)
    by_tier["all"] = rows
    table("by tier", by_tier)
    table("by tag", by_tag)
    refusals = collections.Counter(_short(r["reason"]) for r in rows if r["status"] == "refused")
    print("\nrefusals by reason")
    for reason, n in refusals.most_common():
        print(f"{n:>6}  {reason}")
    bad = [r for r in rows if r["status"] in ("wrong", "error")]
    if bad:
        print(f"\nwrong / error cases ({len(bad)})")
        for r in bad if args.show_wrong else bad[:40]:
            print(f"  {r['case']} tier {r['tier']} {r['status']}: {r['reason'][:200]}")
    sim = [r for r in rows if r["status"] in ("passed", "wrong")]
    built = [r for r in sim if r["built"]]
    if sim:
        def mean(key: str, rs: list[dict]) -> float:
            return sum(r[key] for r in rs) / max(len(rs), 1)

        print(f"\ntimes per simulated case (s): import {mean('import_s', sim):.3f}, "
              f"solve+sample {mean('solve_s', sim):.3f}; "
              f"compile {mean('compile_s', built):.3f} for the {len(built)} builds, "
              f"{mean('compile_s', [r for r in sim if not r['built']]):.4f} when cached "
              f"({len(sim) - len(built)} cases)")
    c = collections.Counter(r["status"] for r in rows)
    print(f"\n{len(rows)} cases in {wall:.0f} s wall ({args.workers} workers): " +
          ", ".join(f"{c[k]} {k}" for k in kinds))
    if args.csv:
        with open(args.csv, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=["case", "tier", "status", "reason", "import_s", "compile_s", "solve_s",
                                               "built", "total_s", "tags"])
            w.writeheader()
            for r in rows:
                w.writerow({**r, "tags": ";".join(r["tags"])})
    return 0


if __name__ == "__main__":
    sys.exit(main())
