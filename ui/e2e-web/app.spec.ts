import { expect, test } from "@playwright/test";
import { collectErrors, tabTo } from "./helpers";

test("shows the empty session list and the app info from the mock backend", async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto("/");

  await expect(page.getByTestId("app-header")).toContainText("Porthole");
  await expect(page.getByTestId("app-version")).toHaveText("v0.1.0-mock");

  const empty = page.getByTestId("session-list-empty");
  await expect(empty.getByRole("heading", { name: "No sessions yet" })).toBeVisible();
  await expect(empty).toContainText("live countdown");
  await expect(page.getByTestId("session-row")).toHaveCount(0);

  // All is well, so the About panel starts closed; its button shows it.
  await expect(page.getByTestId("about-panel")).toBeHidden();
  await page.getByRole("button", { name: "About" }).click();
  await expect(page.getByTestId("app-info-version")).toBeVisible();
  await expect(page.getByTestId("app-info-version")).toHaveText("0.1.0-mock");
  await expect(page.getByTestId("app-info-config-dir")).toHaveText("/home/demo/.config/porthole");
  await expect(page.getByTestId("app-info-data-dir")).toHaveText(
    "/home/demo/.local/share/porthole",
  );
  await expect(page.getByTestId("keychain-status")).toContainText("Available");
  expect(errors).toEqual([]);
});

test("the app is served under the app's CSP", async ({ page }) => {
  const response = await page.goto("/");
  expect(response?.headers()["content-security-policy"]).toContain("default-src 'self'");
});

test("keyboard: Tab reaches the About toggle, which shows and hides the panel", async ({ page }) => {
  await page.goto("/");
  await expect(page.getByTestId("app-info-version")).toHaveText("0.1.0-mock");
  await expect(page.getByTestId("app-info")).toBeHidden();

  const about = page.getByRole("button", { name: "About" });
  await tabTo(page, about, 30);
  await expect(about).toHaveAttribute("aria-expanded", "false");

  await page.keyboard.press("Enter");
  await expect(about).toHaveAttribute("aria-expanded", "true");
  await expect(page.getByTestId("app-info")).toBeVisible();

  await page.keyboard.press("Space");
  await expect(about).toHaveAttribute("aria-expanded", "false");
  await expect(page.getByTestId("app-info")).toBeHidden();
});

test("keyboard: a failed app info call can be retried with Tab and Enter", async ({ page }) => {
  await page.goto("/?mock-fail=upstream_unavailable&mock-fail-times=1");

  const error = page.getByTestId("app-error");
  await expect(error).toContainText("upstream_unavailable");
  await expect(error).toContainText("mock failure: upstream_unavailable");

  const retry = error.getByRole("button", { name: "Retry" });
  await tabTo(page, retry, 30);
  await page.keyboard.press("Enter");

  await expect(page.getByTestId("app-info-version")).toHaveText("0.1.0-mock");
  await expect(error).toHaveCount(0);
  await expect(page.getByRole("heading", { name: "About Porthole" })).toBeFocused();
});

test("an unusable keychain opens the About panel and shows its code and message", async ({ page }) => {
  await page.goto("/?mock-keychain=keychain_unavailable");
  const status = page.getByTestId("keychain-status");
  await expect(status).toBeVisible();
  await expect(status).toContainText("Unavailable");
  await expect(status).toContainText("keychain_unavailable");
  await expect(status).toContainText("No Secret Service provider");
});

test("follows the system colour scheme", async ({ page }) => {
  const background = () =>
    page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);

  await page.emulateMedia({ colorScheme: "light" });
  await page.goto("/");
  const light = await background();

  await page.emulateMedia({ colorScheme: "dark" });
  const dark = await background();

  expect(light).toBe("rgb(244, 246, 249)");
  expect(dark).toBe("rgb(20, 23, 28)");
});

test("keyboard: Ctrl+Q asks about running Local sessions, and quits as answered", async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto("/?mock-sessions=demo");
  await expect(page.getByTestId("session-row")).toHaveCount(5);
  const quits = () =>
    page.evaluate(() => performance.getEntriesByName("porthole-mock-quit").map((m) => (m as PerformanceMark).detail));

  // Typing in the filter too.
  await page.getByTestId("session-filter").focus();
  await page.keyboard.press("Control+q");
  const dialog = page.getByRole("alertdialog", { name: "Quit Porthole?" });
  await expect(dialog).toContainText("2 Local sessions run on this machine.");
  const keep = dialog.getByRole("button", { name: "Keep them running" });
  await expect(keep).toBeFocused();
  await page.keyboard.press("Shift+Tab");
  await expect(dialog.getByRole("button", { name: "Cancel" })).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(keep).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(dialog).toHaveCount(0);
  await expect(page.getByTestId("session-filter")).toBeFocused();
  expect(await quits()).toEqual([]);

  await page.keyboard.press("Control+q");
  await page.keyboard.press("Tab");
  await expect(dialog.getByRole("button", { name: "Stop them and quit" })).toBeFocused();
  await page.keyboard.press("Enter");
  expect(await quits()).toEqual([{ keepLocalSessions: false }]);
  expect(errors).toEqual([]);
});
