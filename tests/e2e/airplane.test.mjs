// End to end: an Airplane account in the real app, against the fake Airplane API
// (`porthole-fakes airplane`, built by `make e2e`). The account is added in the window, a
// runbook is launched with its parameters from the generated form, the session's wait for a
// person is told on the bus with its question, the prompt is answered in the app, and the
// session succeeds (told with its outputs).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";

import { porthole } from "./cli.mjs";
import { startFake, stopFake } from "./fakes.mjs";
import { E2EApp, poll } from "./harness.mjs";
import { inWindow } from "./rows.mjs";

let app;
let fake;
const log = process.env.PORTHOLE_E2E_NOTIFY_LOG;
const { inMain, click, setField, rowWhere, notices, addAccount, accountDetail, openLaunch, removeAccounts } =
  inWindow(() => app, log);

/** Asks every watcher to fetch now (what a person's "refresh" does). */
const refresh = () => app.invoke("refresh_sessions");

before(async () => {
  fake = await startFake("airplane", { step_ms: 500 });
  app = await E2EApp.start();
});

after(async () => {
  await removeAccounts("airplane");
  await app?.stop();
  stopFake(fake);
});

test("a runbook launched from the app waits for its approval, is answered there and succeeds", () =>
  app.withScreenshot("airplane", async () => {
    const account = await addAccount("airplane", [
      ["Name", "Runbooks"],
      ["Provider", "airplane"],
      ["Base URL", fake.base_url],
      ["Environment", "staging"],
      ["API key", fake.api_key],
    ]);
    assert.equal(account.fields.env, "staging");
    const access = await accountDetail(account.id, "what the key may do");
    assert.equal(access, "launch and answer");

    // Launched in the window: the runbook typed, its parameters asked by a generated form.
    await openLaunch(account.id);
    await app.driver.waitFor('[data-testid="launch-runbook"]');
    assert.equal(await inMain(`return document.querySelector('[data-testid="launch-timeout"]')`), null, "no time limit");
    await setField('[data-testid="launch-runbook"]', "deploy");
    await app.driver.waitFor('[data-testid="launch-param-service"]');
    const replicas = await inMain(`return document.querySelector('[data-testid="launch-param-replicas"]').value`);
    assert.equal(replicas, "2", "defaults filled");
    await setField('[data-testid="launch-param-service"]', "web");
    await click('[data-testid="launch-submit"]');
    const session = await poll("the launched session", 20000, async () => {
      const reply = await app.invoke("list_sessions", { accountId: account.id });
      return reply.ok ? reply.value.find((s) => s.resource === "rbk20220120deploy01") : undefined;
    });
    assert.equal(session.details.find((d) => d.label === "Parameter service")?.value, "web");
    const name = session.name;

    // It waits for a person: told on the bus with its question, first in the list.
    await rowWhere(name, "waiting for you", (r) => r.state === "waiting_for_input", refresh);
    if (log) {
      const told = await poll("the waiting notification", 20000, async () =>
        notices(name).find((n) => n.title === `${name} is waiting for you`));
      assert.match(told.body, /^Approve the deploy of web\?/, told.body);
    }

    // Answered in the app.
    await click(`[data-testid="session-row"][data-session-id="${session.id}"] [data-testid="session-open"]`);
    const prompt = await poll("the prompt", 20000, async () =>
      (await inMain(`return document.querySelector('[data-testid="session-prompt"]')?.dataset.promptId`)) || undefined);
    const message = await inMain(`return document.querySelector('[data-testid="session-prompt"]').textContent`);
    assert.match(message, /Approve the deploy of web\?/);
    assert.ok(
      await inMain(`return !!document.querySelector('[data-testid="session-prompt-form-reject"]')`),
      "it can be refused too",
    );
    await setField(`[data-testid="prompt-${prompt}-param-reason"]`, "ship it");
    await click('[data-testid="session-prompt-form-submit"]');

    // It succeeds, told with what it produced.
    const ended = await rowWhere(name, "succeeded", (r) => r.state === "ended", refresh);
    assert.equal(ended.reason, "Completed its work");
    if (log) {
      const told = await poll("the end notification", 20000, async () =>
        notices(name).find((n) => n.title === `${name} has ended`));
      assert.match(told.body, /deployed: web/, told.body);
    }
  }));

test("a key set with the CLI while the app runs is the one the app uses, at once", () =>
  app.withScreenshot("airplane-set-key", async () => {
    // Added with the CLI and a read-only key: once the app answers for it, its watcher has seen
    // that change of the accounts file and connected it, with that key.
    const added = await porthole(
      ["accounts", "add", "Read only", "--provider", "airplane", "--url", fake.base_url, "--field", "env=staging"],
      `${fake.read_only_key}\n`,
    );
    assert.equal(added.code, 0, added.out);
    const accounts = await app.invoke("list_accounts");
    const account = accounts.value.find((v) => v.account.name === "Read only").account;
    /** What the app's connection to the account may do, as the provider tells it. */
    const access = async () => {
      const reply = await app.invoke("account_details", { id: account.id });
      return reply.ok ? reply.value.find((d) => d.label === "Access")?.value : undefined;
    };
    assert.match(await poll("the read-only key's access", 20000, access), /^read-only/);
    const set = await porthole(["accounts", "set-key", "Read only"], `${fake.api_key}\n`);
    assert.equal(set.code, 0, set.out);
    await poll("the app on the new key", 20000, async () =>
      ((await access()) === "launch and answer" ? true : undefined));
  }));
