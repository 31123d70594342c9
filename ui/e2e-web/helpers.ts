import type { Locator, Page } from "@playwright/test";

/** Console errors and uncaught exceptions (CSP violations included) seen by the page. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(error.message));
  return errors;
}

/** Presses Tab until `target` has focus; fails after `max` presses. Returns the presses used. */
export async function tabTo(page: Page, target: Locator, max = 20): Promise<number> {
  for (let presses = 1; presses <= max; presses++) {
    await page.keyboard.press("Tab");
    if (await target.evaluate((element) => element === document.activeElement)) return presses;
  }
  throw new Error(`Tab did not reach ${target} in ${max} presses`);
}
