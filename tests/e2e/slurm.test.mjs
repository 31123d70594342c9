// End to end: GPU sessions on a Slurm cluster. run.sh starts a one-node Slurm (two fake GPUs as
// GRES) and a portholed whose sessions are Slurm jobs, and hands over its pairing string. The real
// app pairs with it; its launch form shows the cluster's partitions with what is free and offers
// no timeout past the partition's limit. A session takes both GPUs, a second one waits in the
// queue with Slurm's reason on its row, starts once the first is stopped, opens in a window
// through portholed's tunnel and answers typing; extending it moves the job's time limit in Slurm.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";

import { E2EApp, poll } from "./harness.mjs";

const pairing = process.env.PORTHOLE_E2E_SLURM;
const skip = pairing ? false : "needs root and Slurm: run.sh starts a one-node cluster";
let app;

before(async () => {
  if (!skip) app = await E2EApp.start();
});

after(async () => {
  await app?.stop();
});

/** Invokes a command from the main window, failing the test with its coded error. */
const call = (cmd, args) => app.call(cmd, args);

async function inMain(script, args = []) {
  await app.driver.switchTo(app.mainHandle);
  return app.driver.execute(script, args);
}

/** What Slurm itself says of the job of session `id` (found by the comment portholed gives it). */
function slurmJob(id, format) {
  const jobs = execFileSync("squeue", ["--noheader", "--states=all", "-o", `%k|${format}`], { encoding: "utf8" });
  const line = jobs.split("\n").find((l) => l.split("|")[0].endsWith(`:${id}`));
  return line?.split("|").slice(1).join("|").trim();
}

async function sessionOf(accountId, id) {
  const sessions = await call("list_sessions", { accountId });
  return sessions.find((s) => s.id === id);
}

test("a cluster's GPU session waits in Slurm's queue on its row, then opens through the tunnel and extends its job", { skip }, () =>
  app.withScreenshot("slurm", async () => {
    const account = await call("pair_account", { name: "cluster", pairing });
    const accountId = account.account.id;
    const machines = await poll("the cluster's machines", 30000, async () => {
      const reply = await app.invoke("list_machines", { accountId });
      return reply.ok ? reply.value : undefined;
    });
    const terminal = machines.find((m) => m.name === "terminal");

    // The launch form: the partitions with their free GPUs, and the gpu partition's 10 minutes.
    await inMain(`document.querySelector('[data-testid="launch-open"]').click(); return true;`);
    // The app learns of the account from its accounts file within a second or two.
    await poll("the paired account in the launch form", 20000, async () =>
      (await inMain(`return !!document.querySelector('[data-testid="launch-account"] option[value="' + arguments[0] + '"]')`, [accountId])) || undefined);
    await inMain(`const s = document.querySelector('[data-testid="launch-account"]');
      s.value = arguments[0]; s.dispatchEvent(new Event("change")); return true;`, [accountId]);
    const label = await poll("the cluster's resources in the form", 30000, async () =>
      (await inMain(`return document.querySelector('[data-resource-id="gpu/fake:1"] .label')?.textContent ?? ""`)) || undefined);
    assert.equal(label, "1 × fake on gpu (2 of 2 free)");
    await inMain(`document.querySelector('[data-resource-id="gpu/fake:1"] input').click(); return true;`);
    const timeouts = await poll("timeouts bounded by the partition", 10000, async () => {
      const values = await inMain(`return [...document.querySelectorAll('[data-testid="launch-timeout"] option')].map((o) => Number(o.value))`);
      return Math.max(...values) === 10 ? values : undefined;
    });
    assert.deepEqual(timeouts, [5, 10]);
    await inMain(`document.querySelector('[data-testid="launch-cancel"]').click(); return true;`);

    // Both GPUs taken: the second session waits, and its row says why.
    const first = await call("launch_session", {
      accountId, request: { machine_id: terminal.id, resource: "gpu/fake:2", timeout_minutes: 5 },
    });
    await poll("the first session to be ready", 60000, async () =>
      ["ready", "expiring"].includes((await sessionOf(accountId, first.id))?.state.state) || undefined);
    const second = await call("launch_session", {
      accountId, request: { machine_id: terminal.id, resource: "gpu/fake:1", timeout_minutes: 5 },
    });
    const said = await poll("the queued row to say why it waits", 30000, async () => {
      const text = await inMain(`return document.querySelector('[data-testid="session-row"][data-session-id="' + arguments[0] + '"] [data-testid="session-status-label"]')?.textContent ?? ""`, [second.id]);
      return text.includes("Resources") ? text : undefined;
    });
    assert.match(said, /^Queued in Slurm \(job \d+\): Resources, 1st in line$/);
    assert.equal(slurmJob(second.id, "%T"), "PENDING");

    // The first one stops: the second starts on the freed GPU, opens, and answers typing.
    await call("stop_session", { accountId, sessionId: first.id });
    await poll("the second session to be ready", 60000, async () =>
      ["ready", "expiring"].includes((await sessionOf(accountId, second.id))?.state.state) || undefined);
    assert.equal(slurmJob(second.id, "%T %b"), "RUNNING gres:gpu:fake:1");
    await call("open_session", { accountId, sessionId: second.id });
    const handle = await app.windowWhere("the session window", (url) => /^http:\/\/127\./.test(url));
    const marker = `porthole-${randomBytes(6).toString("hex")}`;
    await poll("the cluster's shell to answer", 30000, async () => {
      await app.driver.switchTo(handle);
      const input = await app.driver.find(".xterm-helper-textarea");
      await app.driver.sendKeys(input, `echo ${marker} gpu=$CUDA_VISIBLE_DEVICES\n`);
      const text = await app.driver.execute(`return document.querySelector(".xterm-rows")?.textContent ?? ""`);
      return text.includes(`${marker} gpu=0`) ? text : undefined;
    }, 500);

    // Extend: the job's own time limit moves.
    await call("extend_session", { accountId, sessionId: second.id, minutes: 3 });
    assert.equal(slurmJob(second.id, "%l"), "8:00");
    await call("stop_session", { accountId, sessionId: second.id });
    await poll("the job to be cancelled in Slurm", 30000, async () =>
      slurmJob(second.id, "%T") === "CANCELLED" || undefined);
    await call("remove_account", { id: accountId });
  }));
