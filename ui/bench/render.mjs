// Benchmark (not a test): how long the sessions list takes to show 10,000 sessions, on the web
// build with the mock backend (`?mock-sessions=N`), in Debian's Chromium through Playwright, as
// the web-e2e suite runs it. The mock answers `listSessions` 1 s after the start
// (`mock-list-delay`), once the page has painted and settled (else the app's own first frame is
// counted). Timed from the moment the store receives the sessions (the mark the
// mock's `listSessions` sets as it answers) to the next paint of the list (the marker
// SessionList.svelte sets in the first animation frame after the loaded rows, plus a task, so the
// frame's style, layout and paint are included). Baseline: 100 sessions, interleaved in the same
// run. Run by tests/bench/app.sh (`make bench-app`); alone: `node ui/bench/render.mjs`.
//
// Periodic work is held while measuring: the page's setInterval callbacks (the 1 s countdown clock
// and the mock's deadline ticker) do nothing, else a countdown tick that falls due during a long
// render runs before the marker and is counted too. One countdown tick (every row's time left
// re-rendered, then painted) is timed apart and printed as a note.
//
// BENCH_RENDER_ROUNDS (default 5), BENCH_RENDER_N (default 10000), BENCH_RENDER_BASE_N (100).
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { chromium } from "@playwright/test";

import { fmt, median, report } from "../../tests/bench/report.mjs";

const ui = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const rounds = Number(process.env.BENCH_RENDER_ROUNDS ?? 5);
const big = Number(process.env.BENCH_RENDER_N ?? 10000);
const small = Number(process.env.BENCH_RENDER_BASE_N ?? 100);
const GOAL_MS = 100;
const MARK = "porthole-mock-sessions-listed";
const LIST_DELAY_MS = 1000;

function freePort() {
  return new Promise((ok, fail) => {
    const srv = net.createServer();
    srv.once("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

async function waitForHttp(url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

/** In the page, before the app: setInterval callbacks are kept, and skipped while held. */
function holdIntervals() {
  const setInterval = window.setInterval;
  window.__benchHold = true;
  window.__benchIntervals = [];
  window.setInterval = function (callback, ms, ...args) {
    if (typeof callback !== "function") return setInterval.call(this, callback, ms, ...args);
    window.__benchIntervals.push({ callback, ms, args });
    return setInterval.call(this, (...a) => (window.__benchHold ? undefined : callback(...a)), ms, ...args);
  };
}

/** In the page: runs the 1 s interval (the countdown clock) once; ms until the next paint. */
function timeClockTick() {
  const clock = window.__benchIntervals.find((i) => i.ms === 1000);
  if (!clock) return Promise.resolve(undefined);
  const start = performance.now();
  clock.callback(...clock.args);
  return new Promise((done) => requestAnimationFrame(() => setTimeout(() => done(performance.now() - start))));
}

/**
 * Loads the list with `n` sessions in a fresh page; returns the receive → paint time in ms and
 * the time of one countdown tick.
 */
async function measure(browser, base, n) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.addInitScript(holdIntervals);
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  try {
    await page.goto(`${base}/?mock-sessions=${n}&mock-list-delay=${LIST_DELAY_MS}`);
    await page.waitForFunction(() => window.__portholeListPaintedAt !== undefined, null, { timeout: 120_000 });
    const got = await page.evaluate((mark) => {
      const listed = performance.getEntriesByName(mark)[0];
      return {
        painted: window.__portholeListPaintedAt,
        listed: listed ? performance.timeOrigin + listed.startTime : undefined,
        // A windowed list (over 200 rows) renders only what is visible: count its aria-rowcount
        // (minus the header row) instead.
        rows: (() => {
          const count = Number(document.querySelector('[data-testid="session-list"] table')?.getAttribute("aria-rowcount") ?? 0);
          return count > 1 ? count - 1 : document.querySelectorAll('[data-testid="session-row"]').length;
        })(),
      };
    }, MARK);
    if (errors.length) throw new Error(`page errors: ${errors.join("; ")}`);
    if (got.listed === undefined) throw new Error(`no "${MARK}" mark: is the mock backend current?`);
    if (got.rows !== n) throw new Error(`${got.rows} rows shown, expected ${n}`);
    return { render: got.painted - got.listed, tick: await page.evaluate(timeClockTick) };
  } finally {
    await context.close();
  }
}

const out = mkdtempSync(join(tmpdir(), "porthole-bench-ui."));
let server;
let browser;
try {
  // Its own output folder, so a web-e2e run at the same time keeps its dist-web.
  const built = spawnSync(
    "npx",
    ["vite", "build", "--mode", "mock", "--logLevel", "warn", "--outDir", out, "--emptyOutDir"],
    { cwd: ui, stdio: "inherit" },
  );
  if (built.status !== 0) throw new Error("vite build --mode mock failed");
  const port = await freePort();
  server = spawn(
    "npx",
    ["vite", "preview", "--mode", "mock", "--outDir", out, "--host", "127.0.0.1", "--port", `${port}`, "--strictPort"],
    { cwd: ui, stdio: ["ignore", "ignore", "inherit"], detached: true },
  );
  const base = `http://127.0.0.1:${port}`;
  await waitForHttp(base, 30_000);
  browser = await chromium.launch({
    executablePath: process.env.BENCH_CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--no-first-run"],
  });
  // A warm-up of each size (JIT, caches), not counted; then interleaved rounds.
  await measure(browser, base, small);
  await measure(browser, base, big);
  const times = { [small]: [], [big]: [] };
  const ticks = { [small]: [], [big]: [] };
  for (let r = 0; r < rounds; r++) {
    for (const n of [small, big]) {
      const { render, tick } = await measure(browser, base, n);
      times[n].push(render);
      ticks[n].push(tick);
    }
  }
  const baseline = median(times[small]);
  const value = median(times[big]);
  report({
    n: 4,
    what:
      `render ${big.toLocaleString("en")} sessions, store receives → list painted ` +
      `(web build, mock, Chromium ${browser.version()})`,
    value,
    unit: "ms",
    detail: `median of ${rounds}, max ${fmt(Math.max(...times[big]), "ms")}; ${fmt(value / big * 1000, "µs")} per row`,
    goal: GOAL_MS,
    baseline,
    baselineWhat: `${small} sessions, median`,
    note: value > GOAL_MS
      ? "every row is a full SessionRow in the DOM: windowed (virtual) rendering of the visible rows would bound this"
      : undefined,
  });
  console.log(
    `      note: one 1 s countdown tick (every row's time left and deadline re-rendered, painted) takes ` +
      `${fmt(median(ticks[big]), "ms")} with ${big.toLocaleString("en")} rows, ${fmt(median(ticks[small]), "ms")} ` +
      `with ${small} (medians; not a goal)`,
  );
} finally {
  await browser?.close().catch(() => {});
  if (server?.pid) {
    try {
      process.kill(-server.pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
  rmSync(out, { recursive: true, force: true });
}
