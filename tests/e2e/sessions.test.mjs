// End to end: a Local terminal session in the real app. Launch it, open its window, type into
// the terminal and read the output back, extend it, stop it and see why it ended; and prove its
// window cannot call app commands; and the list's countdown rests while the window is hidden.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";

import { cmdline, sessionProcesses } from "../bench/procs.mjs";
import { E2EApp, poll } from "./harness.mjs";

let app;
let driver;
let sessionId;

before(async () => {
  app = await E2EApp.start();
  driver = app.driver;
});

after(async () => {
  await app?.stop();
});

/** Invokes a command from the main window, failing the test with its coded error. */
const call = (cmd, args) => app.call(cmd, args);

async function localSession() {
  const sessions = await call("list_sessions", { accountId: "local" });
  return sessions.find((s) => s.id === sessionId);
}

/** The port the session's own process listens on (its upstream), from its command line: the
 * window must never be on it, only on the proxy's. The page never learns the session's URL. */
function upstreamPort(id) {
  for (const { pid, session } of sessionProcesses()) {
    const args = session === id ? cmdline(pid) : [];
    const port = args.indexOf("--port");
    if (port >= 0) return args[port + 1];
  }
  assert.fail(`no process of session ${id}`);
}

/** A session window's address: its proxy's, on a loopback address of its own (never 127.0.0.1,
 * which every local page shares) and never the session's own port. */
function onSessionProxy(url, upstream) {
  const u = new URL(url);
  return u.protocol === "http:" && /^127\./.test(u.hostname) && u.hostname !== "127.0.0.1" && u.port !== upstream;
}

/** Launches a Local terminal session for `minutes` and waits until it is ready; returns it. */
async function launchTerminal(minutes) {
  const machines = await poll("the Local account to be connected", 30000, async () => {
    const reply = await app.invoke("list_machines", { accountId: "local" });
    return reply.ok ? reply.value : undefined;
  });
  const terminal = machines.find((m) => m.name === "terminal");
  assert.ok(terminal?.can_launch, JSON.stringify(machines));
  const launched = await call("launch_session", {
    accountId: "local",
    request: { machine_id: terminal.id, resource: null, timeout_minutes: minutes },
  });
  sessionId = launched.id;
  assert.equal(launched.url ?? null, null, "the page was given the session's URL");
  // A session shorter than the largest warning threshold is "expiring" as soon as it is ready.
  return poll("the session to be ready", 30000, async () => {
    const s = await localSession();
    if (!["ready", "expiring"].includes(s?.state.state)) return undefined;
    // Ready means the URL answers; the page still must not have it (it holds the token).
    assert.equal(s.url ?? null, null, "the page was given the session's URL");
    return s;
  });
}

/** Runs `script` in the main window and returns its value. */
async function inMain(script, args = []) {
  await driver.switchTo(app.mainHandle);
  return driver.execute(script, args);
}

test("the launch dialog starts a Local terminal, streams its log, and opens it when ready", () =>
  app.withScreenshot("launch-dialog", async () => {
    await driver.switchTo(app.mainHandle);
    await poll("the Local account to be connected", 30000, async () => {
      const reply = await app.invoke("list_machines", { accountId: "local" });
      return reply.ok ? true : undefined;
    });
    await driver.waitFor('[data-testid="launch-open"]');
    await inMain(`document.querySelector('[data-testid="launch-open"]').click(); return true;`);
    await poll("the launch form with its machines", 20000, async () => {
      const ready = await inMain(
        `const b = document.querySelector('[data-testid="launch-submit"]'); return !!b && !b.disabled;`,
      );
      return ready ? true : undefined;
    });
    const machine = await inMain(`return document.querySelector('[data-testid="launch-machine"]')?.textContent ?? ""`);
    assert.match(machine, /terminal/);
    await inMain(`document.querySelector('[data-testid="launch-submit"]').click(); return true;`);
    // The start-up log streams from portholed into the dialog.
    await poll("start-up log lines", 30000, async () => {
      const n = await inMain(`return document.querySelectorAll('[data-testid="launch-log-line"]').length`);
      return n > 0 ? n : undefined;
    });
    // Ready: the dialog opens the session's own window.
    const handle = await app.windowWhere("the launched session's window", (url) => onSessionProxy(url, null));
    assert.ok(handle);
    await driver.switchTo(app.mainHandle);
    const row = await poll("a ready row in the list", 30000, async () => {
      const state = await inMain(
        `return [...document.querySelectorAll('[data-testid="session-row"]')].map((r) => r.dataset.state).join(",")`,
      );
      return /ready|expiring/.test(state) ? state : undefined;
    });
    assert.ok(row);
    const remaining = await inMain(`return document.querySelector('[data-testid="session-remaining"]')?.textContent ?? ""`);
    assert.match(remaining, /left/);
    // The watcher names the machine: the row shows "terminal", not the machine's id (a UUID).
    const machineCell = await poll("the row's machine by name", 30000, async () => {
      const text = await inMain(`return document.querySelector('[data-testid="session-machine"]')?.textContent ?? ""`);
      return text.trim().startsWith("terminal ") ? text : undefined;
    });
    assert.ok(machineCell);
  }));

test("a Local terminal session launches, opens, echoes what is typed, extends and stops", () =>
  app.withScreenshot("terminal-session", async () => {
    await driver.switchTo(app.mainHandle);
    const ready = await launchTerminal(20);

    await call("open_session", { accountId: "local", sessionId });
    const upstream = upstreamPort(sessionId);
    let handle = await app.windowWhere("the session window, on its proxy", (url) => onSessionProxy(url, upstream));
    await driver.switchTo(handle);
    const input = await driver.waitFor(".xterm-helper-textarea", 20000);
    const marker = `porthole-${randomBytes(6).toString("hex")}`;
    await poll("the shell to take input", 20000, async () => {
      await driver.sendKeys(input, `echo ${marker}\n`);
      const text = await driver.execute(`return document.querySelector(".xterm-rows")?.textContent ?? ""`);
      // The command line itself shows the marker once; its output shows it again.
      return text.split(marker).length > 2 ? text : undefined;
    });
    // Remote content: no app command is reachable from the session window.
    const denied = await app.invoke("list_sessions", { accountId: null });
    assert.equal(denied.ok, false, "the session window could call list_sessions");

    const before = Date.parse(ready.deadline);
    await call("extend_session", { accountId: "local", sessionId, minutes: 15 });
    await poll("the deadline to move", 20000, async () => {
      const s = await localSession();
      return s && Date.parse(s.deadline) - before === 15 * 60 * 1000 ? true : undefined;
    });

    await call("stop_session", { accountId: "local", sessionId });
    await poll("the session to end", 30000, async () => ((await localSession()) ? undefined : true));
  }));

test("the tray lists the session with its entries, its window's title shows the time left, and the entries act", () =>
  app.withScreenshot("tray-menu", async () => {
    await driver.switchTo(app.mainHandle);
    const ready = await launchTerminal(25);

    // The tray's model, which its menu is drawn from.
    const menu = await call("tray_menu");
    const row = menu.rows.find((r) => r.session_id === sessionId);
    assert.ok(row, JSON.stringify(menu));
    // Named after what was chosen, so the resource is not said twice.
    assert.match(ready.name, /^terminal on CPU [0-9a-f]{8}$/);
    assert.match(row.label, new RegExp(`^${ready.name} · 2[45] min left$`));
    assert.deepEqual(
      row.items.map((i) => [i.label, i.enabled]),
      [["Open", true], ["Extend +5 min", true], ["Extend +15 min", true], ["Extend +30 min", true],
        ["Extend +60 min", true], ["Stop", true]],
    );
    assert.match(row.items[5].confirm, /^Stop “.*” now$/);
    // The tooltip names the nearest deadline (another test's session may be sooner).
    assert.match(menu.tooltip, /^Porthole — .+ ends in \d+ min$/);
    assert.deepEqual(menu.accounts, [], "one account: no switcher");

    // Open, through the tray entry: the window's native title names the session and its time left.
    await call("activate_menu_item", { id: row.items[0].id });
    const title = await poll("the session window's title", 20000, async () => {
      const found = spawnSync("xdotool", ["search", "--name", `${ready.name} — .* left — Porthole`], { encoding: "utf8" });
      const id = found.stdout.trim().split("\n")[0];
      if (!id) return undefined;
      return spawnSync("xdotool", ["getwindowname", id], { encoding: "utf8" }).stdout.trim();
    });
    assert.match(title, new RegExp(`^${ready.name} — 2[45] min left — Porthole$`));

    // Extend +30 through its entry: the deadline moves by exactly 30 minutes, and so does the row.
    const before = Date.parse(ready.deadline);
    await call("activate_menu_item", { id: row.items[3].id });
    await poll("the deadline to move", 20000, async () => {
      const s = await localSession();
      return s && Date.parse(s.deadline) - before === 30 * 60 * 1000 ? true : undefined;
    });
    const after = (await call("tray_menu")).rows.find((r) => r.session_id === sessionId);
    assert.match(after.label, / · 5[45] min left$/);

    // An entry that does not exist is refused with a code.
    await driver.switchTo(app.mainHandle);
    const bogus = await app.invoke("activate_menu_item", { id: "quit" });
    assert.equal(bogus.ok, false);
    assert.match(bogus.error, /no such menu entry/);

    // Stop (the confirming entry): the session ends and leaves the tray.
    await call("activate_menu_item", { id: row.items[5].id });
    await poll("the session to end", 30000, async () => ((await localSession()) ? undefined : true));
    const empty = await call("tray_menu");
    assert.equal(empty.rows.some((r) => r.session_id === sessionId), false);
  }));

test("auto-extend extends a session in use that is about to end, records it and notifies", () =>
  app.withScreenshot("auto-extend", async () => {
    await driver.switchTo(app.mainHandle);
    const saved = await call("get_settings");
    await call("save_settings", {
      settings: {
        ...saved,
        auto_extend: { enabled: true, extend_by_minutes: 15, when_below_minutes: 5, active_within_minutes: 10, spend_cap_usd: 10 },
      },
    });
    try {
      const ready = await launchTerminal(4);
      // In use: its window loads the terminal through the proxy, which sees the traffic.
      await call("open_session", { accountId: "local", sessionId });
      const before = Date.parse(ready.deadline);
      await poll("auto-extend to move the deadline", 30000, async () => {
        const s = await localSession();
        return s && Date.parse(s.deadline) - before === 15 * 60 * 1000 ? true : undefined;
      });
      // What was done to it, in order; its states and warnings are in the same timeline.
      const acts = (entries) => entries.filter((h) => h.kind !== "state" && h.kind !== "warned");
      const history = await call("session_history", { accountId: "local", sessionId });
      assert.deepEqual(
        acts(history).map((h) => [h.kind, h.minutes, h.automatic]),
        [["launched", undefined, undefined], ["extended", 15, true]],
      );
      assert.ok(
        history.some((h) => h.kind === "warned" && h.clock === "hard"),
        "the warning that came before the extension is in its timeline",
      );
      const log = process.env.PORTHOLE_E2E_NOTIFY_LOG;
      assert.ok(log, "run through tests/e2e/run.sh, which records notifications");
      await poll("the auto-extend notification", 10000, async () =>
        readFileSync(log, "utf8").includes(`string "${ready.name} extended by 15 min"`) ? true : undefined);
      await call("stop_session", { accountId: "local", sessionId });
      await poll("the session to end", 30000, async () => ((await localSession()) ? undefined : true));
      const stopped = await poll("the end in the timeline", 10000, async () => {
        const entries = await call("session_history", { accountId: "local", sessionId });
        return entries.at(-1)?.state?.state === "ended" ? entries : undefined;
      });
      assert.equal(acts(stopped).at(-1).kind, "stop_requested");
      assert.equal(stopped.at(-1).state.reason.kind, "stopped");
    } finally {
      await call("save_settings", { settings: saved });
    }
  }));

test("the list's countdown stops while the main window is hidden and catches up when it shows", () =>
  app.withScreenshot("countdown-hidden", async () => {
    const ready = await launchTerminal(30);
    const row = `[data-session-id="${sessionId}"] [data-testid="session-remaining"]`;
    const remaining = () => inMain(`return document.querySelector(arguments[0])?.textContent ?? ""`, [row]);
    const visibility = () => inMain(`return document.visibilityState`);
    const first = await poll("the row's countdown", 10000, async () => (await remaining()) || undefined);
    // On screen: a row scrolled away rests its countdown (and while the focus or the pointer is
    // in the list, a new row comes last, maybe below the fold).
    await inMain(`document.querySelector(arguments[0]).scrollIntoView({ block: "center" }); return true;`, [row]);
    await poll("the countdown to tick while shown", 5000, async () => ((await remaining()) !== first ? true : undefined));

    // No window manager under Xvfb: unmap the main window as minimising it would.
    const ids = spawnSync("xdotool", ["search", "--name", "^Porthole$"], { encoding: "utf8" }).stdout.trim().split("\n");
    assert.equal(ids.length, 1, `one main window, found ${ids}`);
    spawnSync("xdotool", ["windowunmap", ids[0]]);
    try {
      await poll("the page to be hidden", 5000, async () => ((await visibility()) === "hidden" ? true : undefined));
      const hidden = await remaining();
      // Watch it for three ticks: a ticking clock changes the text within one.
      const watchUntil = Date.now() + 3000;
      while (Date.now() < watchUntil) {
        assert.equal(await remaining(), hidden, "the countdown ticked while the window was hidden");
        await new Promise((r) => setTimeout(r, 250));
      }
    } finally {
      spawnSync("xdotool", ["windowmap", ids[0]]);
    }
    await poll("the page to be shown", 5000, async () => ((await visibility()) === "visible" ? true : undefined));
    // Shown again, it is current at once: the time left to the deadline, to within a tick.
    await poll("the countdown to catch up", 3000, async () => {
      const [min, sec] = (await remaining()).match(/^(\d+):(\d\d) left$/)?.slice(1).map(Number) ?? [];
      const expected = (Date.parse(ready.deadline) - Date.now()) / 1000;
      return Math.abs(min * 60 + sec - expected) <= 2 ? true : undefined;
    });
    await call("stop_session", { accountId: "local", sessionId });
    await poll("the session to end", 30000, async () => ((await localSession()) ? undefined : true));
  }));

test("a session window closed from its menu leaves the session running and reopens on the same port", () =>
  app.withScreenshot("reopen-window", async () => {
    await launchTerminal(20);
    const upstream = upstreamPort(sessionId);
    await call("open_session", { accountId: "local", sessionId });
    const first = await app.windowWhere("the session window, on its proxy", (url) => onSessionProxy(url, upstream));
    const { host } = new URL(await driver.url());
    await driver.waitFor(".xterm-helper-textarea", 20000);

    // Its menu's "Close Window" (Ctrl+W), through the same handler as a click (core's
    // TrayAction::CloseWindow id: verb, account and session, separated by U+001F).
    await call("activate_menu_item", { id: `close-window\u001flocal\u001f${sessionId}` });
    await poll("the session window to close", 15000, async () =>
      (await driver.windowHandles()).includes(first) ? undefined : true);
    assert.ok((await driver.windowHandles()).includes(app.mainHandle), "the main window closed too");
    await driver.switchTo(app.mainHandle);
    assert.ok(["ready", "expiring"].includes((await localSession())?.state.state), "the session ended with its window");

    await call("open_session", { accountId: "local", sessionId });
    await app.windowWhere("the reopened session window, on the same address and port", (url) =>
      new URL(url).host === host);
    await driver.waitFor(".xterm-helper-textarea", 20000);

    await call("stop_session", { accountId: "local", sessionId });
    await poll("the session to end", 30000, async () => ((await localSession()) ? undefined : true));
  }));

/** Runs `script` in the window `handle` and returns its value. */
async function inWindow(handle, script) {
  await driver.switchTo(handle);
  return driver.execute(script, []);
}

test("two session windows share no cookies or storage, and an ended session's web data is removed", () =>
  app.withScreenshot("session-isolation", async () => {
    const windows = [];
    for (const minutes of [20, 21]) {
      await driver.switchTo(app.mainHandle);
      await launchTerminal(minutes);
      const id = sessionId;
      const upstream = upstreamPort(id);
      const known = new Set(await driver.windowHandles());
      await call("open_session", { accountId: "local", sessionId: id });
      const handle = await app.windowWhere(`session ${id}'s window`, (url, h) =>
        onSessionProxy(url, upstream) && !known.has(h));
      await driver.waitFor(".xterm-helper-textarea", 20000);
      windows.push({ id, handle, origin: new URL(await driver.url()).origin });
    }
    const [a, b] = windows;
    assert.notEqual(new URL(a.origin).hostname, new URL(b.origin).hostname, "two sessions on one address");

    // A page's own cookie (one that outlives the session in WebKit's cookie file) and storage.
    await inWindow(a.handle, `document.cookie = "mine=a; max-age=3600; path=/"; localStorage.setItem("mine", "a"); return true;`);
    assert.equal(await inWindow(a.handle, `return document.cookie.includes("mine=a") && localStorage.getItem("mine")`), "a");
    const seen = await inWindow(b.handle, `return JSON.stringify([document.cookie, localStorage.getItem("mine")])`);
    assert.deepEqual(JSON.parse(seen), ["", null], "session B's page sees session A's cookie or storage");

    // WebKit keeps it in the app's private folder, and forgets it when the session ends.
    const webkit = join(process.env.PORTHOLE_DATA_DIR, "webkit");
    assert.equal(statSync(webkit).mode & 0o777, 0o700, "WebKit's folder is open to others");
    const cookies = join(webkit, "cookies");
    const hostA = new URL(a.origin).hostname;
    await poll("session A's cookie on disk", 20000, async () => {
      try { return readFileSync(cookies, "utf8").includes(hostA) ? true : undefined; } catch { return undefined; }
    });
    for (const { id } of windows) await call("stop_session", { accountId: "local", sessionId: id });
    await poll("session A's cookie to be removed", 30000, async () =>
      (readFileSync(cookies, "utf8").includes(hostA) ? undefined : true));
  }));
