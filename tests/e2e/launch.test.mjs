// End to end: the launch dialog makes a session's window ahead, hidden, while the session starts,
// and shows that same window on the session's page once it is ready; the window is never left
// hidden: it goes when the dialog is dismissed, and when the session ends before it is ready.
//
// The Local account runs with a portholed.toml of this file's own (a config folder of its own):
// `slow-page` answers only after a few seconds, and `dies` exits while starting.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { E2EApp, poll } from "./harness.mjs";
import { inWindow } from "./rows.mjs";

let app;
let driver;
const config = mkdtempSync(join(tmpdir(), "porthole-e2e-launch."));
const { inMain, click, setField } = inWindow(() => app, null);

before(async () => {
  writeFileSync(
    join(config, "portholed.toml"),
    [
      "[machines.slow-page]",
      `command = "sleep 3; exec python3 -m http.server {port} --bind 127.0.0.1"`,
      "[machines.dies]",
      `command = "sleep 2; echo giving up on {port}; exit 3"`,
      "",
    ].join("\n"),
  );
  app = await E2EApp.start({ PORTHOLE_CONFIG_DIR: config });
  driver = app.driver;
});

after(async () => {
  await app?.stop();
  rmSync(config, { recursive: true, force: true });
});

/** The session's state as the app lists it, or "gone". */
async function stateOf(id) {
  const sessions = await app.call("list_sessions", { accountId: "local" });
  return sessions.find((s) => s.id === id)?.state.state ?? "gone";
}

/** Launches `machine` through the dialog; resolves with the new session's id once it is listed,
 * and the window handles there were before. */
async function launchInDialog(machine) {
  const before = new Set(await driver.windowHandles());
  const titled = onScreen("^Porthole$");
  const known = new Set((await app.call("list_sessions", { accountId: "local" })).map((s) => s.id));
  await click('[data-testid="view-sessions"]');
  await poll("the launch button", 20000, async () =>
    (await inMain(`const b = document.querySelector('[data-testid="launch-open"]'); return !!b && !b.disabled;`)) ||
    undefined);
  await click('[data-testid="launch-open"]');
  // The machine's option (its value is the template's id), once the form is ready.
  const option = await poll(`the launch form offering ${machine}`, 20000, async () =>
    (await inMain(
      `const m = document.querySelector('[data-testid="launch-machine"]');
       const b = document.querySelector('[data-testid="launch-submit"]');
       if (!m || !b || b.disabled) return null;
       return [...m.options].find((o) => o.textContent.trim() === arguments[0] && !o.disabled)?.value ?? null;`,
      [machine],
    )) ?? undefined);
  await setField('[data-testid="launch-machine"]', option);
  await click('[data-testid="launch-submit"]');
  const session = await poll("the launched session", 20000, async () =>
    (await app.call("list_sessions", { accountId: "local" })).find((s) => !known.has(s.id)));
  assert.ok(session.name.startsWith(`${machine} `), `launched ${session.name}, not ${machine}`);
  return { id: session.id, before, titled };
}

/** The one window that was not there `before`, once there is one; fails if there are two. */
async function newWindow(before) {
  const handle = await poll("a new window", 20000, async () => {
    const fresh = (await driver.windowHandles()).filter((h) => !before.has(h));
    assert.ok(fresh.length <= 1, `more than one new window: ${fresh}`);
    return fresh[0];
  });
  return handle;
}

/** A window made ahead: about:blank, or nothing committed yet (WebDriver says ""). */
const BLANK = /^(about:blank)?$/;

/** The address of the page in window `handle` (about:blank takes no script: its URL is read). */
async function urlIn(handle) {
  await driver.switchTo(handle);
  return driver.url();
}

/** How many windows titled like `pattern` (a regular expression) are on screen: mapped, as X
 * has them (xdotool). A window made ahead is not, until it opens. */
function onScreen(pattern) {
  const found = spawnSync("xdotool", ["search", "--onlyvisible", "--name", pattern], { encoding: "utf8" });
  return found.stdout.split("\n").filter(Boolean).length;
}

test("the window is made hidden while the session starts, and that window opens on its page", () =>
  app.withScreenshot("launch-window-ahead", async () => {
    const { id, before, titled } = await launchInDialog("slow-page");
    const handle = await newWindow(before);
    // Made while the session still starts: on about:blank, and not on screen (no more windows
    // titled Porthole there than before: the window made ahead is titled so until it opens).
    assert.equal(onScreen("^Porthole$"), titled, "the window made ahead is on screen");
    assert.equal(onScreen("slow-page"), 0);
    assert.equal(await stateOf(id), "starting");

    // Ready: the same window shows the session's page through its proxy, on screen under the
    // session's name, and it is the only new one.
    const url = await poll("the window on the session's page", 30000, async () => {
      const shown = await urlIn(handle).catch(() => "");
      return shown.startsWith("http://127.") ? shown : undefined;
    });
    assert.notEqual(new URL(url).hostname, "127.0.0.1", "not on the session's own proxy address");
    await poll("the session's page", 20000, async () =>
      /Directory listing/.test(await driver.execute(`return document.title`).catch(() => "")) || undefined);
    await poll("its window on screen", 20000, async () => (onScreen("slow-page") === 1 ? true : undefined));
    const fresh = (await driver.windowHandles()).filter((h) => !before.has(h));
    assert.deepEqual(fresh, [handle]);
    await app.call("stop_session", { accountId: "local", sessionId: id });
    await poll("its window to close", 20000, async () =>
      (await driver.windowHandles()).includes(handle) ? undefined : true);
  }));

test("a dismissed dialog lets its window go; the session goes on starting and is not opened", () =>
  app.withScreenshot("launch-window-dismissed", async () => {
    const { id, before } = await launchInDialog("slow-page");
    const handle = await newWindow(before);
    await driver.switchTo(app.mainHandle);
    await inMain(
      `document.querySelector('[data-testid="launch-dialog"]')
         .dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true })); return true;`,
    );
    await poll("the window made ahead to go", 20000, async () =>
      (await driver.windowHandles()).includes(handle) ? undefined : true);
    assert.equal(await stateOf(id), "starting", "the session did not go on starting");
    await poll("the session to be ready", 30000, async () =>
      ["ready", "expiring"].includes(await stateOf(id)) ? true : undefined);
    const fresh = (await driver.windowHandles()).filter((h) => !before.has(h));
    assert.deepEqual(fresh, [], "a window was opened for a dismissed launch");
    await app.call("stop_session", { accountId: "local", sessionId: id });
  }));

test("a session that ends while starting takes its hidden window with it", () =>
  app.withScreenshot("launch-window-ended", async () => {
    const { id, before, titled } = await launchInDialog("dies");
    const handle = await newWindow(before);
    assert.equal(onScreen("^Porthole$"), titled, "the window made ahead is on screen");
    // The dialog says why it ended (the exit code), and the window is gone.
    const ended = await poll("the dialog to say it ended", 30000, async () =>
      (await inMain(`return document.querySelector('[data-testid="launch-ended"]')?.textContent ?? ""`)) ||
      undefined);
    assert.match(ended, /3/);
    await poll("the window made ahead to go", 20000, async () =>
      (await driver.windowHandles()).includes(handle) ? undefined : true);
    assert.equal(await stateOf(id), "gone");
  }));
