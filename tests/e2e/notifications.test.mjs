// End to end: notifications on the real session bus, read back with dbus-monitor. run.sh starts
// dunst and a monitor writing every Notify call to $PORTHOLE_E2E_NOTIFY_LOG, and runs the app
// with a time scale (PORTHOLE_LOCAL_MINUTE_SECONDS) so a Local session times out in seconds.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";

import { E2EApp, poll } from "./harness.mjs";

let app;
const log = process.env.PORTHOLE_E2E_NOTIFY_LOG;

before(async () => {
  app = await E2EApp.start({ PORTHOLE_LOCAL_MINUTE_SECONDS: "1" });
});

after(async () => {
  await app?.stop();
});

/** Launches a Local terminal session for `minutes` scaled minutes (seconds, here). */
async function launchTerminal(minutes) {
  await app.driver.switchTo(app.mainHandle);
  const machines = await poll("the Local account", 30000, async () => {
    const reply = await app.invoke("list_machines", { accountId: "local" });
    return reply.ok ? reply.value : undefined;
  });
  const terminal = machines.find((m) => m.name === "terminal");
  const reply = await app.invoke("launch_session", {
    accountId: "local",
    request: { machine_id: terminal.id, resource: null, timeout_minutes: minutes },
  });
  assert.equal(reply.ok, true, reply.error);
  return { reply, terminal };
}

/** The string arguments of each Notify call, in order (app name, icon, summary, body). */
function notifications() {
  const text = readFileSync(log, "utf8");
  return text
    .split(/^method call/m)
    .filter((call) => call.includes("member=Notify"))
    .map((call) => [...call.matchAll(/^\s*string "(.*)"$/gm)].map((m) => m[1]));
}

test("a Local session that times out notifies it is ready (ending soon), then that it timed out, once each", { skip: !log }, () =>
  app.withScreenshot("notifications", async () => {
    // 3 scaled minutes: 3 seconds, well inside the T-10/T-2 warning window from the start: being
    // ready and its warning are one notice (two of the same moment reach the desktop in either
    // order).
    const { reply } = await launchTerminal(3);
    const name = reply.value.name;
    const summaries = await poll("the timed-out notification", 40000, async () => {
      const mine = notifications()
        .map((args) => args.find((a) => a.startsWith(name)))
        .filter(Boolean);
      return mine.some((s) => s.endsWith("timed out")) ? mine : undefined;
    });
    assert.equal(summaries.length, 2, summaries.join(" | "));
    assert.match(summaries[0], new RegExp(`^${name} is ready, ends in \\d+ minutes?$`));
    assert.equal(summaries[1], `${name} timed out`);
  }));

test("a warning notification offers Extend +15 min and Open, and its Extend extends the session", { skip: !log }, () =>
  app.withScreenshot("notification-action", async () => {
    // 12 scaled minutes: 12 seconds, inside the T-10 warning window once it is ready.
    const { reply } = await launchTerminal(12);
    const { id, name } = reply.value;
    const warns = (a) => a.startsWith(name) && a.includes(" ends in ");
    const warning = await poll("the warning notification", 30000, async () =>
      notifications().find((args) => args.some(warns)));
    // The actions go out with it (id, label pairs), beside the click on the notification itself.
    for (const [action, label] of [["extend-15", "Extend +15 min"], ["open", "Open"]]) {
      const at = warning.indexOf(action);
      assert.ok(at >= 0 && warning[at + 1] === label, warning.join(" | "));
    }
    const deadline = async () => {
      const sessions = await app.invoke("list_sessions", { accountId: "local" });
      return sessions.value.find((s) => s.id === id)?.deadline;
    };
    const before = Date.parse(await deadline());
    // A person picks "Extend +15 min" on that notification in dunst's menu.
    writeFileSync(process.env.PORTHOLE_E2E_DUNST_PICK, `Extend +15 min (${warning.find(warns)})`);
    execFileSync("dunstctl", ["context"]);
    const after = await poll("the extended deadline", 20000, async () => {
      const at = Date.parse(await deadline());
      return at > before ? at : undefined;
    });
    // 15 scaled minutes: 15 seconds later.
    assert.ok(Math.abs(after - before - 15000) < 2000, `moved by ${after - before} ms`);
    const history = await app.invoke("session_history", { accountId: "local", sessionId: id });
    assert.ok(history.value.some((h) => h.kind === "extended" && h.minutes === 15 && !h.automatic),
      JSON.stringify(history.value));
    await app.invoke("stop_session", { accountId: "local", sessionId: id });
  }));

test("a session that times out with its window open keeps the window, on a page that says so, and relaunches from it", () =>
  app.withScreenshot("ended-window", async () => {
    // 12 scaled minutes: 12 seconds, time to open its window before it ends.
    const { reply, terminal } = await launchTerminal(12);
    const { id, name } = reply.value;
    const live = async () => {
      const sessions = await app.invoke("list_sessions", { accountId: "local" });
      return sessions.value.find((s) => s.id === id);
    };
    await poll("the session to be ready", 15000, async () =>
      ["ready", "expiring"].includes((await live())?.state.state) ? true : undefined);
    const opened = await app.invoke("open_session", { accountId: "local", sessionId: id });
    assert.equal(opened.ok, true, opened.error);
    const handle = await app.windowWhere("the session window", (url) => /^http:\/\/127\./.test(url));
    const origin = new URL(await app.driver.url()).origin;

    // It times out: the window stays, on the page its proxy serves now, and says so.
    const page = await poll("the ended page", 30000, async () => {
      if (!(await app.driver.windowHandles()).includes(handle)) assert.fail("the window closed when the session ended");
      await app.driver.switchTo(handle);
      const text = await app.driver.execute(`return document.querySelector("#porthole-ended")?.textContent ?? null`);
      return text ?? undefined;
    });
    assert.match(page, new RegExp(`^${name} timed out`));
    assert.match(page, /Relaunch it from this window's Session menu/);
    assert.equal(new URL(await app.driver.url()).origin, origin, "the window left its proxy");
    // The page's own title (what WebDriver reads; the window's title says the same in the tray's form).
    assert.match(await app.driver.title(), new RegExp(`^${name} timed out`));
    await app.driver.switchTo(app.mainHandle);
    assert.equal(await live(), undefined, "the session is still live");
    // The main window keeps it among the ended sessions, across a restart too.
    const ended = await app.invoke("ended_sessions");
    assert.equal(ended.ok, true, ended.error);
    assert.ok(ended.value.some((e) => e.session.id === id && e.session.state.reason.kind === "timeout"),
      JSON.stringify(ended.value));

    // Its window's "Relaunch" (core's TrayAction::Relaunch id): the window closes and the main
    // window launches the same again.
    const relaunch = await app.invoke("activate_menu_item", { id: `relaunch\u001flocal\u001f${id}` });
    assert.equal(relaunch.ok, true, relaunch.error);
    await poll("the ended window to close", 15000, async () =>
      (await app.driver.windowHandles()).includes(handle) ? undefined : true);
    await app.driver.switchTo(app.mainHandle);
    const again = await poll("the relaunched session", 30000, async () => {
      const sessions = await app.invoke("list_sessions", { accountId: "local" });
      return sessions.value.find((s) => s.id !== id && s.machine_id === terminal.id);
    });
    assert.match(again.name, /^terminal on CPU [0-9a-f]{8}$/);
    await app.invoke("stop_session", { accountId: "local", sessionId: again.id });

    // "Clear ended" in the window: every ended row goes, here and in what is kept.
    await poll("the relaunched session to end", 15000, async () => {
      const sessions = await app.invoke("list_sessions", { accountId: "local" });
      return sessions.value.some((s) => s.id === again.id) ? undefined : true;
    });
    assert.match(await app.driver.textOf('[data-testid="sessions-clear-ended"]', 20000), /^Clear \d+ ended$/);
    await app.driver.execute(`document.querySelector('[data-testid="sessions-clear-ended"]').click(); return true;`);
    await poll("the ended rows to go", 15000, async () => {
      const left = await app.driver.execute(
        `return document.querySelectorAll('[data-testid="session-row"][data-state="ended"]').length`);
      return left === 0 ? true : undefined;
    });
    const kept = await app.invoke("ended_sessions");
    assert.deepEqual(kept.value, []);
  }));
