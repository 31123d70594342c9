// End to end: the scripted test provider (docs/providers/scripted.md) in the real app, a session
// of the shape QPU and runbook sessions have: no template, no web page, parameters, an unused and
// an idle clock, a prompt that waits for a person, close and cancel. `make e2e` builds the app
// with the `scripted` feature; a build without it fails here, saying so.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { porthole } from "./cli.mjs";
import { E2EApp, poll } from "./harness.mjs";
import { inWindow } from "./rows.mjs";

let app;
let driver;
const folder = mkdtempSync(join(tmpdir(), "porthole-scripted-e2e-"));
const log = process.env.PORTHOLE_E2E_NOTIFY_LOG;

// Waits for first work 1.5 s, runs, asks "Ship it?" (a required note), goes idle once answered.
// Unused after 7 minutes, idle after 5: inside the first warning threshold (10 minutes), so the
// watcher warns about each as soon as the session shows.
const text = (name, label, required) => ({ name, label, kind: "text", required, default: null, help: null });
writeFileSync(
  join(folder, "script.json"),
  JSON.stringify({
    resources: [{ id: "runner", label: "Scripted runner" }],
    parameters: [text("who", "Who", true), { ...text("count", "Count", false), kind: "number", default: "1" }],
    unused_seconds: 420,
    idle_seconds: 300,
    drain_ms: 300,
    steps: [
      { after_ms: 0, state: { state: "queued" } },
      { after_ms: 1500, state: { state: "ready" } },
      { after_ms: 1000, state: { state: "waiting_for_input" }, prompt: "Ship it?", fields: [text("note", "Note", true)] },
      { after_ms: 300, state: { state: "idle" } },
    ],
  }),
);

before(async () => {
  app = await E2EApp.start();
  driver = app.driver;
});

after(async () => {
  await removeAccounts("scripted");
  await app?.stop();
  rmSync(folder, { recursive: true, force: true });
});

const { inMain, click, setField, rowOf, rowWhere, notified, addAccount, openLaunch, removeAccounts } = inWindow(
  () => app,
  log,
);

test("a scripted session launches with parameters, counts every clock down, warns, asks for input and closes", () =>
  app.withScreenshot("scripted-session", async () => {
    await driver.switchTo(app.mainHandle);
    const kinds = await poll("the providers", 20000, async () => {
      const reply = await app.invoke("provider_descriptors");
      return reply.ok ? reply.value.map((d) => d.kind) : undefined;
    });
    assert.ok(kinds.includes("scripted"), `the app was built without the scripted test provider (${kinds})`);

    // Added in the window, like any account: the folder is its base URL.
    const account = await addAccount("scripted", [
      ["Name", "Scripted"],
      ["Provider", "scripted"],
      ["Base URL", `file://${folder}`],
      ["API key", "scripted-e2e-key"],
    ]);

    // The launch form renders from its descriptor: no machine, the parameters' fields (the
    // launch button waits for the accounts to load: they reload on this screen).
    await openLaunch(account.id);
    await driver.waitFor('[data-testid="launch-param-who"]');
    assert.equal(await inMain(`return document.querySelector('[data-testid="launch-machine"]')`), null);
    assert.equal(await inMain(`return document.querySelector('[data-testid="launch-param-count"]').value`), "1");
    await setField('[data-testid="launch-param-who"]', "ada");
    await click('[data-testid="launch-submit"]');

    // Accepted and waiting for first work: the unused clock counts down, warned at once.
    const name = "scripted-1";
    const queued = await rowWhere(name, "the unused clock warned", (r) =>
      r.clocks.some((c) => c.clock === "unused" && c.warned));
    assert.match(queued.clocks.find((c) => c.clock === "unused").text, /^Unused limit: [67]:\d\d left \(warned\)$/);
    const first = await inMain(`return document.querySelector('[data-testid="session-remaining"]')?.textContent`);
    assert.match(first, /left$/, "the hard clock counts down too");

    // It asks for input: the row says so, and its detail view takes the answer.
    await rowWhere(name, "waiting for input", (r) => r.state === "waiting_for_input");
    const { id } = await rowOf(name);
    await click(`[data-testid="session-row"][data-session-id="${id}"] [data-testid="session-open"]`);
    await driver.waitFor('[data-testid="session-prompt"]');
    const message = await inMain(`return document.querySelector('[data-testid="session-prompt"]').textContent`);
    assert.match(message, /Ship it\?/);
    await setField('[data-testid="prompt-p2-param-note"]', "ship");
    await click('[data-testid="session-prompt-form-submit"]');

    // Idle now: the idle clock counts down, warned, in the list and in the tray.
    const idle = await rowWhere(name, "the idle clock warned", (r) =>
      r.state === "idle" && r.clocks.some((c) => c.clock === "idle" && c.warned));
    assert.match(idle.clocks.find((c) => c.clock === "idle").text, /^Idle limit: [45]:\d\d left \(warned\)$/);
    const tray = await app.invoke("tray_menu");
    assert.equal(tray.ok, true, tray.error);
    const trayRow = tray.value.rows.find((r) => r.session_id === id);
    assert.match(trayRow.label, /^scripted-1 · runner · Idle, Idle limit in [45] min$/);
    assert.equal(tray.value.warning, true, "the icon shows the warning");
    const history = await inMain(`return document.querySelector('[data-testid="session-detail"]').textContent`);
    assert.match(history, /Waiting for first work/);
    assert.match(history, /Answered p2/);
    // Its log, followed from when the view opened: the question, then the states after it.
    const logLines = await poll("the log to reach idle", 20000, async () => {
      const lines = await inMain(`return [...document.querySelectorAll('[data-testid="session-log-line"]')].map((l) => l.textContent)`);
      return lines.includes("Idle") ? lines : undefined;
    });
    assert.match(logLines[0], /^Waiting for your input: Ship it\?$/, logLines.join(" | "));

    // Each clock's warning was a notification, once, in its own words.
    if (log) {
      const seen = await poll("the idle warning's notification", 20000, async () => {
        const mine = notified(name);
        return mine.some((s) => s.includes("idle limit")) ? mine : undefined;
      });
      assert.deepEqual(
        seen.filter((s) => / in \d+ minutes?$/.test(s)).map((s) => s.replace(/\d+ minutes?$/, "N")),
        [`${name} closes unused in N`, `${name} reaches its idle limit in N`],
      );
    }

    // Close, as the provider calls it: confirmed, then it drains and completes.
    await click(`[data-testid="session-row"][data-session-id="${id}"] [data-testid="session-stop"]`);
    assert.match(await inMain(`return document.querySelector('[data-testid="session-stop"]').textContent`), /Close/);
    await click('[data-testid="session-stop-confirm"]');
    const ended = await rowWhere(name, "completed", (r) => r.state === "ended");
    assert.equal(ended.reason, "Completed its work");
  }));

test("a scripted session is cancelled after a question, and shows why it ended", () =>
  app.withScreenshot("scripted-cancel", async () => {
    const accounts = await app.invoke("list_accounts");
    const account = accounts.value.find((v) => v.account.provider === "scripted").account;
    const launched = await app.invoke("launch_session", {
      accountId: account.id,
      request: { machine_id: "", resource: null, timeout_minutes: null, params: { who: "bo" } },
    });
    assert.equal(launched.ok, true, launched.error);
    const missing = await app.invoke("launch_session", {
      accountId: account.id,
      request: { machine_id: "", resource: null, timeout_minutes: null, params: {} },
    });
    assert.equal(missing.ok, false, "a launch without its required parameter is refused");
    assert.match(missing.error, /Who/);
    const name = launched.value.name;
    const shown = await rowWhere(name, "shown", (r) => r.state !== "starting");
    // The tray's "Open" shows a session without a web page in the main window, opened.
    const tray = await app.invoke("tray_menu");
    const open = tray.value.rows.find((r) => r.session_id === shown.id).items[0];
    assert.equal(open.enabled, true, "a session without a page opens in the app");
    const activated = await app.invoke("activate_menu_item", { id: open.id });
    assert.equal(activated.ok, true, activated.error);
    await poll("its detail view", 20000, async () =>
      (await inMain(
        `return !!document.querySelector('[data-testid="session-history-row"][data-session-id="' + arguments[0] + '"] [data-testid="session-detail"]')`,
        [shown.id],
      ))
        ? true
        : undefined);
    await click(`[data-testid="session-row"][data-session-id="${shown.id}"] [data-testid="session-cancel"]`);
    await driver.waitFor('[data-testid="session-cancel-question"]');
    await click('[data-testid="session-cancel-confirm"]');
    const ended = await rowWhere(name, "cancelled", (r) => r.state === "ended");
    assert.equal(ended.reason, "Cancelled");
  }));

test("an account added and removed with the CLI while the app runs is watched and let go at once", () =>
  app.withScreenshot("scripted-outside", async () => {
    await click('[data-testid="view-accounts"]');
    await driver.waitFor('[data-testid="account-row"]');
    const added = await porthole(["accounts", "add", "Outside", "--provider", "scripted", "--url", `file://${folder}`], "outside-key\n");
    assert.equal(added.code, 0, added.out);
    const account = await poll("the account in the app", 20000, async () => {
      const reply = await app.invoke("list_accounts");
      return reply.ok ? reply.value.find((v) => v.account.name === "Outside")?.account : undefined;
    });
    // Shown without leaving the screen, and usable: its watcher runs.
    await poll("its row on the screen", 20000, async () =>
      (await inMain(`return !!document.querySelector('[data-testid="account-row"][data-account-id="' + arguments[0] + '"]')`, [account.id]))
        || undefined);
    const resources = await poll("its resources", 20000, async () => {
      const reply = await app.invoke("list_resources", { accountId: account.id });
      return reply.ok ? reply.value : undefined;
    });
    assert.equal(resources[0].id, "runner");

    const removed = await porthole(["accounts", "remove", "Outside"]);
    assert.equal(removed.code, 0, removed.out);
    await poll("its row gone", 20000, async () =>
      (await inMain(`return !document.querySelector('[data-testid="account-row"][data-account-id="' + arguments[0] + '"]')`, [account.id]))
        || undefined);
    await poll("its watcher gone", 20000, async () => {
      const reply = await app.invoke("list_resources", { accountId: account.id });
      return reply.ok ? undefined : true;
    });
  }));
