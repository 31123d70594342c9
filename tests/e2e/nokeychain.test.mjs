// End to end without any keychain: no session bus at all. The app must still start, say why
// keys cannot be stored (a coded error), and run the Local account with its key in a 0600 file.
// tests/e2e/run.sh runs this file on its own, outside the D-Bus session of the other files.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { join } from "node:path";

import { E2EApp, poll } from "./harness.mjs";

let app;

before(async () => {
  app = await E2EApp.start();
});

after(async () => {
  await app?.stop();
});

test("with no Secret Service the app starts, explains, and keeps the Local key in a private file", () =>
  app.withScreenshot("no-keychain", async () => {
    await app.driver.switchTo(app.mainHandle);
    const empty = await app.driver.textOf('[data-testid="session-list-empty"]');
    assert.match(empty, /No sessions yet/);
    const info = await poll("app info with a running Local server", 30000, async () => {
      const reply = await app.invoke("app_info");
      assert.equal(reply.ok, true, `app_info failed: ${reply.error}`);
      return reply.value.local_server.state === "running" ? reply.value : undefined;
    });
    assert.equal(info.keychain.usable, false);
    assert.equal(info.keychain.error.code, "keychain_unavailable");
    assert.ok(info.keychain.error.message.length > 20, info.keychain.error.message);
    assert.equal(info.local_server.key_in_keychain, false);
    const keyFile = join(process.env.PORTHOLE_DATA_DIR, "portholed", "api-key");
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    // The About panel opens by itself and shows the coded problem to the person too.
    await poll("the About panel open by itself", 15000, async () =>
      (await app.driver.execute(`return !document.querySelector('[data-testid="about-panel"]').hidden`)) || undefined,
    );
    const shown = await poll("the keychain problem in the About panel", 15000, async () => {
      const text = await app.driver.execute(
        `return document.querySelector('[data-testid="keychain-status"]')?.textContent ?? ""`,
      );
      return text.includes("keychain_unavailable") ? text : undefined;
    });
    assert.match(shown, /Unavailable/);
  }));
