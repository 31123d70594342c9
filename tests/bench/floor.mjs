// The floor under the desktop benchmark's figures: a bare WebKitGTK window (tests/bench/floor.py,
// Debian's python3-gi; no Tauri, no Porthole) with the main window's settings, showing two lines
// of text. Measured like the app: spawn → painted (median of `runs`), then PSS of it and its
// WebKit processes after `idleMs`, and their CPU over `cpuMs`. Skipped, with the reason, when
// python3-gi or WebKit2's typelib is missing (make bench-app installs them).
import { spawn, spawnSync } from "node:child_process";
import { createInterface } from "node:readline";
import { join } from "node:path";

import { root } from "../e2e/harness.mjs";
import { bootEpochMs, CLK_TCK, cpuTicks, descendants, memory, startEpochMs } from "./procs.mjs";
import { median } from "./report.mjs";

const PYTHON = "/usr/bin/python3";
const SCRIPT = join(root, "tests/bench/floor.py");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Why the floor cannot be measured here, or null. */
export function missing() {
  const probe = spawnSync(PYTHON, ["-c", "import gi; gi.require_version('WebKit2', '4.1')"], { encoding: "utf8" });
  if (probe.error) return `${PYTHON} is missing`;
  return probe.status === 0 ? null : "python3-gi or gir1.2-webkit2-4.1 is missing";
}

/** Starts the bare window (`mode` "input": with a focused text field); resolves when it has
 * painted, with its stdout's lines. */
export async function startFloor(mode) {
  const child = spawn(PYTHON, [SCRIPT, ...(mode ? [mode] : [])], { stdio: ["pipe", "pipe", "ignore"] });
  const spawned = startEpochMs(child.pid, bootEpochMs());
  const lines = createInterface({ input: child.stdout });
  const painted = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the bare WebKitGTK window did not paint in 30 s")), 30000);
    child.on("exit", (code) => reject(new Error(`floor.py exited with ${code} before painting`)));
    lines.on("line", (line) => {
      if (!line.startsWith("PAINTED ")) return;
      clearTimeout(timer);
      const [at, navigation] = line.slice("PAINTED ".length).split(" ").map(Number);
      resolve({ at, navigation });
    });
  });
  return { child, lines, ms: painted.at - spawned, navigation: painted.navigation - spawned };
}

export async function stopFloor(child) {
  const gone = new Promise((resolve) => child.once("exit", resolve));
  child.stdin.end();
  await Promise.race([gone, sleep(5000).then(() => child.kill("SIGKILL"))]);
}

/** Measures the floor: { coldMs, coldMax, navigationMs, pss, byComm, cpu } in ms, MB and % of a core, or { skipped }. */
export async function measureFloor({ runs, idleMs, cpuMs }) {
  const why = missing();
  if (why) return { skipped: why };
  const starts = [];
  const navigations = [];
  for (let i = 0; i <= runs; i++) {
    const { child, ms, navigation } = await startFloor();
    if (i > 0) {
      // The first start warms the file cache, as the app's does.
      starts.push(ms);
      navigations.push(navigation);
    }
    await stopFloor(child);
  }
  const { child } = await startFloor();
  try {
    await sleep(idleMs);
    const procs = [{ pid: child.pid, comm: "ui (python)" }, ...descendants(child.pid)];
    const per = procs.map((p) => ({ comm: p.comm, ...memory(p.pid) }));
    const pss = per.reduce((a, p) => a + p.pss, 0) / 1024;
    const byComm = per.map((p) => `${p.comm} ${Math.round(p.pss / 1024)} MB`).join(", ");
    const pids = procs.map((p) => p.pid);
    const sum = (ticks) => [...ticks.values()].filter(Number.isFinite).reduce((a, b) => a + b, 0);
    const t0 = sum(cpuTicks(pids));
    const h0 = process.hrtime.bigint();
    await sleep(cpuMs);
    const wall = Number(process.hrtime.bigint() - h0) / 1e9;
    const cpu = ((sum(cpuTicks(pids)) - t0) / CLK_TCK / wall) * 100;
    const coldMs = median(starts);
    const navigationMs = median(navigations);
    return { coldMs, coldMax: Math.max(...starts), navigationMs, pss, byComm, cpu };
  } finally {
    await stopFloor(child);
  }
}
