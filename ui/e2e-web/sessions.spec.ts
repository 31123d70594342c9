import { expect, type Locator, type Page, test } from "@playwright/test";
import { collectErrors, tabTo } from "./helpers";

function row(page: Page, id: string): Locator {
  return page.locator(`[data-testid="session-row"][data-session-id="${id}"]`);
}

/** The line under a session's row that asks before stopping it, or shows an error. */
function subRow(page: Page, id: string): Locator {
  return page.locator(`[data-testid="session-subrow"][data-session-id="${id}"]`);
}

test("launch a Local session: the start-up log streams, then it is ready and opens", async ({
  page,
}) => {
  const errors = collectErrors(page);
  await page.goto("/?mock-speed=400");
  await expect(page.getByTestId("session-list-empty")).toBeVisible();

  await page.getByTestId("launch-open").click();
  const dialog = page.getByTestId("launch-dialog");
  await expect(dialog.getByRole("heading", { name: "Launch a session" })).toBeVisible();
  const machine = dialog.getByLabel("Machine", { exact: true });
  await expect(machine).toHaveValue("terminal");
  await expect(machine.locator("option", { hasText: "jupyter" })).toBeDisabled();
  await expect(machine.locator("option", { hasText: "jupyter" })).toHaveText(
    /jupyter is not installed/,
  );
  const h100 = dialog.locator('[data-testid="launch-resource-option"][data-resource-id="H100"]');
  await expect(h100).toContainText("Unavailable: this machine has no such GPU");
  await expect(h100.getByRole("radio")).toBeDisabled();
  await expect(dialog.getByRole("radio", { name: /CPU/ })).toBeChecked();
  await dialog.getByLabel("Timeout", { exact: true }).selectOption("30");

  await dialog.getByTestId("launch-submit").click();
  await expect(dialog.getByTestId("launch-progress")).toContainText("Starting…");
  await expect(dialog.getByTestId("launch-log-line").first()).toHaveText(
    "Launching terminal on CPU",
  );
  await expect(dialog.getByTestId("launch-progress")).toContainText(
    "Waiting for the page to answer…",
  );
  expect(await dialog.getByTestId("launch-log-line").count()).toBeGreaterThanOrEqual(3);
  // In the list meanwhile, behind the dialog.
  await expect(page.getByTestId("session-row")).toHaveAttribute("data-state", /starting|connecting/);

  await expect(dialog).toHaveCount(0);
  await expect(page.getByTestId("sessions-notice")).toHaveText(
    "terminal-1 is open in its own window.",
  );
  const launched = page.getByTestId("session-row");
  await expect(launched).toHaveAttribute("data-state", "ready");
  await expect(launched.getByTestId("session-state")).toHaveText("Ready");
  await expect(launched.getByTestId("session-remaining")).toHaveText(/^29:\d\d left$/);
  await expect(launched.getByTestId("session-price")).toHaveText("Free");
  await expect(page.getByTestId("launch-open")).toBeFocused();

  // The next launch starts from this one's settings.
  await page.getByTestId("launch-open").click();
  await expect(page.getByTestId("launch-dialog").getByLabel("Timeout", { exact: true })).toHaveValue("30");
  await page.keyboard.press("Escape");
  await expect(page.getByTestId("launch-dialog")).toHaveCount(0);
  expect(errors).toEqual([]);
});

test("Escape leaves a launch running in the background; it shows up ready in the list", async ({
  page,
}) => {
  await page.goto("/?mock-speed=300");
  await page.getByTestId("launch-open").click();
  await page.getByTestId("launch-submit").click();
  await expect(page.getByTestId("launch-log-line").first()).toBeVisible();
  await page.keyboard.press("Escape");
  await expect(page.getByTestId("launch-dialog")).toHaveCount(0);
  await expect(page.getByTestId("sessions-notice")).toContainText("goes on launching");
  await expect(page.getByTestId("session-row")).toHaveAttribute("data-state", "ready");
  await expect(page.getByTestId("session-open")).toBeVisible();
});

test("a launch failure shows its code and keeps the inputs", async ({ page }) => {
  await page.goto("/?mock-launch-fail=quota_exceeded");
  await page.getByTestId("launch-open").click();
  const dialog = page.getByTestId("launch-dialog");
  await dialog.getByLabel("Timeout", { exact: true }).selectOption("60");
  await dialog.getByTestId("launch-submit").click();
  const error = dialog.getByTestId("launch-error");
  await expect(error).toContainText("Quota or credit exhausted");
  await expect(error).toContainText("mock launch failure: quota_exceeded");
  await expect(error).toHaveAttribute("data-code", "quota_exceeded");
  await expect(dialog.getByLabel("Timeout", { exact: true })).toHaveValue("60");
  await expect(dialog.getByLabel("Machine", { exact: true })).toHaveValue("terminal");
  await expect(page.getByTestId("session-row")).toHaveCount(0);
});

test("extend: the menu moves the deadline and the countdown", async ({ page }) => {
  await page.goto("/?mock-sessions=demo");
  const shell = row(page, "demo-shell");
  const remaining = shell.getByTestId("session-remaining");
  await expect(remaining).toHaveText(/^4[12]:\d\d left$/);
  const before = Date.parse((await remaining.getAttribute("data-deadline"))!);

  await shell.getByTestId("session-extend").click();
  await expect(shell.getByRole("menuitem")).toHaveText(["+5 min", "+15 min", "+30 min", "+1 h"]);
  await shell.getByTestId("session-extend-15").click();

  await expect
    .poll(async () => Date.parse((await remaining.getAttribute("data-deadline"))!) - before)
    .toBe(15 * 60_000);
  await expect(remaining).toHaveText(/^5[67]:\d\d left$/);
  await expect(shell.getByTestId("session-feedback")).toHaveText("Extended by 15 min");
  // A session its provider cannot extend has no Extend button.
  await expect(row(page, "demo-legacy").getByTestId("session-extend")).toHaveCount(0);
});

test("stop asks first, shows stopping until confirmed, then says why it ended", async ({
  page,
}) => {
  await page.goto("/?mock-sessions=demo&mock-speed=1500");
  const shell = row(page, "demo-shell");
  await shell.getByTestId("session-stop").click();
  const question = subRow(page, "demo-shell");
  await expect(question).toContainText("Stop shell?");
  await expect(question.getByRole("button", { name: "Cancel" })).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(question).toHaveCount(0);
  await expect(shell.getByTestId("session-stop")).toBeFocused();
  await expect(shell).toHaveAttribute("data-state", "ready");

  await page.keyboard.press("Enter");
  await question.getByTestId("session-stop-confirm").click();

  await expect(shell).toHaveAttribute("data-state", "stopping");
  await expect(shell.getByTestId("session-state")).toHaveText("Stopping");
  await expect(shell.getByTestId("session-stop")).toHaveCount(0);

  await expect(shell).toHaveAttribute("data-state", "ended");
  await expect(shell.getByTestId("session-state")).toHaveText("Ended");
  await expect(shell.getByTestId("session-end-reason")).toHaveText("Stopped");
  await expect(shell.getByTestId("session-open")).toHaveCount(0);
  await expect(shell.getByTestId("session-relaunch")).toBeVisible();
});

test("relaunch starts the same machine and resource again and opens it", async ({ page }) => {
  await page.goto("/?mock-sessions=demo&mock-speed=100");
  const shell = row(page, "demo-shell");
  await shell.getByTestId("session-stop").click();
  await subRow(page, "demo-shell").getByTestId("session-stop-confirm").click();
  await expect(shell.getByTestId("session-end-reason")).toHaveText("Stopped");

  await shell.getByTestId("session-relaunch").click();
  await expect(page.getByTestId("launch-dialog").getByRole("heading")).toHaveText("Relaunch");
  await expect(page.getByTestId("launch-dialog")).toHaveCount(0);
  await expect(page.getByTestId("sessions-notice")).toHaveText(/is open in its own window/);
  const fresh = page.locator('[data-testid="session-row"][data-session-id^="s-"]');
  await expect(fresh).toHaveAttribute("data-state", "ready");
  await expect(fresh.getByTestId("session-machine")).toHaveText("terminal · CPU");
});

test("an offline account shows a banner with its coded error and keeps its sessions", async ({
  page,
}) => {
  await page.goto("/?mock-sessions=demo&mock-offline=1");
  const banner = page.getByTestId("offline-banner");
  await expect(banner).toContainText("Can't reach Studio GPUs — retrying");
  await expect(banner).toContainText("The provider cannot be reached");
  await expect(banner.getByTestId("offline-error")).toHaveAttribute(
    "data-code",
    "upstream_unavailable",
  );
  await expect(row(page, "demo-flux").getByTestId("session-stale")).toContainText(/^Not confirmed for \d+ s — /);
  await expect(row(page, "demo-flux").getByTestId("session-name")).toHaveText("flux-dev");

  await page.getByTestId("account-switcher").selectOption("local");
  await expect(banner).toHaveCount(0);
  await page.getByTestId("account-switcher").selectOption("studio-gpus");
  await expect(banner).toBeVisible();
});

test("keyboard: arrows move between rows and Enter opens a ready session", async ({ page }) => {
  await page.goto("/?mock-sessions=demo");
  await expect(page.getByTestId("session-row")).toHaveCount(5);
  const first = page.getByTestId("session-row").first();
  await tabTo(page, first);
  await expect(first).toHaveAttribute("data-session-id", "demo-flux");

  await page.keyboard.press("ArrowDown");
  await expect(row(page, "demo-notebook")).toBeFocused();
  await page.keyboard.press("End");
  await expect(row(page, "demo-legacy")).toBeFocused();
  await page.keyboard.press("ArrowUp");
  const shell = row(page, "demo-shell");
  await expect(shell).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(shell.getByTestId("session-feedback")).toHaveText("Opened in its window");
  await page.keyboard.press("Home");
  await expect(first).toBeFocused();

  // One tab stop for the list: Shift+Tab leaves it, Tab comes back to the last row used.
  await page.keyboard.press("Shift+Tab");
  await expect(first).not.toBeFocused();
  await page.keyboard.press("Tab");
  await expect(first).toBeFocused();
});

test("filter and sort the list", async ({ page }) => {
  await page.goto("/?mock-sessions=demo");
  const ids = () =>
    page
      .getByTestId("session-row")
      .evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.sessionId));
  await expect.poll(ids).toEqual([
    "demo-flux",
    "demo-notebook",
    "demo-sdxl",
    "demo-shell",
    "demo-legacy",
  ]);
  await page.getByTestId("session-sort").selectOption("name");
  await expect.poll(ids).toEqual([
    "demo-flux",
    "demo-legacy",
    "demo-notebook",
    "demo-sdxl",
    "demo-shell",
  ]);
  await page.getByTestId("session-filter").fill("studio");
  await expect.poll(ids).toEqual(["demo-flux", "demo-legacy", "demo-sdxl"]);
  await page.getByTestId("session-state-filter").selectOption("starting");
  await expect.poll(ids).toEqual(["demo-sdxl"]);
  await page.getByTestId("session-filter").fill("nothing like it");
  await expect(page.getByTestId("session-list-nomatch")).toBeVisible();
});

test("in the default 1024-px window every row's actions are on screen, and machines go by name", async ({ page }) => {
  await page.setViewportSize({ width: 1024, height: 700 });
  await page.goto("/?mock-sessions=demo");
  await expect(row(page, "demo-flux").getByTestId("session-machine")).toHaveText("flux-dev · A100");
  // The box the table scrolls in: what is outside it is cut off.
  const table = await page.locator("table").locator("..").boundingBox();
  expect(table).not.toBeNull();
  for (const stop of await page.getByTestId("session-stop").all()) {
    const box = await stop.boundingBox();
    expect(box).not.toBeNull();
    // Inside the table's box and the window, not cut off by the list's edge.
    expect(box!.x + box!.width).toBeLessThanOrEqual(Math.min(table!.x + table!.width, 1024));
  }
  // The About panel, opened, goes under the list instead of squeezing it.
  await page.getByRole("button", { name: "About" }).click();
  await expect(page.getByTestId("app-info")).toBeInViewport();
  const stop = await row(page, "demo-flux").getByTestId("session-stop").boundingBox();
  const list = await page.locator("table").locator("..").boundingBox();
  expect(stop!.x + stop!.width).toBeLessThanOrEqual(list!.x + list!.width);
  expect(list!.width).toBeGreaterThan(900);
});

test("one click extends by the usual amount; keyboard shortcuts launch, filter and refresh without reloading", async ({
  page,
}) => {
  await page.goto("/?mock-sessions=demo");
  const shell = row(page, "demo-shell");
  const remaining = shell.getByTestId("session-remaining");
  const before = Date.parse((await remaining.getAttribute("data-deadline"))!);
  await expect(shell.getByTestId("session-extend-quick")).toHaveText("Extend +15 min");
  await shell.getByTestId("session-extend-quick").click();
  await expect
    .poll(async () => Date.parse((await remaining.getAttribute("data-deadline"))!) - before)
    .toBe(15 * 60_000);
  await expect(shell.getByTestId("session-feedback")).toHaveText("Extended by 15 min");
  // The confirmation goes after a few seconds.
  await expect(shell.getByTestId("session-feedback")).toHaveText("", { timeout: 6000 });

  await page.evaluate(() => ((window as unknown as { marker: number }).marker = 1));
  await page.mouse.move(0, 0);
  await page.keyboard.press("Control+r");
  await page.keyboard.press("Control+f");
  await expect(page.getByTestId("session-filter")).toBeFocused();
  await page.keyboard.press("Control+,");
  await expect(page.getByTestId("view-settings")).toHaveAttribute("aria-current", "page");
  await page.getByTestId("view-sessions").click();
  await page.keyboard.press("Control+n");
  await expect(page.getByTestId("launch-dialog")).toBeVisible();
  // No reload happened: the page kept what was set on it.
  expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(1);
});
