"""Load benchmark: N simultaneous visitors on the public site, for a fixed time, on loopback.

    python bench/load.py [--visitors 12] [--duration 60] [--reload]

Starts the dashboard in public mode (`python -m measures serve --public` settings) on a
free 127.0.0.1 port, opens one headless Chromium with one browser context per visitor
(separate cookies and sessions, like separate people), and has every visitor arrive on a
page (a full page load) and then go through the pages the navigation lists by clicking
them (`--reload`: load every page afresh), until the time is up. A visit counts
when the page has settled (its script finished) and every chart on it is drawn. Prints
time to a settled page (median, p95) overall and per page, how many visitors got a
drawn chart, and the server's memory (RSS) over the run. Stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from measures.ui import serve  # noqa: E402
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, free_port  # noqa: E402

VISIT_TIMEOUT_MS = 120_000
# Settled: the page's script has run to the end (Streamlit's own marker on the app root) and
# drawn its title, which is not the title of the page the visitor came from.
SETTLED_JS = """(previousTitle) => {
  const app = document.querySelector('[data-testid=stApp]');
  const title = document.querySelector('[data-testid=stMain] h1');
  return !!app && app.dataset.testScriptState === 'notRunning' && !!title && title.innerText !== previousTitle;
}"""
# Truthy (number of charts + 1) once no element is still a loading skeleton (charts load lazily),
# every Plotly chart has its SVG and every map its canvas.
CHARTS_DRAWN_JS = """() => {
  if (document.querySelector('[data-testid*=keleton]')) return 0;
  const plots = [...document.querySelectorAll('[data-testid=stPlotlyChart]')];
  const maps = [...document.querySelectorAll('[data-testid=stDeckGlJsonChart]')];
  const ready = plots.every(p => p.querySelector('.main-svg')) && maps.every(m => m.querySelector('canvas'));
  return ready ? plots.length + maps.length + 1 : 0;
}"""


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float | None:
    """Resident memory of a process (from /proc, so no extra dependency)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class MemorySampler(threading.Thread):
    def __init__(self, pid: int, every_s: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.pid, self.every_s, self.samples = pid, every_s, []
        self.stopped = threading.Event()

    def run(self) -> None:
        start = time.monotonic()
        while not self.stopped.is_set():
            value = rss_mib(self.pid)
            if value is not None:
                self.samples.append((time.monotonic() - start, value))
            self.stopped.wait(self.every_s)


def start_server(port: int, data_dir: str | None) -> subprocess.Popen:
    env = {**os.environ, "MEASURES_PUBLIC": "1"}
    if data_dir:
        env["MEASURES_DATA_DIR"] = str(Path(data_dir).resolve())
    process = subprocess.Popen(serve.command(public=True, port=port, address="127.0.0.1"), cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(240):
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1).read() == b"ok":
                return process
        except OSError:
            time.sleep(0.25)
    process.kill()
    raise SystemExit("the dashboard did not start")


async def listed_pages(browser, base: str) -> list[str]:
    """The url paths the navigation lists (so new pages are visited without editing this file)."""
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(base + "/")
    await page.wait_for_function(SETTLED_JS, arg=None, timeout=VISIT_TIMEOUT_MS)
    hrefs = await page.eval_on_selector_all("[data-testid=stSidebarNav] a", "links => links.map(a => a.href)")
    await context.close()
    paths = []
    for href in hrefs:
        path = href.split("?")[0][len(base):].strip("/")
        if path not in paths:
            paths.append(path)
    return paths or [""]


async def visitor(number: int, browser, base: str, paths: list[str], deadline: float, results: list[dict],
                  reload: bool) -> None:
    """Arrives on one page (a full page load), then moves through the navigation like a reader:
    clicking the sidebar links (the app stays loaded; the server runs the new page), or with
    `reload` loading every page afresh."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    visit, title = 0, None
    try:
        while time.monotonic() < deadline:
            index = (number + visit) % len(paths)  # visitors start on different pages
            kind = "arrival" if visit == 0 or reload else "navigation"
            visit += 1
            started = time.monotonic()
            record = {"visitor": number, "page": paths[index] or "(overview)", "kind": kind, "ok": False, "charts": 0}
            try:
                if kind == "arrival":
                    await page.goto(f"{base}/{paths[index]}", timeout=VISIT_TIMEOUT_MS)
                    title = None
                else:
                    await page.locator("[data-testid=stSidebarNav] a").nth(index).click(timeout=VISIT_TIMEOUT_MS)
                await page.wait_for_function(SETTLED_JS, arg=title, timeout=VISIT_TIMEOUT_MS, polling=50)
                record["script_s"] = time.monotonic() - started  # the server has run the page's script
                drawn = await page.wait_for_function(CHARTS_DRAWN_JS, timeout=VISIT_TIMEOUT_MS, polling=50)
                record["charts"] = await drawn.json_value() - 1
                record["errors"] = await page.locator("[data-testid=stException]").count()
                record["ok"] = record["errors"] == 0
                title = await page.locator("[data-testid=stMain] h1").first.inner_text()
            except Exception as exc:  # a timeout counts as a failed visit, and the run goes on
                record["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
                visit = 0  # start again with a fresh page load
            record["seconds"] = time.monotonic() - started
            results.append(record)
    finally:
        await context.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def peaks_by_quarter(samples: list[tuple[float, float]]) -> list[int]:
    """Peak RSS in each quarter of the run: flat once the caches are full means memory is bounded."""
    if not samples:
        return []
    end = samples[-1][0] or 1.0
    quarters = [[v for t, v in samples if q * end / 4 <= t <= (q + 1) * end / 4] for q in range(4)]
    return [round(max(values)) if values else 0 for values in quarters]


async def run(visitors: int, duration: float, data_dir: str | None, browsers_nice: int = 15,
              reload: bool = False) -> dict:
    from playwright.async_api import async_playwright

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(port, data_dir)
    # The visitors' browsers run on the same cores as the server here, and drawing 12 pages
    # with software WebGL costs far more CPU than serving them: lower this process's priority
    # (the browsers inherit it) so the server gets the CPU first, as if visitors were elsewhere.
    os.nice(browsers_nice)
    sampler = MemorySampler(server.pid)
    sampler.start()
    load_before = os.getloadavg()
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            paths = await listed_pages(browser, base)
            rss_before, cpu_before = rss_mib(server.pid), cpu_seconds(server.pid)
            results: list[dict] = []
            started = time.monotonic()
            deadline = started + duration
            await asyncio.wait_for(
                asyncio.gather(*(visitor(n, browser, base, paths, deadline, results, reload) for n in range(visitors))),
                timeout=duration + 3 * VISIT_TIMEOUT_MS / 1000)
            elapsed = time.monotonic() - started
            await browser.close()
    finally:
        sampler.stopped.set()
        rss_after, cpu_used = rss_mib(server.pid), cpu_seconds(server.pid) - cpu_before
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    ok = [r for r in results if r["ok"]]
    seconds = [r["seconds"] for r in ok]
    script_seconds = [r["script_s"] for r in ok]
    samples = [v for _, v in sampler.samples]
    return {
        "machine": {"cpus": os.cpu_count(), "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
                                                                 / 1024**3, 1),
                    "python": platform.python_version(), "browsers_nice": browsers_nice,
                    "load_before": [round(x, 2) for x in load_before],
                    "load_after": [round(x, 2) for x in os.getloadavg()]},
        "visitors": visitors, "duration_s": duration, "elapsed_s": round(elapsed, 1), "pages": paths,
        "visits": len(results), "visits_ok": len(ok), "visits_failed": len(results) - len(ok),
        "visitors_with_a_drawn_chart": len({r["visitor"] for r in ok if r["charts"] > 0}),
        "median_s": round(statistics.median(seconds), 2) if seconds else None,
        "p95_s": round(percentile(seconds, 0.95), 2) if seconds else None,
        "max_s": round(max(seconds), 2) if seconds else None,
        "script_median_s": round(statistics.median(script_seconds), 2) if seconds else None,
        "script_p95_s": round(percentile(script_seconds, 0.95), 2) if seconds else None,
        "server_cpu_s": round(cpu_used, 1), "server_cpu_s_per_visit": round(cpu_used / len(results), 2) if results else None,
        "per_kind": {k: {"visits": len(s), "median_s": round(statistics.median(s), 2), "p95_s": round(percentile(s, 0.95), 2)}
                     for k in ("arrival", "navigation") for s in [[r["seconds"] for r in ok if r["kind"] == k]] if s},
        "per_page": {p: {"visits": len(s), "median_s": round(statistics.median(s), 2), "p95_s": round(percentile(s, 0.95), 2)}
                     for p in dict.fromkeys(r["page"] for r in ok)
                     for s in [[r["seconds"] for r in ok if r["page"] == p]]},
        "server_rss_mib": {"idle": round(rss_before or 0), "peak": round(max(samples)) if samples else None,
                           "end": round(rss_after or 0),
                           "by_quarter": peaks_by_quarter(sampler.samples)},
        "failures": sorted({r.get("error", f"{r.get('errors')} exception(s) on {r['page']}") for r in results
                            if not r["ok"]})[:10],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=12)
    parser.add_argument("--duration", type=float, default=60, help="seconds of load (at most 600)")
    parser.add_argument("--data-dir", help="data folder to serve (default: the repo's data/)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--reload", action="store_true",
                        help="load every page afresh (default: arrive once, then click through the navigation)")
    parser.add_argument("--browsers-nice", type=int, default=15,
                        help="niceness of the browsers (0: same priority as the server)")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        raise SystemExit(f"no browser at {CHROMIUM} (apt-get install chromium)")
    visitors, duration = max(1, min(args.visitors, 50)), max(5.0, min(args.duration, 600.0))
    result = asyncio.run(run(visitors, duration, args.data_dir, max(0, min(args.browsers_nice, 19)), args.reload))
    m = result["machine"]
    print(f"machine: {m['cpus']} CPUs, {m['memory_gib']} GiB, Python {m['python']}, browsers at nice {m['browsers_nice']}, "
          f"load average before {m['load_before'][0]} after {m['load_after'][0]}")
    print(f"{result['visitors']} visitors for {result['duration_s']:.0f} s over {len(result['pages'])} pages: "
          f"{result['visits']} visits, {result['visits_ok']} settled with every chart drawn, {result['visits_failed']} failed")
    print(f"visitors who got a drawn chart: {result['visitors_with_a_drawn_chart']} of {result['visitors']}")
    print(f"time to a settled page: median {result['median_s']} s, p95 {result['p95_s']} s, max {result['max_s']} s")
    print(f"  of which until the page's script finished on the server: median {result['script_median_s']} s, "
          f"p95 {result['script_p95_s']} s (the rest is the browsers drawing)")
    print(f"server CPU: {result['server_cpu_s']} s in all, {result['server_cpu_s_per_visit']} s per visit")
    for name, figures in [*((k + "s", f) for k, f in result["per_kind"].items()), *result["per_page"].items()]:
        print(f"  {name:16} {figures['visits']:4} visits  median {figures['median_s']:6.2f} s  p95 {figures['p95_s']:6.2f} s")
    rss = result["server_rss_mib"]
    print(f"server memory (RSS): idle {rss['idle']} MiB, peak {rss['peak']} MiB, end {rss['end']} MiB; "
          f"peak by quarter of the run {rss['by_quarter']} MiB")
    for failure in result["failures"]:
        print(f"  failure: {failure}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    if result["visits_failed"] or result["visitors_with_a_drawn_chart"] < result["visitors"]:
        raise SystemExit(1)  # the acceptance: every visitor got a drawn chart, no visit failed


if __name__ == "__main__":
    main()
