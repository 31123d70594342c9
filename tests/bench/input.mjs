// Input latency, key press → character painted, in the app's main window and in the floor (a
// bare WebKitGTK window, tests/bench/floor.py in its "input" mode), measured the same way: a real
// X key event from xdotool into the focused window, timed from just before xdotool runs to the
// frame after the field's `input` event (requestAnimationFrame, then a task: the same marker the
// list's first paint uses). Both clocks are this machine's wall clock. Both windows are open at
// once and typed into in turns. `load` runs the same keys again while a busy loop holds each
// core, as on the loaded machine where typing lagged.
import { spawn, spawnSync } from "node:child_process";
import { cpus } from "node:os";

import { median } from "./report.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Whether xdotool is here (make deps installs it). */
export function haveXdotool() {
  return spawnSync("xdotool", ["version"]).status === 0;
}

/** Raises the window titled exactly `title` and gives it the X input focus (no window manager
 * under Xvfb). */
function focusWindow(title) {
  const found = spawnSync("xdotool", ["search", "--onlyvisible", "--name", `^${title}$`], { encoding: "utf8" });
  const id = found.stdout.trim().split("\n").filter(Boolean).at(-1);
  if (!id) throw new Error(`no X window titled ${title}`);
  spawnSync("xdotool", ["windowraise", id]);
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

/** What is typed into each field, over and over: a word every Local terminal's name has, so
 * that the list keeps its rows while each key filters them again (and the floor's field gets the
 * same characters). Between words the field is emptied (Ctrl+A, BackSpace), not measured. */
const WORD = "terminal";

/**
 * Types `keys` keys into `target`, one at a time, each after the last was painted;
 * `target.paintedAfter(i)` resolves with the times (epoch ms) of its i-th (0-based) change:
 * `[painted, stamped, handled]`, the frame after its input event, the keydown event's own time
 * stamp and when the page's keydown handler ran. It is asked before the key is sent (and given
 * the pause between keys to be in place), so that nothing reads the window while it handles the
 * key. Appends the latencies, ms, to `into` (to the paint, to the stamp, to the handler).
 */
async function typeKeys(target, keys, into) {
  for (let i = 0; i < keys; i++) {
    if (target.at === WORD.length) {
      const emptied = target.paintedAfter(target.typed++);
      await sleep(40);
      pressKey("ctrl+a");
      pressKey("BackSpace");
      await emptied;
      target.at = 0;
    }
    const times = target.paintedAfter(target.typed++);
    // Keys a person types, not a burst: each after a short pause.
    await sleep(40);
    const sent = pressKey(WORD[target.at++]);
    const [painted, stamped, handled] = await times;
    into.painted.push(painted - sent);
    into.stamped.push(stamped - sent);
    into.handled.push(handled - sent);
  }
}

const summary = (l) => ({
  median: median(l.painted),
  max: Math.max(...l.painted),
  stamped: median(l.stamped),
  handled: median(l.handled),
});

/**
 * Types `keys` keys into each of `targets` ({name: {title, paintedAfter}}, windows open side by
 * side), unloaded and then under load: in turns of `turn` keys, each window in turn given the
 * keyboard, so that both see the same machine (its drift over a run is shared, not one side's).
 * Returns per name {idle, loaded}: the median and max latency to the paint, and the medians to
 * the event's stamp and to its handler (ms).
 */
export async function measureInput(targets, { keys, turn = 10, load }) {
  const names = Object.keys(targets);
  const empty = () => ({ painted: [], stamped: [], handled: [] });
  const out = Object.fromEntries(names.map((n) => [n, { idle: empty(), loaded: empty() }]));
  for (const name of names) Object.assign(targets[name], { typed: 0, at: 0 });
  const phase = async (which) => {
    for (let done = 0; done < keys; done += turn) {
      for (const name of names) {
        focusWindow(targets[name].title);
        // The window raised and focused paints once (its caret, its focus ring): let it settle.
        await sleep(150);
        await typeKeys(targets[name], Math.min(turn, keys - done), out[name][which]);
      }
    }
  };
  await phase("idle");
  if (load) {
    const stop = busyLoops();
    try {
      await sleep(500);
      await phase("loaded");
    } finally {
      stop();
    }
  }
  return Object.fromEntries(
    names.map((n) => [n, { idle: summary(out[n].idle), loaded: load ? summary(out[n].loaded) : null }]),
  );
}

// The page keeps each key's times, and hands them to whoever waits for them (WAIT): one
// WebDriver call per key, made before the key, and nothing polling the window while it handles
// one (the floor's page reports its keys the same way, by a message).
const INSTALL = `
  const field = document.querySelector('[data-testid="session-filter"]');
  if (!field) return false;
  const now = () => performance.timeOrigin + performance.now();
  window.__keyPaintedAt = [];
  window.__keyWaiters = new Map();
  let down = [NaN, NaN];
  field.addEventListener("keydown", (e) => { down = [performance.timeOrigin + e.timeStamp, now()]; });
  field.addEventListener("input", () => {
    const key = down;
    requestAnimationFrame(() => setTimeout(() => {
      const i = window.__keyPaintedAt.length;
      window.__keyPaintedAt.push([now(), ...key]);
      window.__keyWaiters.get(i)?.(window.__keyPaintedAt[i]);
      window.__keyWaiters.delete(i);
    }));
  });
  field.value = "";
  field.focus();
  return true;`;

const WAIT = `
  const [i, done] = arguments;
  const at = window.__keyPaintedAt[i];
  if (at !== undefined) done(at);
  else window.__keyWaiters.set(i, done);`;

/** The app's main window (already showing its list) as a target: its sessions filter. */
export async function appInput(app) {
  await app.driver.switchTo(app.mainHandle);
  if (!(await app.driver.execute(INSTALL))) throw new Error("the sessions filter is not on screen");
  return { title: "Porthole", paintedAfter: (i) => app.driver.executeAsync(WAIT, [i]) };
}

/** Empties the app's filter again (what was typed would hide sessions from the next part). */
export async function clearAppInput(app) {
  await app.driver.execute(`const f = document.querySelector('[data-testid="session-filter"]');
    f.value = ""; f.dispatchEvent(new Event("input", { bubbles: true }));`);
}

/** The floor's window in input mode as a target: `lines` gives its stdout ("KEY <painted>
 * <stamped> <handled>", epoch ms, per key). */
export function floorInput(lines) {
  const painted = [];
  const waiting = new Map();
  lines.on("line", (line) => {
    if (!line.startsWith("KEY ")) return;
    painted.push(line.slice(4).split(" ").map(Number));
    waiting.get(painted.length - 1)?.(painted.at(-1));
  });
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
  return { title: "floor", paintedAfter };
}
