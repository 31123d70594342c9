// Runs last: after accounts were added, sessions launched, typed into and notified about, no key
// (nor the wrong key typed into the form) appears in the config or data folders, the logs, the
// notifications or anything any app instance printed. Then the web storage of a fresh window.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

import { E2EApp } from "./harness.mjs";

let app;

before(async () => {
  app = await E2EApp.start();
});

after(async () => {
  await app?.stop();
});

function filesUnder(dir) {
  let out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    out = statSync(path).isDirectory() ? out.concat(filesUnder(path)) : out.concat([path]);
  }
  return out;
}

test("secrets scan: no key in the folders, the logs, the notifications, any output or web storage", () =>
  app.withScreenshot("secrets-scan", async () => {
    const localKey = execFileSync(
      "secret-tool",
      ["lookup", "service", "dev.porthole.desktop", "username", "portholed-api-key"],
      { encoding: "utf8" },
    );
    assert.ok(localKey.length > 16, "the Local key is needed for the scan");
    const secrets = [localKey, "wrong-key-e2e"];
    const files = [
      ...filesUnder(process.env.PORTHOLE_CONFIG_DIR),
      ...filesUnder(process.env.PORTHOLE_DATA_DIR),
      process.env.PORTHOLE_E2E_OUTPUT_LOG,
      process.env.PORTHOLE_E2E_NOTIFY_LOG,
    ].filter((f) => f && existsSync(f));
    for (const expected of ["accounts.json", "porthole.log", "portholed.sqlite", "output.log"]) {
      assert.ok(files.some((f) => f.endsWith(expected)), `${expected} was not scanned: ${files.join(", ")}`);
    }
    for (const file of files) {
      const text = readFileSync(file, "latin1");
      for (const secret of secrets) assert.ok(!text.includes(secret), `a key is written in ${file}`);
    }
    // Private: both folders are 0700, and every file the app and portholed write in them is
    // 0600 (WebKit's own files are kept in webkit/, a 0700 folder of their own).
    for (const root of [process.env.PORTHOLE_CONFIG_DIR, process.env.PORTHOLE_DATA_DIR]) {
      assert.equal(statSync(root).mode & 0o777, 0o700, `${root} is open to others`);
      for (const file of filesUnder(root)) {
        if (file.startsWith(join(root, "webkit") + "/")) continue;
        assert.equal(statSync(file).mode & 0o077, 0, `${file} can be read by other users`);
      }
    }
    const webkit = join(process.env.PORTHOLE_DATA_DIR, "webkit");
    assert.equal(statSync(webkit).mode & 0o777, 0o700, "WebKit's folder is open to others");
    await app.driver.switchTo(app.mainHandle);
    const stored = await app.driver.execute(
      `return [localStorage, sessionStorage].map((s) => JSON.stringify(Object.entries(s))).join("")`,
    );
    for (const secret of secrets) assert.ok(!stored.includes(secret), "a key is in the web storage");
  }));
