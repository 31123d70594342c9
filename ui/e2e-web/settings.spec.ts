import { expect, type Locator, type Page, test } from "@playwright/test";
import { collectErrors, tabTo } from "./helpers";

function screens(page: Page, name: string): Locator {
  return page.getByRole("navigation", { name: "Screens" }).getByRole("button", { name });
}

/** Opens the Settings screen from the header, with the keyboard only. */
async function openSettings(page: Page, query = ""): Promise<void> {
  await page.goto(`/${query}`);
  const settings = screens(page, "Settings");
  await tabTo(page, settings);
  await page.keyboard.press("Enter");
  await expect(settings).toHaveAttribute("aria-current", "page");
}

function thresholds(page: Page): Locator {
  return page.getByTestId("settings-threshold");
}

test("keyboard: change a warning threshold, save, and find it saved on the next visit", async ({
  page,
}) => {
  const errors = collectErrors(page);
  await openSettings(page, "?mock-delay=300");
  await expect(page.getByTestId("settings-loading")).toHaveAttribute("aria-busy", "true");
  await expect(page.getByRole("heading", { name: "Settings", level: 2 })).toBeVisible();
  await expect(page.getByTestId("settings-thresholds-summary")).toHaveText(
    "Warn 10 and 2 minutes before a session times out.",
  );
  const save = page.getByTestId("settings-save");
  await expect(save).toBeDisabled();
  // Off by default, and its fields with it.
  await expect(page.getByLabel("Extend sessions automatically")).not.toBeChecked();
  await expect(page.getByLabel("Extend by")).toBeDisabled();

  // Add 5 minutes with Enter in its field: it adds, it does not save.
  const add = page.getByLabel("Add a warning");
  await tabTo(page, add);
  await page.keyboard.type("5");
  await page.keyboard.press("Enter");
  await expect(thresholds(page)).toHaveText(["10 minutes", "5 minutes", "2 minutes"]);
  await expect(add).toHaveValue("");
  await expect(add).toBeFocused();

  // Remove 2 minutes.
  const remove = page.getByRole("button", { name: "Remove 2 minutes" });
  await remove.focus();
  await page.keyboard.press("Enter");
  await expect(thresholds(page)).toHaveText(["10 minutes", "5 minutes"]);
  await expect(page.getByTestId("settings-thresholds-summary")).toHaveText(
    "Warn 10 and 5 minutes before a session times out.",
  );

  await tabTo(page, save);
  await page.keyboard.press("Enter");
  await expect(save).toHaveText("Saving…");
  await expect(save).toBeDisabled();
  await expect(page.getByTestId("settings-status")).toHaveText("Saved.");
  await expect(save).toHaveText("Save");
  await expect(save).toBeDisabled();

  // To Sessions and back: the saved thresholds come back from the backend.
  const sessions = screens(page, "Sessions");
  await sessions.focus();
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("settings-screen")).toHaveCount(0);
  await expect(page.getByTestId("session-list-empty")).toBeVisible();
  const settings = screens(page, "Settings");
  await settings.focus();
  await page.keyboard.press("Space");
  await expect(thresholds(page)).toHaveText(["10 minutes", "5 minutes"]);
  await expect(page.getByTestId("settings-status")).toHaveText("");
  await expect(save).toBeDisabled();
  expect(errors).toEqual([]);
});

test("checks block Save, and a failed save keeps what was typed", async ({ page }) => {
  await openSettings(page, "?mock-save-settings-fail=io");
  const enabled = page.getByLabel("Extend sessions automatically");
  await tabTo(page, enabled);
  await page.keyboard.press("Space");
  await expect(enabled).toBeChecked();
  const cap = page.getByLabel("Spending cap");
  await expect(cap).toBeEnabled();
  await cap.fill("-1");
  await cap.press("Enter");

  const capError = page.getByTestId("settings-spend-cap-error");
  await expect(capError).toHaveText("Enter a spending cap in USD, 0 or more.");
  await expect(cap).toHaveAttribute("aria-invalid", "true");
  await expect(cap).toBeFocused();
  await expect(page.getByTestId("settings-save-error")).toHaveCount(0);

  await page.keyboard.press("ControlOrMeta+a");
  await page.keyboard.type("2.5");
  await expect(capError).toHaveCount(0);
  await page.keyboard.press("Enter");

  const error = page.getByTestId("settings-save-error");
  await expect(error).toHaveAttribute("role", "alert");
  await expect(error).toContainText("Local file error");
  await expect(error.locator("code")).toHaveText("io");
  await expect(cap).toHaveValue("2.5");
  await expect(enabled).toBeChecked();
  await expect(page.getByTestId("settings-save")).toBeEnabled();

  // Restore defaults fills them in, to be saved.
  await page.getByRole("button", { name: "Restore defaults" }).click();
  await expect(enabled).not.toBeChecked();
  await expect(cap).toHaveValue("10");
  await expect(cap).toBeDisabled();
  await expect(page.getByTestId("settings-save-error")).toHaveCount(0);
});

test("keyboard: start at login is saved by Save, like every setting, and is still on after leaving the screen", async ({
  page,
}) => {
  const errors = collectErrors(page);
  await openSettings(page, "?mock-delay=300");
  const toggle = page.getByLabel("Start Porthole when I log in");
  await expect(toggle).toHaveAttribute("data-testid", "settings-start-at-login");
  await expect(toggle).not.toBeChecked();
  const save = page.getByTestId("settings-save");
  await expect(save).toBeDisabled();

  await tabTo(page, toggle);
  await page.keyboard.press("Space");
  await expect(toggle).toBeChecked();
  await expect(save).toBeEnabled();
  await tabTo(page, save);
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("settings-status")).toHaveText("Saved.");
  await expect(save).toBeDisabled();

  // Saved: leaving asks nothing, and it is still on when back.
  const sessions = screens(page, "Sessions");
  await sessions.focus();
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("discard-dialog")).toHaveCount(0);
  await expect(page.getByTestId("settings-screen")).toHaveCount(0);
  const settings = screens(page, "Settings");
  await settings.focus();
  await page.keyboard.press("Enter");
  await expect(toggle).toBeChecked();
  await expect(page.getByTestId("settings-status")).toHaveText("");
  expect(errors).toEqual([]);
});

test("keyboard: leaving with unsaved changes asks first; Keep editing stays, Discard leaves them", async ({
  page,
}) => {
  await openSettings(page);
  const notifications = page.getByLabel("Show desktop notifications");
  await tabTo(page, notifications);
  await page.keyboard.press("Space");
  await expect(notifications).not.toBeChecked();

  // Ctrl+N would leave for the launch dialog: it asks, the safe answer focused.
  const save = page.getByTestId("settings-save");
  await tabTo(page, save);
  await page.keyboard.press("Control+n");
  const dialog = page.getByRole("alertdialog", { name: "Discard unsaved changes?" });
  await expect(dialog).toBeVisible();
  await expect(dialog.getByRole("button", { name: "Keep editing" })).toBeFocused();
  // The focus stays in the dialog.
  await page.keyboard.press("Tab");
  await expect(dialog.getByRole("button", { name: "Discard" })).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(dialog.getByRole("button", { name: "Keep editing" })).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(dialog).toHaveCount(0);
  await expect(notifications).not.toBeChecked();
  await expect(save).toBeFocused();

  await screens(page, "Accounts").click();
  await dialog.getByRole("button", { name: "Discard" }).click();
  await expect(screens(page, "Accounts")).toHaveAttribute("aria-current", "page");
  await screens(page, "Settings").click();
  await expect(notifications).toBeChecked();
});
