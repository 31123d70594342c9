import { expect, type Locator, type Page, test } from "@playwright/test";
import { collectErrors } from "./helpers";

function row(page: Page, id: string): Locator {
  return page.locator(`[data-testid="session-row"][data-session-id="${id}"]`);
}

/** The line under a session's row with its history, while its disclosure is open. */
function historyRow(page: Page, id: string): Locator {
  return page.locator(`[data-testid="session-history-row"][data-session-id="${id}"]`);
}

test("an extension made from the row shows in the session's history", async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto("/?mock-sessions=demo");
  const shell = row(page, "demo-shell");
  const toggle = shell.getByTestId("session-history-toggle");
  await expect(toggle).toHaveAttribute("aria-expanded", "false");

  // Opened from the keyboard; a seeded session has no history from this app yet.
  await toggle.focus();
  await page.keyboard.press("Enter");
  await expect(toggle).toHaveAttribute("aria-expanded", "true");
  const history = historyRow(page, "demo-shell");
  await expect(history.getByTestId("session-history-empty")).toBeVisible();

  await shell.getByTestId("session-extend").click();
  await shell.getByTestId("session-extend-15").click();
  await expect(shell.getByTestId("session-feedback")).toHaveText("Extended by 15 min");

  // Fetched again as the deadline moved, while it stayed open.
  const entry = history.getByTestId("session-history-entry");
  await expect(entry).toHaveCount(1);
  await expect(entry).toContainText("Extended +15 min");
  await expect(entry).toHaveAttribute("data-automatic", "false");
  await expect(entry.locator(".badge")).toHaveCount(0);
  await expect(entry.locator("time")).toHaveText(/\d{1,2}:\d\d:\d\d/);

  // Escape on its button closes it.
  await toggle.focus();
  await page.keyboard.press("Escape");
  await expect(history).toHaveCount(0);
  await expect(toggle).toBeFocused();
  await expect(toggle).toHaveAttribute("aria-expanded", "false");
  expect(errors).toEqual([]);
});

test("an automatic extension shows marked in the session's history", async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto("/?mock-sessions=demo&mock-auto-extended=demo-shell");
  const shell = row(page, "demo-shell");
  // 42 minutes were left; auto-extend added the default 15.
  await expect(shell.getByTestId("session-remaining")).toHaveText(/^5[67]:\d\d left$/);

  await shell.getByTestId("session-history-toggle").click();
  const entry = historyRow(page, "demo-shell").getByTestId("session-history-entry");
  await expect(entry).toHaveCount(1);
  await expect(entry.locator(".what")).toHaveText("Auto-extended +15 min");
  await expect(entry).toHaveAttribute("data-automatic", "true");
  await expect(entry.locator(".badge")).toBeVisible();
  await expect(entry.locator(".badge")).toHaveText(/auto/i);
  expect(errors).toEqual([]);
});
