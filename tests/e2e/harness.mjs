// The real app in a real window, started through tauri-driver for one test file: what every
// end-to-end test file shares. tests/e2e/run.sh sets up the display, the bus and the keychain.
import { spawn } from "node:child_process";
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { WebDriver, poll } from "./webdriver.mjs";

export { poll };

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const appPath = process.env.PORTHOLE_APP ?? join(root, "target/debug/porthole-desktop");
const screenshots = join(root, "target/e2e-screenshots");
export const cargoVersion = readFileSync(join(root, "Cargo.toml"), "utf8").match(/^version = "([^"]+)"/m)[1];

export function freePort() {
  return new Promise((ok, fail) => {
    const srv = net.createServer();
    srv.once("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

/**
 * Ends a process group started with `detached: true`: SIGTERM, then SIGKILL for whatever is
 * still there after 5 s. Quitting the WebDriver session normally kills the app; once in a CI run
 * it did not, and the app, holding the driver's output pipes, kept the test file from exiting.
 */
async function endGroup(child) {
  const signal = (sig) => {
    try {
      process.kill(-child.pid, sig);
      return true;
    } catch {
      return false; // ESRCH: nothing left in the group
    }
  };
  if (!signal("SIGTERM")) return;
  try {
    await poll("the driver's process group to end", 5000, async () => (signal(0) ? undefined : true), 50);
  } catch {
    signal("SIGKILL");
  }
}

export class E2EApp {
  /** Starts tauri-driver and the app with `env` added to this process's environment. */
  static async start(env = {}) {
    const port = await freePort();
    const nativePort = await freePort();
    // Its own process group: tauri-driver, WebKitWebDriver and the app they start, so `stop`
    // can end all three (an app left behind keeps this process alive through its output pipes).
    const tauriDriver = spawn("tauri-driver", ["--port", String(port), "--native-port", String(nativePort)], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    // Everything the driver and the app print: shown as usual, and kept for the secrets scan.
    const output = [];
    for (const [stream, sink] of [
      [tauriDriver.stdout, process.stdout],
      [tauriDriver.stderr, process.stderr],
    ]) {
      stream.on("data", (chunk) => {
        output.push(chunk.toString());
        sink.write(chunk);
        // run.sh collects every app's output in one file for the secrets scan.
        if (process.env.PORTHOLE_E2E_OUTPUT_LOG) appendFileSync(process.env.PORTHOLE_E2E_OUTPUT_LOG, chunk);
      });
    }
    const base = `http://127.0.0.1:${port}`;
    try {
      await poll("tauri-driver to answer", 20000, async () => ((await fetch(`${base}/status`)).ok ? true : undefined));
      const driver = await WebDriver.start(base, {
        browserName: "wry",
        "tauri:options": { application: appPath },
      });
      const app = new E2EApp(driver, tauriDriver, output);
      app.mainHandle = await app.windowWhere("the main window", (url) => url.startsWith("tauri://localhost"));
      return app;
    } catch (err) {
      await endGroup(tauriDriver);
      throw err;
    }
  }

  constructor(driver, tauriDriver, output) {
    this.driver = driver;
    this.tauriDriver = tauriDriver;
    /** Chunks of the driver's and the app's stdout and stderr so far. */
    this.output = output;
    this.mainHandle = undefined;
  }

  /**
   * Stops the sessions the tests left running (the app is killed, not quit, so it cannot stop
   * them itself), then the app. Each step is bounded: a stuck WebDriver never hangs the suite.
   */
  async stop() {
    const bounded = (promise, ms) =>
      Promise.race([promise.catch(() => {}), new Promise((done) => setTimeout(done, ms).unref())]);
    if (this.driver && this.mainHandle) {
      await bounded(this.#stopSessions(), 30000);
    }
    await bounded(this.driver?.quit() ?? Promise.resolve(), 15000);
    if (this.tauriDriver) await endGroup(this.tauriDriver);
  }

  async #stopSessions() {
    await this.driver.switchTo(this.mainHandle);
    const listed = await this.invoke("list_sessions", { accountId: null });
    if (!listed.ok) return;
    for (const s of listed.value.filter((s) => s.state.state !== "ended")) {
      await this.invoke("stop_session", { accountId: s.account_id, sessionId: s.id });
    }
    await poll("the left-over sessions to end", 20000, async () => {
      const now = await this.invoke("list_sessions", { accountId: null });
      return now.ok && now.value.every((s) => s.state.state === "ended") ? true : undefined;
    });
  }

  /** Runs a test body; on failure saves a screenshot of the current window under target/. */
  async withScreenshot(name, body) {
    try {
      await body();
    } catch (err) {
      try {
        mkdirSync(screenshots, { recursive: true });
        const file = join(screenshots, `${name.replace(/[^a-z0-9]+/gi, "-")}.png`);
        writeFileSync(file, Buffer.from(await this.driver.screenshot(), "base64"));
        console.error(`screenshot saved: ${file}`);
      } catch (shotErr) {
        console.error(`no screenshot: ${shotErr.message}`);
      }
      throw err;
    }
  }

  /** The handle of the window whose URL (and handle) satisfies `match`, polling while windows
   * open. */
  windowWhere(what, match) {
    return poll(what, 15000, async () => {
      for (const handle of await this.driver.windowHandles()) {
        await this.driver.switchTo(handle);
        if (match(await this.driver.url(), handle)) return handle;
      }
      return undefined;
    });
  }

  /** Whether the current window's page has Tauri's IPC injected. */
  pageHasIpc() {
    return this.driver.execute(`return typeof window.__TAURI_INTERNALS__?.invoke === "function"`);
  }

  /**
   * Calls an app command from the current window; resolves to {ok, value} or {ok:false, error}.
   * A refusal can arrive as a rejected promise or, in a remote page, as a script error that
   * WebKitWebDriver reports for the whole script: both count as the call failing.
   */
  /** Invokes a command from the main window; its value, or throws with its coded error. */
  async call(cmd, args = {}) {
    await this.driver.switchTo(this.mainHandle);
    const reply = await this.invoke(cmd, args);
    if (!reply.ok) throw new Error(`${cmd} failed: ${reply.error}`);
    return reply.value;
  }

  async invoke(cmd, args = {}) {
    try {
      return await this.driver.executeAsync(
        `const [cmd, args, done] = arguments;
         Promise.resolve()
           .then(() => window.__TAURI_INTERNALS__.invoke(cmd, args))
           .then(
             (value) => done({ ok: true, value }),
             (error) => done({ ok: false, error: String(error?.message ?? JSON.stringify(error) ?? error) }),
           );`,
        [cmd, args],
      );
    } catch (err) {
      if (err.wdError === undefined) throw err;
      return { ok: false, error: err.wdError };
    }
  }
}
