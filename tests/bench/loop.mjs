// Click Launch → a usable Local terminal, step by step, each against its own floor:
//
//  - the app: the click on the launch dialog's Launch (the page's clock) → launched and ready (the
//    session's history, the app's clock) → its window loading the session's page (that page's
//    navigation start; the window itself may have been made, hidden, right after the launch) →
//    the terminal showing text in it (the prompt; polled through WebDriver every 10 ms);
//  - floor 1: the same terminal process started directly (`APP __portholed-terminal`), spawn →
//    its page answering over HTTP;
//  - floor 2: a bare WebKitGTK window (tests/bench/floor.py) opening that running terminal's page,
//    spawn → the terminal showing text.
//
// All clocks are this machine's wall clock (epoch ms).
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import { join } from "node:path";

import { poll, root } from "../e2e/harness.mjs";
import { bootEpochMs, startEpochMs } from "./procs.mjs";
import { median } from "./report.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.timeOrigin + performance.now();

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const RECORD_CLICK = `
  window.__launchClickAt = null;
  document.addEventListener("click", (e) => {
    if (e.target.closest?.('[data-testid="launch-submit"]')) window.__launchClickAt = performance.timeOrigin + performance.now();
  }, { capture: true, once: true });
  return true;`;

/** One launch through the dialog, timed; stops the session after. */
async function appLoopOnce(app) {
  const { driver } = app;
  await driver.switchTo(app.mainHandle);
  const inMain = (script) => driver.execute(script);
  await inMain(`document.querySelector('[data-testid="launch-open"]').click(); return true;`);
  await poll("the launch form with its machines", 20000, async () =>
    (await inMain(`const b = document.querySelector('[data-testid="launch-submit"]'); return !!b && !b.disabled;`))
      ? true
      : undefined, 10);
  const machine = await inMain(`return document.querySelector('[data-testid="launch-machine"]')?.selectedOptions[0]?.textContent ?? ""`);
  if (!/terminal/.test(machine)) throw new Error(`the launch form offers ${machine}, not the terminal`);
  const before = new Set(await driver.windowHandles());
  await inMain(RECORD_CLICK);
  await inMain(`document.querySelector('[data-testid="launch-submit"]').click(); return true;`);
  // The window may come before the session is ready (made ahead, hidden, on about:blank): the
  // prompt is looked for in it until its page shows one (a script run while the page changes may
  // fail: the next look tells).
  const handle = await poll("the session's window", 30000, async () =>
    (await driver.windowHandles()).find((h) => !before.has(h)), 10);
  await driver.switchTo(handle);
  const promptAt = await poll("the terminal's prompt", 30000, async () => {
    const shown = await driver
      .execute(`return (document.querySelector(".xterm-rows")?.textContent ?? "").trim() !== ""`)
      .catch(() => false);
    return shown ? now() : undefined;
  }, 10);
  // When the window began to load the session's page (its navigation's start, this clock).
  const windowAt = await driver.execute(`return performance.timeOrigin`);
  await driver.switchTo(app.mainHandle);
  const clickAt = await inMain(`return window.__launchClickAt`);
  const sessions = (await app.invoke("list_sessions", { accountId: "local" })).value;
  const session = sessions.sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at))[0];
  const history = (await app.invoke("session_history", { accountId: "local", sessionId: session.id })).value;
  const at = (kind, state) =>
    Date.parse(history.find((h) => h.kind === kind && (state === undefined || h.state?.state === state))?.at);
  const launchedAt = at("launched");
  const readyAt = at("state", "ready");
  await app.invoke("stop_session", { accountId: "local", sessionId: session.id });
  await poll("the session window to close", 15000, async () =>
    (await driver.windowHandles()).includes(handle) ? undefined : true);
  return {
    launched: launchedAt - clickAt,
    ready: readyAt - clickAt,
    window: windowAt - clickAt,
    prompt: promptAt - clickAt,
  };
}

/** `runs` launches after one warm-up; the medians of each step, ms from the click. */
export async function measureAppLoop(app, runs) {
  await appLoopOnce(app);
  const all = [];
  for (let i = 0; i < runs; i++) all.push(await appLoopOnce(app));
  const step = (key) => median(all.map((r) => r[key]));
  return { launched: step("launched"), ready: step("ready"), window: step("window"), prompt: step("prompt"), max: Math.max(...all.map((r) => r.prompt)) };
}

/** Starts the terminal helper directly: resolves once its page answers, with the ms it took. */
async function startTerminal(appPath) {
  const port = await freePort();
  const token = randomBytes(16).toString("hex");
  const child = spawn(appPath, ["__portholed-terminal", "--port", String(port)], {
    // A pipe on stdin, as portholed gives it (the helper may take a closed stdin as its end).
    stdio: ["pipe", "ignore", "ignore"],
    env: { ...process.env, PORTHOLE_TOKEN: token },
  });
  const spawned = startEpochMs(child.pid, bootEpochMs());
  const url = `http://127.0.0.1:${port}/?token=${token}`;
  await poll("the terminal to answer", 20000, async () => {
    const reply = await fetch(url, { redirect: "manual" }).catch(() => null);
    return reply && reply.status < 400 ? true : undefined;
  }, 2);
  return { child, url, ms: now() - spawned };
}

/** A bare WebKitGTK window opening `url`: ms from its spawn to the terminal showing text. */
async function bareWindowPrompt(url) {
  const child = spawn("/usr/bin/python3", [join(root, "tests/bench/floor.py"), "url", url], { stdio: ["pipe", "pipe", "ignore"] });
  const spawned = startEpochMs(child.pid, bootEpochMs());
  const lines = createInterface({ input: child.stdout });
  try {
    const at = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the bare window showed no prompt in 30 s")), 30000);
      lines.on("line", (line) => {
        if (!line.startsWith("PROMPT ")) return;
        clearTimeout(timer);
        resolve(Number(line.split(" ")[1]));
      });
    });
    return at - spawned;
  } finally {
    child.stdin.end();
    await Promise.race([new Promise((r) => child.once("exit", r)), sleep(5000).then(() => child.kill("SIGKILL"))]);
  }
}

/** The floors, `runs` times each after a warm-up: { process, window } medians, ms. */
export async function measureLoopFloors(appPath, runs) {
  const processMs = [];
  const windowMs = [];
  for (let i = 0; i <= runs; i++) {
    const terminal = await startTerminal(appPath);
    try {
      const shown = await bareWindowPrompt(terminal.url);
      if (i > 0) {
        processMs.push(terminal.ms);
        windowMs.push(shown);
      }
    } finally {
      terminal.child.kill("SIGTERM");
    }
  }
  return { process: median(processMs), window: median(windowMs) };
}
