// A small W3C WebDriver client: just the commands the end-to-end suite needs, over fetch.
// tauri-driver forwards them to WebKitWebDriver, which drives the real app's webviews.

const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";

export class WebDriver {
  constructor(base, sessionId) {
    this.base = base;
    this.sessionId = sessionId;
  }

  static async start(base, capabilities) {
    // Starting the app (a debug build, on a busy machine) may take longer than a command.
    const res = await call(base, "POST", "/session", { capabilities: { alwaysMatch: capabilities } }, 180000);
    return new WebDriver(base, res.sessionId);
  }

  cmd(method, path, body, timeoutMs) {
    return call(this.base, method, `/session/${this.sessionId}${path}`, body, timeoutMs);
  }

  async quit() {
    await this.cmd("DELETE", "");
  }

  async find(css) {
    const el = await this.cmd("POST", "/element", { using: "css selector", value: css });
    return el[ELEMENT];
  }

  /** Polls until `css` matches an element, or throws after `timeoutMs`. */
  async waitFor(css, timeoutMs = 15000) {
    return poll(`element ${css}`, timeoutMs, async () => {
      try {
        return await this.find(css);
      } catch (err) {
        if (err.wdError === "no such element") return undefined;
        throw err;
      }
    });
  }

  text(elementId) {
    return this.cmd("GET", `/element/${elementId}/text`);
  }

  async textOf(css, timeoutMs) {
    return this.text(await this.waitFor(css, timeoutMs));
  }

  /** Types `text` into an element, as a person would (keyboard events). */
  sendKeys(elementId, text) {
    return this.cmd("POST", `/element/${elementId}/value`, { text });
  }

  /** Fills the field labelled `label` in the form `formTestId` of the current page, as typing
   * would (Svelte listens to input, or change for a select). */
  fillLabelled(formTestId, label, value) {
    return this.execute(
      `const [formId, label, value] = arguments;
       const form = document.querySelector('[data-testid="' + formId + '"]');
       const l = [...form.querySelectorAll("label")].find((x) => x.textContent.trim() === label);
       const field = document.getElementById(l.htmlFor);
       field.value = value;
       field.dispatchEvent(new Event(field.tagName === "SELECT" ? "change" : "input", { bubbles: true }));
       return true;`,
      [formTestId, label, value],
    );
  }

  click(elementId) {
    return this.cmd("POST", `/element/${elementId}/click`, {});
  }

  /** Runs `script` in the current window; it gets `done` as its last argument. */
  executeAsync(script, args = []) {
    return this.cmd("POST", "/execute/async", { script, args });
  }

  execute(script, args = []) {
    return this.cmd("POST", "/execute/sync", { script, args });
  }

  windowHandles() {
    return this.cmd("GET", "/window/handles");
  }

  switchTo(handle) {
    return this.cmd("POST", "/window", { handle });
  }

  url() {
    return this.cmd("GET", "/url");
  }

  title() {
    return this.cmd("GET", "/title");
  }

  /** Bounded: a screenshot of a window Xvfb does not paint can hang until fetch gives up (300 s). */
  screenshot() {
    return this.cmd("GET", "/screenshot", undefined, 15000);
  }
}

/** One command; past `timeoutMs` (default: a minute, twice the drivers' own script limit) it
 * fails rather than holding the suite until fetch's own five-minute limit. */
async function call(base, method, path, body, timeoutMs = 60000) {
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`WebDriver ${method} ${path}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`);
  }
  const value = json.value;
  if (!res.ok || (value && value.error)) {
    const err = new Error(`WebDriver ${method} ${path}: ${value?.error}: ${value?.message}`);
    err.wdError = value?.error;
    throw err;
  }
  return value;
}

/** Calls `probe` until it returns something other than undefined, or fails after `timeoutMs`. */
export async function poll(what, timeoutMs, probe, intervalMs = 100) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${lastError.message}` : ""}`);
}
