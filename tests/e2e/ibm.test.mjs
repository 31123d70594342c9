// End to end: an IBM Quantum account in the real app, against the fake IBM Quantum Runtime and
// its IAM (`porthole-fakes ibm-quantum`, built by `make e2e`). The account is added in the
// window (key, instance CRN, IAM URL), a session launched on a backend waits for its first job,
// runs when a job is submitted (as the user's own code would), lists the job in its detail view,
// goes idle (a notification on the bus), and is closed.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startFake, stopFake } from "./fakes.mjs";
import { E2EApp, poll } from "./harness.mjs";
import { inWindow } from "./rows.mjs";

let app;
let fake;
const log = process.env.PORTHOLE_E2E_NOTIFY_LOG;
const { inMain, click, setField, rowWhere, notified, addAccount, accountDetail, openLaunch, removeAccounts } =
  inWindow(() => app, log);

/** A job into the session, as the user's own Qiskit code would submit it. */
async function submitJob(sessionId) {
  const form = new URLSearchParams({ grant_type: "urn:ibm:params:oauth:grant-type:apikey", apikey: fake.api_key });
  const token = await (await fetch(`${fake.root}/identity/token`, { method: "POST", body: form })).json();
  const reply = await fetch(`${fake.base_url}/jobs`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token.access_token}`,
      "service-crn": fake.crn,
      "content-type": "application/json",
    },
    body: JSON.stringify({ program_id: "sampler", backend: "ibm_fez", session_id: sessionId, params: {} }),
  });
  const body = await reply.text();
  assert.equal(reply.status, 200, body);
  return JSON.parse(body).id;
}

/** Asks every watcher to fetch now (what a person's "refresh" does). */
const refresh = () => app.invoke("refresh_sessions");

before(async () => {
  // Jobs of half a second, idle 4 s after the last one.
  fake = await startFake("ibm-quantum", { job_seconds: 0.5, interactive_ttl: 4 });
  app = await E2EApp.start();
});

after(async () => {
  await removeAccounts("ibm_quantum");
  await app?.stop();
  stopFake(fake);
});

test("an IBM Quantum session waits for its first job, runs it, lists it, goes idle and is closed", () =>
  app.withScreenshot("ibm-quantum", async () => {
    const account = await addAccount("ibm_quantum", [
      ["Name", "Quantum"],
      ["Provider", "ibm_quantum"],
      ["Base URL", fake.base_url],
      ["Instance CRN", fake.crn],
      ["IAM URL", fake.root],
      ["API key", fake.api_key],
    ]);
    assert.equal(account.fields.instance, fake.crn);
    // The instance's usage beside it.
    const usage = await accountDetail(account.id, "the instance's usage");
    assert.equal(usage, "2 min of 10 min (20%)");

    const backends = await app.invoke("list_resources", { accountId: account.id });
    assert.equal(backends.ok, true, backends.error);
    const osaka = backends.value.find((r) => r.id === "ibm_osaka");
    assert.deepEqual(osaka.availability, { status: "unavailable", reason: "offline: maintenance" });

    // Launched in the window: no machine, a mode, a backend (the offline one not offered).
    await openLaunch(account.id);
    await app.driver.waitFor('[data-testid="launch-mode"]');
    assert.equal(await inMain(`return document.querySelector('[data-testid="launch-machine"]')`), null);
    await setField('[data-testid="launch-mode"]', "batch");
    await setField('[data-testid="launch-timeout"]', "60");
    const offered = await poll("the backends", 20000, async () => {
      const radios = await inMain(
        `return [...document.querySelectorAll('[data-testid="launch-resource"] input[type="radio"]')]
           .map((r) => ({ id: r.value, disabled: r.disabled }))`,
      );
      return radios.length > 0 ? radios : undefined;
    });
    assert.deepEqual(offered.find((r) => r.id === "ibm_osaka"), { id: "ibm_osaka", disabled: true });
    await click('[data-testid="launch-resource"] input[value="ibm_fez"]');
    await click('[data-testid="launch-submit"]');
    const session = await poll("the launched session", 20000, async () => {
      const reply = await app.invoke("list_sessions", { accountId: account.id });
      return reply.ok ? reply.value.find((s) => s.resource === "ibm_fez") : undefined;
    });
    const id = session.id;
    assert.equal(session.details.find((d) => d.label === "Mode")?.value, "batch", "the mode chosen");
    const queued = await rowWhere(id, "waiting for its first job", (r) => r.state === "queued", refresh);
    assert.deepEqual(queued.clocks.map((c) => c.clock), ["unused"], "only the unused clock runs before a job");

    // A job: it runs, and the hard clock starts.
    const job = await submitJob(id);
    const running = await rowWhere(id, "running", (r) => r.state === "ready" || r.state === "expiring", refresh);
    assert.ok(running.clocks.every((c) => c.clock !== "unused"), JSON.stringify(running.clocks));
    await click(`[data-testid="session-row"][data-session-id="${id}"] [data-testid="session-open"]`);
    await poll("the job in the detail view", 20000, async () =>
      (await inMain(`return !!document.querySelector('[data-testid="session-job"][data-job-id="' + arguments[0] + '"]')`, [job]))
        || undefined);
    const facts = await inMain(
      `return Object.fromEntries([...document.querySelectorAll('[data-testid="session-detail-fact"]')]
         .map((f) => [f.previousElementSibling.textContent, f.textContent]))`,
    );
    assert.equal(facts.Mode, "batch", JSON.stringify(facts));
    assert.equal(facts["Lifetime limit"], "1 h, from its first job", JSON.stringify(facts));
    assert.ok(facts["Became active"], JSON.stringify(facts));

    // No more work: idle, told on the bus.
    await rowWhere(id, "idle", (r) => r.state === "idle", refresh);
    if (log) {
      const seen = await poll("the idle notification", 20000, async () => {
        const mine = notified(id);
        return mine.includes(`${id} is idle`) ? mine : undefined;
      });
      assert.ok(seen.includes(`${id} started its first work`), seen.join(" | "));
    }

    // Close, as IBM calls it: confirmed, then (nothing queued) it completes.
    await click(`[data-testid="session-row"][data-session-id="${id}"] [data-testid="session-stop"]`);
    await click('[data-testid="session-stop-confirm"]');
    const ended = await rowWhere(id, "closed", (r) => r.state === "ended", refresh);
    assert.equal(ended.reason, "Completed its work");
  }));
