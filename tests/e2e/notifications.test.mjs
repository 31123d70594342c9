// End to end: notifications on the real session bus, read back with dbus-monitor. run.sh starts
// dunst and a monitor writing every Notify call to $PORTHOLE_E2E_NOTIFY_LOG, and runs the app
// with a time scale (PORTHOLE_LOCAL_MINUTE_SECONDS) so a Local session times out in seconds.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import { E2EApp, poll } from "./harness.mjs";

let app;
const log = process.env.PORTHOLE_E2E_NOTIFY_LOG;

before(async () => {
  app = await E2EApp.start({ PORTHOLE_LOCAL_MINUTE_SECONDS: "1" });
});

after(async () => {
  await app?.stop();
});

/** The string arguments of each Notify call, in order (app name, icon, summary, body). */
function notifications() {
  const text = readFileSync(log, "utf8");
  return text
    .split(/^method call/m)
    .filter((call) => call.includes("member=Notify"))
    .map((call) => [...call.matchAll(/^\s*string "(.*)"$/gm)].map((m) => m[1]));
}

test("a Local session that times out notifies ready, its warning, then timed out, once each", { skip: !log }, () =>
  app.withScreenshot("notifications", async () => {
    await app.driver.switchTo(app.mainHandle);
    const machines = await poll("the Local account", 30000, async () => {
      const reply = await app.invoke("list_machines", { accountId: "local" });
      return reply.ok ? reply.value : undefined;
    });
    const terminal = machines.find((m) => m.name === "terminal");
    // 3 scaled minutes: 3 seconds, well inside the T-10/T-2 warning window from the start.
    const reply = await app.invoke("launch_session", {
      accountId: "local",
      request: { machine_id: terminal.id, resource: null, timeout_minutes: 3 },
    });
    assert.equal(reply.ok, true, reply.error);
    const name = reply.value.name;
    const summaries = await poll("the timed-out notification", 40000, async () => {
      const mine = notifications()
        .map((args) => args.find((a) => a.startsWith(name)))
        .filter(Boolean);
      return mine.some((s) => s.endsWith("timed out")) ? mine : undefined;
    });
    assert.equal(summaries.length, 3, summaries.join(" | "));
    assert.equal(summaries[0], `${name} is ready`);
    assert.match(summaries[1], new RegExp(`^${name} ends in \\d+ minutes?$`));
    assert.equal(summaries[2], `${name} timed out`);
  }));
