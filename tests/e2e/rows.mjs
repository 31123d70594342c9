// What the end-to-end files do in the main window, shared: run a script there, click, fill
// fields and forms, read a session's row as shown, wait for a row to change, and read the
// notifications that reached the bus (their titles, or titles with bodies).
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

  /** The notifications whose title starts with `name`: `{ title, body }`, in order. */
  function notices(name) {
    return readFileSync(log, "utf8")
      .split(/^method call/m)
      .filter((call) => call.includes("member=Notify"))
      .map((call) => [...call.matchAll(/^\s*string "([\s\S]*?)"$/gm)].map((m) => m[1]))
      .map((strings) => {
        const at = strings.findIndex((s) => s.startsWith(name));
        return at < 0 ? null : { title: strings[at], body: strings[at + 1] ?? "" };
      })
      .filter(Boolean);
  }

  /** Adds an account of `provider` in the window, its fields filled by label in order
   * (`[["Name", "Quantum"], …]`); resolves to the account once the app lists it. */
  async function addAccount(provider, fields) {
    const app = getApp();
    await click('[data-testid="view-accounts"]');
    await click('[data-testid="add-account-open"]');
    await app.driver.waitFor('[data-testid="add-account"] select');
    for (const [label, value] of fields) await fill("add-account", label, value);
    await click('[data-testid="add-account-form-submit"]');
    // The one named so, where a name is given (there may be more of the provider).
    const name = fields.find(([label]) => label === "Name")?.[1];
    return poll(`the ${provider} account`, 20000, async () => {
      const reply = await app.invoke("list_accounts");
      const added = (v) => v.account.provider === provider && (name === undefined || v.account.name === name);
      return reply.ok ? reply.value.find(added)?.account : undefined;
    });
  }

  /** What the account's row shows under it (`account_details`), once it shows something. */
  function accountDetail(accountId, what) {
    return poll(what, 20000, async () =>
      (await inMain(
        `return document.querySelector('[data-testid="account-row"][data-account-id="' + arguments[0] + '"] [data-testid="account-detail"]')?.textContent`,
        [accountId],
      )) || undefined);
  }

  /** Opens the launch dialog on the sessions view with `accountId` chosen. */
  async function openLaunch(accountId) {
    const app = getApp();
    await click('[data-testid="view-sessions"]');
    await poll("the launch button", 20000, async () =>
      (await inMain(`const b = document.querySelector('[data-testid="launch-open"]'); return !!b && !b.disabled;`))
        || undefined);
    await click('[data-testid="launch-open"]');
    await app.driver.waitFor('[data-testid="launch-account"]');
    await setField('[data-testid="launch-account"]', accountId);
  }

  /** Removes every account of `provider` (the next file's app shares the config folder). */
  async function removeAccounts(provider) {
    const app = getApp();
    const accounts = await app?.invoke("list_accounts");
    for (const view of accounts?.ok ? accounts.value : []) {
      if (view.account.provider === provider) await app.invoke("remove_account", { id: view.account.id });
    }
  }

  return {
    inMain, click, setField, fill, rowOf, rowWhere, notified, notices,
    addAccount, accountDetail, openLaunch, removeAccounts,
  };
}
