// End to end: the built app in a real window (Xvfb), driven through tauri-driver and
// WebKitWebDriver. Run it with tests/e2e/run.sh (or `make e2e`), which sets up the display, the
// session bus and an unlocked keychain.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import http from "node:http";

import { E2EApp, cargoVersion, poll } from "./harness.mjs";

let app;
let driver;
let foreign;
let foreignUrl;
let mainHandle;

const withScreenshot = (name, body) => app.withScreenshot(name, body);
const windowWhere = (what, match) => app.windowWhere(what, match);
const pageHasIpc = () => app.pageHasIpc();
const invokeFromPage = (cmd) => app.invoke(cmd);

before(async () => {
  foreign = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html" });
    res.end('<!doctype html><title>Foreign page</title><h1 id="foreign">not Porthole</h1>');
  });
  await new Promise((ok) => foreign.listen(0, "127.0.0.1", ok));
  foreignUrl = `http://127.0.0.1:${foreign.address().port}/`;
  app = await E2EApp.start({ PORTHOLE_E2E_FOREIGN_URL: foreignUrl });
  driver = app.driver;
  mainHandle = app.mainHandle;
});

after(async () => {
  await app?.stop();
  foreign?.close();
});

test("the main window shows the session list's empty state", () =>
  withScreenshot("empty-state", async () => {
    await driver.switchTo(mainHandle);
    assert.equal(await driver.title(), "Porthole");
    // Ended sessions are kept across restarts, and the files of this run share one data folder:
    // those an earlier file left are cleared first (notifications.test.mjs tests "Clear ended").
    const cleared = await invokeFromPage("clear_ended");
    assert.equal(cleared.ok, true, cleared.error);
    await driver.execute(`location.reload(); return true;`);
    const empty = await driver.textOf('[data-testid="session-list-empty"]');
    assert.match(empty, /No sessions yet/);
    const rows = await driver.execute(`return document.querySelectorAll('[data-testid="session-row"]').length`);
    assert.equal(rows, 0);
  }));

test("app info answers through the real IPC and shows in the window", () =>
  withScreenshot("app-info", async () => {
    await driver.switchTo(mainHandle);
    assert.equal(await pageHasIpc(), true);
    const reply = await invokeFromPage("app_info");
    assert.equal(reply.ok, true, `app_info failed: ${reply.error}`);
    const info = reply.value;
    assert.equal(info.name, "Porthole");
    assert.equal(info.version, cargoVersion);
    assert.equal(info.config_dir, process.env.PORTHOLE_CONFIG_DIR);
    assert.equal(info.data_dir, process.env.PORTHOLE_DATA_DIR);
    // run.sh starts an unlocked gnome-keyring: the real Secret Service round trip must work.
    assert.deepEqual(info.keychain, { usable: true, error: null });
    // All is well, so the About panel starts closed; its header button shows it.
    const hidden = await driver.execute(`return document.querySelector('[data-testid="about-panel"]').hidden`);
    assert.equal(hidden, true);
    await driver.execute(`document.querySelector('[data-testid="about-toggle"]').click(); return true;`);
    const shown = await poll("the version in the About panel", 15000, async () => {
      const text = await driver.textOf('[data-testid="app-info-version"]');
      return text.includes(cargoVersion) ? text : undefined;
    });
    assert.match(shown, new RegExp(cargoVersion.replace(/\./g, "\\.")));
  }));

test("a page from another origin, in a second window, cannot invoke app commands", () =>
  withScreenshot("foreign-origin", async () => {
    await windowWhere("the foreign window", (url) => url.startsWith(foreignUrl));
    assert.equal(await driver.textOf("#foreign"), "not Porthole");
    // Tauri injects its IPC into remote pages too; the ACL is what must refuse the call.
    assert.equal(await pageHasIpc(), true, "expected Tauri's IPC in the page, so the ACL is what refuses");
    const reply = await invokeFromPage("app_info");
    assert.equal(reply.ok, false, `a foreign page could call app_info: ${JSON.stringify(reply.value)}`);
    assert.match(reply.error, /not allowed/i);
  }));

test("the embedded Local server starts and answers with its key kept in the keychain", () =>
  withScreenshot("local-server", async () => {
    await driver.switchTo(mainHandle);
    const local = await poll("the Local server to run", 30000, async () => {
      const reply = await invokeFromPage("app_info");
      assert.equal(reply.ok, true, `app_info failed: ${reply.error}`);
      const status = reply.value.local_server;
      assert.notEqual(status.state, "failed", `the Local server failed: ${JSON.stringify(status)}`);
      return status.state === "running" ? status : undefined;
    });
    assert.match(local.base_url, /^http:\/\/127\.0\.0\.1:\d+\/api$/);
    assert.equal(local.key_in_keychain, true);
    // It is a real server: the public price list answers without a key, the API refuses one.
    const prices = await fetch(`${local.base_url}/platform/gpu-pricing`);
    assert.equal(prices.status, 200);
    assert.equal(typeof (await prices.json()).CPU, "number");
    const refused = await fetch(`${local.base_url}/sessions`);
    assert.equal(refused.status, 401);
  }));

/** What another program finds in the Secret Service for this entry (null: nothing). */
function keychainLookup(user) {
  try {
    return execFileSync("secret-tool", ["lookup", "service", "dev.porthole.desktop", "username", user], {
      encoding: "utf8",
    });
  } catch {
    return null;
  }
}

/** Fills a labelled field of a form in the page, as typing would. */
const fill = (formTestId, label, value) => driver.fillLabelled(formTestId, label, value);

function clickCss(css) {
  return driver.execute(`document.querySelector(arguments[0]).click(); return true;`, [css]);
}

test("an account added in the window keeps its key in the keychain, and removing it deletes the key", () =>
  withScreenshot("accounts", async () => {
    await driver.switchTo(mainHandle);
    const info = await poll("the Local server", 30000, async () => {
      const reply = await invokeFromPage("app_info");
      return reply.ok && reply.value.local_server.state === "running" ? reply.value : undefined;
    });
    // The embedded server's own key, read from outside the app: a real server to add as an account.
    const key = keychainLookup("portholed-api-key");
    assert.ok(key, "the Local server's key is in the keychain");

    await clickCss('[data-testid="view-accounts"]');
    await driver.waitFor('[data-testid="account-row"][data-account-id="local"]');
    await clickCss('[data-testid="add-account-open"]');
    await driver.waitFor('[data-testid="add-account"] select');
    await fill("add-account", "Name", "Loopback");
    await fill("add-account", "Provider", "portholed");
    // A portholed is paired by default; this one is added by its address and key.
    await clickCss('[data-testid="add-account"] input[type="radio"][value="key"]');
    await fill("add-account", "Base URL", info.local_server.base_url);
    await fill("add-account", "API key", "wrong-key-e2e");
    await clickCss('[data-testid="add-account-form-submit"]');
    const refused = await poll("the wrong key to be refused", 20000, async () => {
      const text = await driver.execute(`return document.querySelector('[data-testid="add-account"]')?.textContent ?? ""`);
      return text.includes("unauthorized") ? text : undefined;
    });
    assert.match(refused, /unauthorized/);
    assert.equal(keychainLookup("loopback"), null, "a refused key was stored");

    await fill("add-account", "API key", key);
    await clickCss('[data-testid="add-account-form-submit"]');
    const badge = await poll("the new account", 20000, async () => {
      const text = await driver.execute(
        `return document.querySelector('[data-testid="account-row"][data-account-id="loopback"] [data-testid="key-badge"]')?.textContent ?? ""`,
      );
      return text.trim() ? text.trim() : undefined;
    });
    assert.equal(badge, "Key set");
    assert.equal(keychainLookup("loopback"), key);
    // The key never reached the page: not in the DOM, not in web storage.
    const leaked = await driver.execute(
      `const k = arguments[0];
       const stores = [localStorage, sessionStorage].map((s) => Object.values(s).join(" ")).join(" ");
       return document.documentElement.outerHTML.includes(k) || stores.includes(k);`,
      [key],
    );
    assert.equal(leaked, false);

    await driver.execute(
      `const row = document.querySelector('[data-testid="account-row"][data-account-id="loopback"]');
       [...row.querySelectorAll("button")].find((b) => b.textContent.trim() === "Remove").click();
       return true;`,
    );
    await driver.waitFor('[data-testid="remove-confirm-submit"]');
    await clickCss('[data-testid="remove-confirm-submit"]');
    await poll("the account to go", 20000, async () => {
      const rows = await driver.execute(
        `return document.querySelectorAll('[data-testid="account-row"][data-account-id="loopback"]').length`,
      );
      return rows === 0 ? true : undefined;
    });
    assert.equal(keychainLookup("loopback"), null);
  }));

test("start at login is off by default, and turning it on and off writes and removes the autostart entry", () =>
  withScreenshot("start-at-login", async () => {
    await driver.switchTo(mainHandle);
    // run.sh gives the app a scratch HOME (the autostart entry goes to $HOME/.config/autostart).
    const entry = `${process.env.HOME}/.config/autostart/Porthole.desktop`;
    const read = async () => {
      const reply = await invokeFromPage("get_start_at_login");
      assert.equal(reply.ok, true, `get_start_at_login failed: ${reply.error}`);
      return reply.value;
    };
    assert.equal(await read(), false);
    assert.equal(existsSync(entry), false);
    let reply = await app.invoke("set_start_at_login", { enabled: true });
    assert.equal(reply.ok, true, `set_start_at_login failed: ${reply.error}`);
    assert.equal(await read(), true);
    const text = readFileSync(entry, "utf8");
    assert.match(text, /^Exec=.*porthole-desktop/m);
    reply = await app.invoke("set_start_at_login", { enabled: false });
    assert.equal(reply.ok, true, `set_start_at_login failed: ${reply.error}`);
    assert.equal(await read(), false);
    assert.equal(existsSync(entry), false);
  }));
