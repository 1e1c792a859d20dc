"""Benchmark: how long opening each of the plugin's docks freezes a fresh napari.

Every dock the manifest (``napari.yaml``) lists is opened in its own fresh Python
process, as a user opens it right after starting napari: a viewer is shown at
1280 x 800, then the clock runs from the dock command (napari's Plugins menu
calls ``add_plugin_dock_widget``: import the widget's module, build it, dock
it) until the dock is painted. A chain of 10 ms timers then watches the event
loop for three more seconds, so work a dock defers (a background import, then
building its plots) counts too. Goal (issue 24, point 7): no freeze over 0.5 s.

The table gives per dock the seconds from the command to the painted dock
(wall clock, and the GUI thread's CPU seconds, ``cpu s``, which do not grow
when other processes load the machine), the longest event-loop stall in the
three seconds after (``after s``), and which heavy libraries got imported
(scipy.stats, statsmodels, pingouin, scikit-learn, matplotlib, torch; in the
background or not). Each dock is opened ``--repeat`` times (fresh processes)
and the median kept. The plugin's config folder is an empty temporary one (no
recently used model bundle), as for a new user.

``--before REF`` runs the same for the package as it was at a git commit or
branch (exported with ``git archive`` into a temporary folder), the two taking
turns dock by dock, so one command gives a before/after table measured on the
same machine under the same load::

    xvfb-run -a python benchmarks/bench_dock_open.py
    xvfb-run -a python benchmarks/bench_dock_open.py --before main --repeat 3
    xvfb-run -a python benchmarks/bench_dock_open.py --only Correlation,Study
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PLUGIN = "napari-msc-morph"
REPO = Path(__file__).resolve().parents[1]
GOAL_S = 0.5
TICK_MS = 10
TAIL_S = 3.0
#: Libraries whose first import costs a second or more; a dock should not pay them on open.
HEAVY = ("scipy.stats", "statsmodels", "pingouin", "sklearn", "matplotlib.figure", "torch")


# --------------------------------------------------------------------- one dock (child)
def open_one(dock: str) -> dict:
    """In this (fresh) process: show napari, open ``dock`` as the menu does, time it."""
    import napari
    from qtpy.QtCore import QEventLoop, Qt, QTimer
    from qtpy.QtWidgets import QApplication

    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1280, 800)
    app = QApplication.instance()
    loop = QEventLoop()
    QTimer.singleShot(500, loop.quit)  # napari's own start-up work settles first
    loop.exec()
    before = {name for name in HEAVY if name in sys.modules}

    start, cpu = time.perf_counter(), time.thread_time()
    viewer.window.add_plugin_dock_widget(PLUGIN, dock)
    app.processEvents()
    opened, cpu = time.perf_counter() - start, time.thread_time() - cpu

    lateness: list[float] = []
    end = time.perf_counter() + TAIL_S

    def arm() -> None:
        due = time.perf_counter() + TICK_MS / 1000
        QTimer.singleShot(TICK_MS, Qt.TimerType.PreciseTimer, lambda: tick(due))

    def tick(due: float) -> None:
        now = time.perf_counter()
        lateness.append(max(0.0, now - due))
        if now < end:
            arm()
        else:
            loop.quit()

    arm()
    loop.exec()
    imported = sorted(name for name in HEAVY if name in sys.modules and name not in before)
    viewer.close()
    return {"open_s": opened, "cpu_s": cpu, "after_s": max(lateness, default=0.0), "imported": imported}


# --------------------------------------------------------------------- the driver
def dock_names() -> list[str]:
    """The docks in the manifest, in its order (display names, as the Plugins menu shows)."""
    import yaml

    manifest = yaml.safe_load((REPO / "src" / "napari_msc_morph" / "napari.yaml").read_text())
    return [widget["display_name"] for widget in manifest["contributions"]["widgets"]]


def export_source(ref: str, into: Path) -> Path:
    """The package as it was at git ``ref``, in ``into``/src (nothing in the worktree changes)."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "src"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def time_dock(source: Path, dock: str) -> dict:
    """One fresh interpreter with ``source`` first on the path opens ``dock``."""
    env = {**os.environ, "NAPARI_MSC_MORPH_CONFIG_DIR": tempfile.mkdtemp(prefix="msc-config-"),
           "PYTHONPATH": os.pathsep.join(
        [str(source), *filter(None, [os.environ.get("PYTHONPATH", "")])])}
    done = subprocess.run([sys.executable, __file__, "--child", dock], env=env,
                          capture_output=True, text=True, timeout=300)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        raise RuntimeError(f"{dock} ({source}) failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1])


def measure(sources: dict[str, Path], docks: list[str], repeat: int) -> dict[str, dict]:
    """Each dock ``repeat`` times per source, the sources taking turns (the machine's load
    then weighs on both alike); the medians per source and dock."""
    for source in sources.values():
        compileall.compile_dir(source, quiet=1)  # byte code once, not in the first timing
    runs = {label: {dock: [] for dock in docks} for label in sources}
    for dock in docks:
        for _ in range(repeat):
            for label, source in sources.items():
                runs[label][dock].append(time_dock(source, dock))
        print(f"  {dock}: " + ", ".join(
            f"{label} {statistics.median(r['open_s'] for r in runs[label][dock]):.2f} s"
            for label in sources), file=sys.stderr, flush=True)
    return {label: {dock: {"open_s": statistics.median(r["open_s"] for r in rows),
                           "cpu_s": statistics.median(r["cpu_s"] for r in rows),
                           "after_s": statistics.median(r["after_s"] for r in rows),
                           "imported": sorted({n for r in rows for n in r["imported"]})}
                    for dock, rows in per_dock.items()}
            for label, per_dock in runs.items()}


def table(results: dict[str, dict[str, dict]], docks: list[str]) -> str:
    labels = list(results)
    width = {label: max(12, len(label) + 2) for label in labels}
    head = f"{'dock':<26}" + "".join(f"{label:>{width[label]}}{'cpu s':>7}{'after s':>9}"
                                     for label in labels)
    lines = [head, "-" * len(head)]
    for dock in docks:
        cells = "".join(f"{results[label][dock]['open_s']:>{width[label]}.2f}"
                        f"{results[label][dock]['cpu_s']:>7.2f}"
                        f"{results[label][dock]['after_s']:>9.2f}" for label in labels)
        lines.append(f"{dock:<26}{cells}")
    lines.append("")
    for label in labels:
        for dock in docks:
            imported = results[label][dock]["imported"]
            if imported:
                lines.append(f"{label}: opening {dock} imported {', '.join(imported)}")
    worst = max(max(row["open_s"], row["after_s"]) for row in results[labels[-1]].values())
    lines.append(f"{labels[-1]}: longest freeze {worst:.2f} s "
                 f"(goal < {GOAL_S} s: {'met' if worst < GOAL_S else 'NOT met'})")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--before", metavar="REF",
                        help="also time the package at this git commit/branch (e.g. main)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="fresh processes per dock; the median is kept (default 3)")
    parser.add_argument("--only", help="comma-separated parts of dock names, e.g. Correlation")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(open_one(args.child)))
        return

    docks = dock_names()
    if args.only:
        wanted = [part.strip().lower() for part in args.only.split(",")]
        docks = [dock for dock in docks if any(part in dock.lower() for part in wanted)]
    with tempfile.TemporaryDirectory(prefix="bench-dock-open-") as folder:
        sources = {"now": REPO / "src"}
        if args.before:
            sources = {f"before ({args.before})": export_source(args.before, Path(folder)),
                       **sources}
        results = measure(sources, docks, args.repeat)
    print(f"Opening each dock in a fresh napari (1280 x 800, median of {args.repeat}):")
    print(table(results, docks))


if __name__ == "__main__":
    main()
