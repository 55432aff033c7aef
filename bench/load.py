"""Load benchmark: N simultaneous visitors on the public site, for a fixed time, on loopback.

    python bench/load.py [--visitors 12] [--duration 60] [--reload]
    python bench/load.py --protocol [--sessions 50] [--replicas 1,2] [--ramp 0] [--navigate]

`--protocol`: no browsers. For each replica count, starts `python -m measures serve --public
--replicas N` (HAProxy in front of N servers, all on loopback), warms every replica (one visit to
each page, through the proxy with that replica's cookie), then opens `--sessions` Streamlit
sessions over the WebSocket (measures/ui/stream_client.py: the page's address, its cookies, then
`rerun_script` with the page and query string, as a browser sends them), started together (or
spread over `--ramp` seconds), each arriving on a different page (`--navigate`: then clicking
through the other pages). A page counts when its script finished and every element was received.
Prints p50/p95 per page and overall, sessions finished, each replica's CPU and RSS and the proxy's,
and the replica counts side by side. Bounded: at most 200 sessions, 120 s a page.

Browser mode (the default):

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
import random
import statistics
import subprocess
import sys
import tempfile
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
        self.pid, self.every_s = pid, every_s
        self.samples: list[tuple[float, float]] = []
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


# ---------------------------------------------------------------------- protocol mode (no browsers)

PAGE_TIMEOUT_S = 120.0
MAX_SESSIONS = 200


def process_name(pid: int) -> str:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    return "haproxy" if b"haproxy" in argv[0] else "replica"


class Deployment:
    """`python -m measures serve --public --replicas N` on a free loopback port, stopped by SIGTERM."""

    def __init__(self, replicas: int, data_dir: str | None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        argv = [sys.executable, "-m", "measures", "serve", "--public", "--replicas", str(replicas), "--port", str(self.port)]
        if data_dir:
            argv += ["--data-dir", str(Path(data_dir).resolve())]
        self.log = Path(tempfile.mkstemp(prefix="measures-load-serve-", suffix=".log")[1])  # removed by stop()
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(argv, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 300
        while "serving " not in self.log.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = self.log.read_text()[-2000:]
                self.stop()
                raise SystemExit("serve --replicas did not start:\n" + tail)
            time.sleep(0.5)
        self.pids = {pid: process_name(pid) for pid in serve.children_of(self.process.pid)}
        self.replica_pids = [pid for pid, name in self.pids.items() if name == "replica"]
        self.proxy_pids = [pid for pid, name in self.pids.items() if name == "haproxy"]

    def stop(self) -> None:
        serve.stop_processes([("serve", self.process)], timeout=60)
        self.log.unlink(missing_ok=True)


async def warm(base: str, replicas: int) -> tuple[list[str], float]:
    """One visitor per replica (its cookie) through every page the navigation lists; returns the pages."""
    from measures.ui import serve
    from measures.ui.stream_client import Session

    started = time.monotonic()
    pages: list[str] = []
    for number in range(1, replicas + 1):
        session = Session(base, cookies={serve.REPLICA_COOKIE: f"r{number}"})
        try:
            first = await asyncio.wait_for(session.open(""), PAGE_TIMEOUT_S)
            if not first.ok or first.replica != f"r{number}":
                raise SystemExit(f"warm-up of r{number} failed: {first}")
            pages = [path for path in session.pages if path] or pages
            for path in pages:
                await asyncio.wait_for(session.navigate(path), PAGE_TIMEOUT_S)
        finally:
            await session.close()
    return ["", *pages], time.monotonic() - started


def arrival_pages(pages: list[str], sessions: int) -> list[int]:
    """Which page each session arrives on: every page equally often, in a fixed shuffled order. Not
    session n on page n mod pages: the proxy hands new visitors to the replicas in turn, so with 2
    replicas and 8 pages one replica would get only the even pages and the other only the odd ones."""
    order = [number % len(pages) for number in range(sessions)]
    random.Random(16).shuffle(order)
    return order


async def protocol_session(number: int, base: str, pages: list[str], first_index: int, delay: float,
                           navigate: bool) -> list[dict]:
    """One visitor: arrives on pages[first_index], then optionally clicks through the rest."""
    from measures.ui.stream_client import PageRun, Session

    await asyncio.sleep(delay)
    first = pages[first_index]
    session = Session(base)
    runs: list[tuple[str, PageRun]] = []
    started = time.monotonic()
    try:
        runs.append(("arrival", await asyncio.wait_for(session.open(first), PAGE_TIMEOUT_S)))
        if navigate and runs[0][1].ok:
            for path in pages[first_index + 1:] + pages[:first_index]:
                runs.append(("navigation", await asyncio.wait_for(session.navigate(path), PAGE_TIMEOUT_S)))
    except Exception as exc:  # a timeout or a refused connection is a failed page; the run goes on
        runs.append(("arrival" if not runs else "navigation",
                     PageRun(page=first or "(overview)", seconds=time.monotonic() - started, replica=session.replica,
                             error=f"{type(exc).__name__}: {exc}"[:160])))
    finally:
        await session.close()
    return [{"session": number, "kind": kind, "page": run.page, "ok": run.ok, "seconds": run.seconds,
             "first_element_s": run.first_element_s, "elements": run.elements, "references": run.references,
             "bytes": run.bytes_received, "replica": run.replica,
             "error": run.error or (f"{run.exceptions} exception(s)" if run.exceptions else None)} for kind, run in runs]


def summary(seconds: list[float]) -> dict:
    return {"n": len(seconds), "p50_s": round(statistics.median(seconds), 2) if seconds else None,
            "p95_s": round(percentile(seconds, 0.95), 2) if seconds else None,
            "max_s": round(max(seconds), 2) if seconds else None}


def run_protocol(replicas: int, sessions: int, data_dir: str | None, ramp: float, navigate: bool) -> dict:
    deployment = Deployment(replicas, data_dir)
    try:
        pages, warm_s = asyncio.run(warm(deployment.base, replicas))
        samplers = {pid: MemorySampler(pid) for pid in deployment.pids}
        idle = {pid: rss_mib(pid) or 0.0 for pid in deployment.pids}
        cpu_before = {pid: cpu_seconds(pid) for pid in deployment.pids}
        client_before = sum(os.times()[:2])
        for sampler in samplers.values():
            sampler.start()
        load_before = os.getloadavg()
        started = time.monotonic()

        firsts = arrival_pages(pages, sessions)

        async def crowd() -> list[list[dict]]:
            return await asyncio.gather(*(protocol_session(n, deployment.base, pages, firsts[n], ramp * n / sessions,
                                                           navigate) for n in range(sessions)))

        records = [record for session in asyncio.run(crowd()) for record in session]
        elapsed = time.monotonic() - started
        cpu = {pid: cpu_seconds(pid) - cpu_before[pid] for pid in deployment.pids}
        client_cpu = sum(os.times()[:2]) - client_before
        for sampler in samplers.values():
            sampler.stopped.set()
    finally:
        deployment.stop()
    ok = [r for r in records if r["ok"]]
    finished = {r["session"] for r in records if r["kind"] == "arrival" and r["ok"]}

    def memory(pids: list[int]) -> list[dict]:
        return [{"idle_mib": round(idle[pid]), "peak_mib": round(max((v for _, v in samplers[pid].samples), default=0))}
                for pid in pids]

    return {
        "replicas": replicas, "sessions": sessions, "ramp_s": ramp, "navigate": navigate, "pages": pages,
        "warm_up_s": round(warm_s, 1), "elapsed_s": round(elapsed, 1),
        "load_before": round(load_before[0], 2), "load_after": round(os.getloadavg()[0], 2),
        "sessions_finished": len(finished), "pages_ok": len(ok), "pages_failed": len(records) - len(ok),
        "all": summary([r["seconds"] for r in ok]),
        "arrivals": summary([r["seconds"] for r in ok if r["kind"] == "arrival"]),
        "navigations": summary([r["seconds"] for r in ok if r["kind"] == "navigation"]),
        "first_element": summary([r["first_element_s"] for r in ok if r["first_element_s"] is not None]),
        "per_page": {page or "(overview)": summary([r["seconds"] for r in ok if r["page"] == (page or "(overview)")])
                     for page in pages},
        "sessions_per_replica": {name: sum(1 for r in records if r["kind"] == "arrival" and r["replica"] == name)
                                 for name in sorted({str(r["replica"]) for r in records})},
        "received_mib": round(sum(r["bytes"] for r in records) / 2**20, 1),
        "elements": sum(r["elements"] for r in records), "references": sum(r["references"] for r in records),
        "replica_cpu_s": [round(cpu[pid], 1) for pid in deployment.replica_pids],
        "proxy_cpu_s": round(sum(cpu[pid] for pid in deployment.proxy_pids), 2),
        "client_cpu_s": round(client_cpu, 1),
        "replica_rss": memory(deployment.replica_pids),
        "proxy_rss": memory(deployment.proxy_pids),
        "failures": sorted({f"{r['page']}: {r['error']}" for r in records if not r["ok"]})[:10],
    }


def print_side_by_side(results: list[dict]) -> None:
    def cell(figures: dict) -> str:
        return f"{figures['p50_s']} / {figures['p95_s']} s (n={figures['n']})" if figures["n"] else "-"

    columns = [f"{r['replicas']} replica{'s' if r['replicas'] > 1 else ''}" for r in results]
    rows: list[tuple[str, list[str]]] = [
        ("load average before / after", [f"{r['load_before']} / {r['load_after']}" for r in results]),
        ("warm-up (every page, each replica)", [f"{r['warm_up_s']} s" for r in results]),
        ("run time", [f"{r['elapsed_s']} s" for r in results]),
        ("sessions finished", [f"{r['sessions_finished']} of {r['sessions']}" for r in results]),
        ("pages ok / failed", [f"{r['pages_ok']} / {r['pages_failed']}" for r in results]),
        ("finished page p50 / p95", [cell(r["all"]) for r in results]),
        ("  arrivals", [cell(r["arrivals"]) for r in results]),
        ("  navigations", [cell(r["navigations"]) for r in results]),
        ("  first element", [cell(r["first_element"]) for r in results]),
        *((f"  {page or '(overview)'}", [cell(r["per_page"].get(page or "(overview)", {"n": 0})) for r in results])
          for page in results[0]["pages"]),
        ("sessions per replica", [", ".join(f"{k} {v}" for k, v in r["sessions_per_replica"].items()) for r in results]),
        ("server CPU (replicas)", [f"{sum(r['replica_cpu_s']):.1f} s = {' + '.join(map(str, r['replica_cpu_s']))}"
                                   for r in results]),
        ("server CPU per page", [f"{sum(r['replica_cpu_s']) / max(1, r['pages_ok'] + r['pages_failed']):.2f} s"
                                 for r in results]),
        ("  as cores used over the run", [f"{sum(r['replica_cpu_s']) / max(r['elapsed_s'], 0.1):.2f}" for r in results]),
        ("server RSS idle -> peak (MiB)", [", ".join(f"{m['idle_mib']}->{m['peak_mib']}" for m in r["replica_rss"])
                                           for r in results]),
        ("proxy CPU / RSS peak", [f"{r['proxy_cpu_s']} s / {sum(m['peak_mib'] for m in r['proxy_rss'])} MiB"
                                  for r in results]),
        ("client CPU (this process)", [f"{r['client_cpu_s']} s" for r in results]),
        ("received", [f"{r['received_mib']} MiB" for r in results]),
        ("elements (as references to held ones)", [f"{r['elements']} ({r['references']})" for r in results]),
    ]
    width = max(len(name) for name, _ in rows)
    widths = [max(len(columns[i]), *(len(values[i]) for _, values in rows)) for i in range(len(columns))]
    print(f"{'':{width}}  " + "  ".join(f"{c:>{w}}" for c, w in zip(columns, widths, strict=True)))
    for name, values in rows:
        print(f"{name:{width}}  " + "  ".join(f"{v:>{w}}" for v, w in zip(values, widths, strict=True)))
    if len(results) > 1 and results[0]["all"]["p95_s"] and results[-1]["all"]["p95_s"]:
        print(f"p95 ratio {columns[0]} / {columns[-1]}: {results[0]['all']['p95_s'] / results[-1]['all']['p95_s']:.2f}x; "
              f"p50 ratio: {results[0]['all']['p50_s'] / results[-1]['all']['p50_s']:.2f}x")
    for r in results:
        for failure in r["failures"]:
            print(f"  failure ({r['replicas']} replicas): {failure}")


def main_protocol(args: argparse.Namespace) -> None:
    from measures.ui import serve

    if serve.haproxy_binary() is None:
        raise SystemExit("--protocol runs `serve --replicas`, which needs HAProxy (apt-get install haproxy)")
    sessions = max(1, min(args.sessions, MAX_SESSIONS))
    counts = [max(1, min(int(n), 8)) for n in args.replicas.split(",")]
    ramp = max(0.0, min(args.ramp, 600.0))
    print(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}; {sessions} sessions "
          f"{'at once' if not ramp else f'spread over {ramp:.0f} s'}, "
          f"{'arrival then every other page' if args.navigate else 'one page each (arrival)'}; "
          "replicas behind HAProxy on loopback, warmed first", flush=True)
    results = []
    for count in counts:
        results.append(run_protocol(count, sessions, args.data_dir, ramp, args.navigate))
        print(f"{count} replica(s) done: {results[-1]['sessions_finished']} of {sessions} sessions finished, "
              f"p95 {results[-1]['all']['p95_s']} s", flush=True)
    print_side_by_side(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    if any(r["pages_failed"] or r["sessions_finished"] < r["sessions"] for r in results):
        raise SystemExit(1)  # the acceptance: every session finishes


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
    parser.add_argument("--protocol", action="store_true",
                        help="no browsers: Streamlit sessions over the WebSocket, against serve --replicas")
    parser.add_argument("--sessions", type=int, default=50, help="--protocol: sessions (at most 200)")
    parser.add_argument("--replicas", default="1,2", help="--protocol: replica counts to compare (default 1,2)")
    parser.add_argument("--ramp", type=float, default=0.0,
                        help="--protocol: start the sessions evenly over this many seconds (default 0: together)")
    parser.add_argument("--navigate", action="store_true",
                        help="--protocol: after arriving, each session clicks through every other page")
    args = parser.parse_args()
    if args.protocol:
        main_protocol(args)
        return
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
