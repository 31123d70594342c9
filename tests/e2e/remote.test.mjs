// End to end: your own GPU box. run.sh serves portholed in a network namespace (a second machine
// whose loopback this one cannot reach) and hands over the pairing string it printed. The real
// app pairs with it, launches a terminal there, opens it in a window (through the pinned TLS
// tunnel), types into it and reads the shell's answer; then the link goes down under the open
// window and comes back, and the window gets its terminal back by itself.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";

import { E2EApp, poll } from "./harness.mjs";

const pairing = process.env.PORTHOLE_E2E_REMOTE;
const link = process.env.PORTHOLE_E2E_REMOTE_LINK;
const skip = pairing ? false : "needs root: run.sh serves portholed in a network namespace";
let app;

before(async () => {
  if (!skip) app = await E2EApp.start();
});

after(async () => {
  await app?.stop();
});

/** Invokes a command from the main window, failing the test with its coded error. */
const call = (cmd, args) => app.call(cmd, args);

/** Types `echo MARKER` into the terminal window until the shell's answer shows (the command line
 * shows the marker once, its output again). */
async function shellEchoes(handle, what, limitMs = 20000) {
  const driver = app.driver;
  const marker = `porthole-${randomBytes(6).toString("hex")}`;
  await poll(what, limitMs, async () => {
    await driver.switchTo(handle);
    const input = await driver.find(".xterm-helper-textarea");
    await driver.sendKeys(input, `echo ${marker}\n`);
    const text = await driver.execute(`return document.querySelector(".xterm-rows")?.textContent ?? ""`);
    return text.split(marker).length > 2 ? text : undefined;
  }, 500);
}

test("a paired GPU box's terminal opens in a window through its tunnel, and comes back after the link drops", { skip }, () =>
  app.withScreenshot("remote-terminal", async () => {
    const account = await call("pair_account", { name: "gpu-box", pairing });
    assert.match(account.account.fields.tls_fingerprint, /^sha256:[0-9a-f]{64}$/);
    const id = account.account.id;
    const machines = await poll("the box's machines", 30000, async () => {
      const reply = await app.invoke("list_machines", { accountId: id });
      return reply.ok ? reply.value : undefined;
    });
    const terminal = machines.find((m) => m.name === "terminal");
    const launched = await call("launch_session", {
      accountId: id,
      request: { machine_id: terminal.id, resource: null, timeout_minutes: 20 },
    });
    // Ready only once its page answered: probed through the tunnel (its URL is the box's loopback).
    await poll("the session to be ready", 30000, async () => {
      const sessions = await call("list_sessions", { accountId: id });
      const s = sessions.find((x) => x.id === launched.id);
      return ["ready", "expiring"].includes(s?.state.state) ? s : undefined;
    });
    await call("open_session", { accountId: id, sessionId: launched.id });
    const handle = await app.windowWhere("the session window", (url) => /^http:\/\/127\./.test(url));
    await shellEchoes(handle, "the remote shell to answer");
    const port = new URL(await app.driver.url()).port;

    // The link dies under the open window: the dead tunnel ends within its keepalive (about
    // 30 s), the page tries again; once the link is back the terminal answers again, on the same
    // local port, without anyone reloading it.
    // The terminal page's status line: empty while its WebSocket is open, "disconnected,
    // retrying…" while it is not (the proxy's "Tunnel unreachable" page, if it reloaded).
    const status = `return document.getElementById("status")?.textContent
      ?? (document.title === "Tunnel unreachable" ? "unreachable" : null)`;
    await app.driver.switchTo(handle);
    assert.equal(await app.driver.execute(status), "", "the terminal was not connected before the drop");
    const dropped = Date.now();
    execFileSync("ip", ["link", "set", link, "down"]);
    try {
      const noticed = await poll("the terminal to notice the dead tunnel", 60000, async () => {
        await app.driver.switchTo(handle);
        return /disconnected|unreachable/i.test(await app.driver.execute(status)) ? Date.now() : undefined;
      }, 500);
      console.log(`the dead tunnel was noticed after ${((noticed - dropped) / 1000).toFixed(1)} s`);
    } finally {
      execFileSync("ip", ["link", "set", link, "up"]);
    }
    await shellEchoes(handle, "the shell to answer again after the link came back", 60000);
    assert.equal(new URL(await app.driver.url()).port, port, "the window moved to another port");

    await call("stop_session", { accountId: id, sessionId: launched.id });
    await call("remove_account", { id });
  }));
