// What the end-to-end files do in the main window, shared: run a script there, click, fill
// fields and forms, read a session's row as shown, wait for a row to change, and read the
// notifications that reached the bus.
import { readFileSync } from "node:fs";

import { poll } from "./harness.mjs";

/** Helpers for the main window of the app `getApp()` returns; `log`: the notifications log. */
export function inWindow(getApp, log) {
  async function inMain(script, args = []) {
    const app = getApp();
    await app.driver.switchTo(app.mainHandle);
    return app.driver.execute(script, args);
  }

  const click = (css) => inMain(`document.querySelector(arguments[0]).click(); return true;`, [css]);

  /** Sets a field as typing would (Svelte listens to input, or change for a select). */
  const setField = (css, value) =>
    inMain(
      `const f = document.querySelector(arguments[0]); f.value = arguments[1];
       f.dispatchEvent(new Event(f.tagName === "SELECT" ? "change" : "input", { bubbles: true })); return true;`,
      [css, value],
    );

  /** Fills a labelled field of a form in the main window. */
  async function fill(formTestId, label, value) {
    const app = getApp();
    await app.driver.switchTo(app.mainHandle);
    return app.driver.fillLabelled(formTestId, label, value);
  }

  /** The row of the session called `name`: its state, end reason and clocks, as shown. */
  function rowOf(name) {
    return inMain(
      `const r = [...document.querySelectorAll('[data-testid="session-row"]')]
         .find((x) => x.querySelector('[data-testid="session-name"]')?.textContent === arguments[0]);
       if (!r) return null;
       return {
         state: r.dataset.state,
         label: r.querySelector('[data-testid="session-state"]')?.textContent.trim(),
         reason: r.querySelector('[data-testid="session-end-reason"]')?.textContent ?? null,
         clocks: [...r.querySelectorAll('[data-testid="session-clock"]')].map((c) =>
           ({ clock: c.dataset.clock, text: c.textContent.trim(), warned: c.classList.contains("warned") })),
         id: r.dataset.sessionId,
       };`,
      [name],
    );
  }

  /** Polls the row until `ok`; `nudge` runs before each look (asking the watchers to fetch
   * now). A session that waits (for first work, for a person) is otherwise polled by its
   * watcher every 15 s, so a change may take that long to show. */
  function rowWhere(name, what, ok, nudge = async () => {}) {
    return poll(`${name}: ${what}`, 45000, async () => {
      await nudge();
      const r = await rowOf(name);
      return r && ok(r) ? r : undefined;
    });
  }

  /** Summaries of the notifications that name `name`, in order. */
  function notified(name) {
    return readFileSync(log, "utf8")
      .split(/^method call/m)
      .filter((call) => call.includes("member=Notify"))
      .map((call) => [...call.matchAll(/^\s*string "(.*)"$/gm)].map((m) => m[1]).find((a) => a.startsWith(name)))
      .filter(Boolean);
  }

  return { inMain, click, setField, fill, rowOf, rowWhere, notified };
}
