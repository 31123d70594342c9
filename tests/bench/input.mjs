// Input latency, key press → character painted, in the app's main window and in the floor (a
// bare WebKitGTK window, tests/bench/floor.py in its "input" mode), measured the same way: a real
// X key event from xdotool into the focused window, timed from just before xdotool runs to the
// frame after the field's `input` event (requestAnimationFrame, then a task: the same marker the
// list's first paint uses). Both clocks are this machine's wall clock. `load` runs the same keys
// again while a busy loop holds each core, as on the loaded machine where typing lagged.
import { spawn, spawnSync } from "node:child_process";
import { cpus } from "node:os";

import { poll } from "../e2e/harness.mjs";
import { median } from "./report.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Whether xdotool is here (make deps installs it). */
export function haveXdotool() {
  return spawnSync("xdotool", ["version"]).status === 0;
}

/** Gives the X input focus to the window titled exactly `title` (no window manager under Xvfb). */
export function focusWindow(title) {
  const found = spawnSync("xdotool", ["search", "--name", `^${title}$`], { encoding: "utf8" });
  const id = found.stdout.trim().split("\n").filter(Boolean).at(-1);
  if (!id) throw new Error(`no X window titled ${title}`);
  spawnSync("xdotool", ["windowfocus", "--sync", id]);
  return id;
}

/** One key press now; resolves with the wall-clock time just before it was sent. */
function pressKey(key) {
  const sent = performance.timeOrigin + performance.now();
  const result = spawnSync("xdotool", ["key", key]);
  if (result.status !== 0) throw new Error(`xdotool key ${key} failed`);
  return sent;
}

/** `count` busy loops, one per core by default; returns the stop. */
function busyLoops(count = cpus().length) {
  const children = Array.from({ length: count }, () =>
    spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" }),
  );
  return () => children.forEach((c) => c.kill("SIGKILL"));
}

/**
 * Types `keys` keys, one at a time, each after the last was painted; `paintedAfter(i)` resolves
 * with the epoch ms at which the i-th (0-based) was painted. Returns the latencies, ms.
 */
async function typeKeys(keys, paintedAfter) {
  const latencies = [];
  for (let i = 0; i < keys; i++) {
    const sent = pressKey(i % 2 ? "b" : "a");
    latencies.push((await paintedAfter(i)) - sent);
    // Keys a person types, not a burst: the next after a short pause.
    await sleep(40);
  }
  return latencies;
}

/** Both figures (ms, median and max of `keys` presses): unloaded, then under `load`. */
async function measure(keys, paintedAfter, load) {
  const idle = await typeKeys(keys, paintedAfter);
  let loaded = [];
  if (load) {
    const stop = busyLoops();
    try {
      await sleep(500);
      loaded = await typeKeys(keys, (i) => paintedAfter(keys + i));
    } finally {
      stop();
    }
  }
  const summary = (xs) => (xs.length ? { median: median(xs), max: Math.max(...xs) } : null);
  return { idle: summary(idle), loaded: summary(loaded) };
}

const INSTALL = `
  const field = document.querySelector('[data-testid="session-filter"]');
  if (!field) return false;
  window.__keyPaintedAt = [];
  field.addEventListener("input", () =>
    requestAnimationFrame(() => setTimeout(() => window.__keyPaintedAt.push(performance.timeOrigin + performance.now()))));
  field.value = "";
  field.focus();
  return true;`;

/** The app's main window (already showing its list): the sessions filter is the field typed in. */
export async function measureAppInput(app, { keys, load }) {
  await app.driver.switchTo(app.mainHandle);
  if (!(await app.driver.execute(INSTALL))) throw new Error("the sessions filter is not on screen");
  focusWindow("Porthole");
  const paintedAfter = (i) =>
    poll(`key ${i + 1} painted`, 10000, async () => {
      const at = await app.driver.execute(`return window.__keyPaintedAt[${i}] ?? null`);
      return at ?? undefined;
    }, 5);
  const result = await measure(keys, paintedAfter, load);
  await app.driver.execute(`const f = document.querySelector('[data-testid="session-filter"]');
    f.value = ""; f.dispatchEvent(new Event("input", { bubbles: true }));`);
  return result;
}

/** The floor's window in input mode: `lines` gives its stdout ("KEY <epoch ms>" per paint). */
export async function measureFloorInput(lines, { keys, load }) {
  const painted = [];
  const waiting = new Map();
  lines.on("line", (line) => {
    if (!line.startsWith("KEY ")) return;
    painted.push(Number(line.slice(4)));
    waiting.get(painted.length - 1)?.(painted.at(-1));
  });
  focusWindow("floor");
  const paintedAfter = (i) =>
    i < painted.length
      ? Promise.resolve(painted[i])
      : new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`key ${i + 1} not painted in 10 s`)), 10000);
          waiting.set(i, (at) => {
            clearTimeout(timer);
            resolve(at);
          });
        });
  return measure(keys, paintedAfter, load);
}
