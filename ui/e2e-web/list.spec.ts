import { expect, type Locator, type Page, test } from "@playwright/test";
import { collectErrors, tabTo } from "./helpers";

// The session list in the window: what the eye and the pointer meet (`?mock-sessions=demo`:
// flux-dev ends in 8 minutes, notebook-warmup in 14, sdxl-batch in 30, shell in 42, and
// legacy-runner has no deadline).

function row(page: Page, id: string): Locator {
  return page.locator(`[data-testid="session-row"][data-session-id="${id}"]`);
}

const ids = (page: Page) =>
  page.getByTestId("session-row").evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.sessionId));

/** The relative luminance of a CSS `rgb()` colour (WCAG 2). */
function luminance(rgb: string): number {
  const [r, g, b] = rgb.match(/\d+(\.\d+)?/g)!.slice(0, 3).map((c) => {
    const v = Number(c) / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}

function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

/** How a row's name cell looks: its background, the edge drawn on it, and the text colour. */
const look = (target: Locator) =>
  target.locator("th").evaluate((cell) => {
    const style = getComputedStyle(cell);
    return { background: style.backgroundColor, edge: style.boxShadow, text: style.color };
  });

test("the countdown turns red in the last two minutes before the deadline", async ({ page }) => {
  await page.clock.install();
  await page.goto("/?mock-sessions=demo");
  const flux = row(page, "demo-flux").getByTestId("session-remaining");
  const shell = row(page, "demo-shell").getByTestId("session-remaining");
  await expect(flux).toHaveText(/^[78]:\d\d left$/);
  await expect(flux).toHaveAttribute("data-urgent", "false");
  const calm = await flux.evaluate((el) => getComputedStyle(el).color);
  const danger = await page.evaluate(() =>
    getComputedStyle(document.documentElement).getPropertyValue("--danger").trim(),
  );

  // Six minutes on: flux-dev has two left, not yet under.
  await page.clock.runFor(5 * 60_000 + 50_000);
  await expect(flux).toHaveText(/^2:0\d left$/);
  await expect(flux).toHaveAttribute("data-urgent", "false");
  await page.clock.runFor(20_000);
  await expect(flux).toHaveText(/^1:[45]\d left$/);
  await expect(flux).toHaveAttribute("data-urgent", "true");
  const urgent = await flux.evaluate((el) => ({ color: getComputedStyle(el).color, weight: getComputedStyle(el).fontWeight }));
  expect(urgent.color).not.toBe(calm);
  // `--danger` (#c0352b in the light scheme), bold.
  expect(danger).toBe("#c0352b");
  expect(urgent.color).toBe("rgb(192, 53, 43)");
  expect(Number(urgent.weight)).toBeGreaterThanOrEqual(600);
  await expect(shell).toHaveAttribute("data-urgent", "false");
});

test("the list keeps its order under the pointer and the focus, and catches up once both leave", async ({
  page,
}) => {
  const errors = collectErrors(page);
  await page.goto("/?mock-sessions=demo");
  const soonestFirst = ["demo-flux", "demo-notebook", "demo-sdxl", "demo-shell", "demo-legacy"];
  await expect.poll(() => ids(page)).toEqual(soonestFirst);

  // Extending flux-dev by 15 minutes makes it due after notebook-warmup: the row under the
  // pointer stays where it was clicked.
  const quick = row(page, "demo-flux").getByTestId("session-extend-quick");
  await quick.click();
  await expect(row(page, "demo-flux").getByTestId("session-feedback")).toHaveText("Extended by 15 min");
  await expect(row(page, "demo-flux").getByTestId("session-remaining")).toHaveText(/^2[23]:\d\d left$/);
  expect(await ids(page)).toEqual(soonestFirst);

  // The pointer leaves; the focus is still on the button clicked.
  await page.mouse.move(5, 5);
  await expect(quick).toBeFocused();
  expect(await ids(page)).toEqual(soonestFirst);

  // Both gone: the list sorts again.
  await page.getByTestId("sessions-refresh").focus();
  await expect
    .poll(() => ids(page))
    .toEqual(["demo-notebook", "demo-flux", "demo-sdxl", "demo-shell", "demo-legacy"]);
  expect(errors).toEqual([]);
});

test("the selected row stands out, with contrast, and is scrolled into view", async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 600 });
  await page.goto("/?mock-sessions=60");
  const rows = page.getByTestId("session-row");
  await expect(rows).toHaveCount(60);
  const first = rows.first();
  const last = rows.last();
  const plain = await look(rows.nth(1));

  await tabTo(page, first);
  const selected = await look(first);
  expect(selected.background).not.toBe(plain.background);
  const focus = await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue("--focus").trim());
  expect(focus).toBe("#2f6fdf");
  const focusRgb = "rgb(47, 111, 223)";
  expect(selected.edge).toContain(focusRgb);
  // The edge against the tint and the list around it: 3:1 or more (WCAG 1.4.11); the text on
  // the tint: 4.5:1 or more.
  expect(contrast(focusRgb, selected.background)).toBeGreaterThanOrEqual(3);
  expect(contrast(focusRgb, plain.background)).toBeGreaterThanOrEqual(3);
  expect(contrast(selected.text, selected.background)).toBeGreaterThanOrEqual(4.5);

  await expect(last).not.toBeInViewport();
  await page.keyboard.press("End");
  await expect(last).toBeFocused();
  await expect(last).toBeInViewport();
  expect((await look(last)).background).toBe(selected.background);
  expect((await look(first)).background).toBe(plain.background);
  await page.keyboard.press("Home");
  await expect(first).toBeInViewport();

  // A click selects a row as plainly as the keyboard does.
  await rows.nth(2).getByTestId("session-price").click();
  await expect(rows.nth(2)).toBeFocused();
  expect(await look(rows.nth(2))).toEqual(selected);
});

test("keyboard: Clear ended forgets the ended rows, kept from an earlier run or ended now", async ({
  page,
}) => {
  await page.goto("/?mock-sessions=demo&mock-ended=demo&mock-speed=100");
  await expect(row(page, "old-shell").getByTestId("session-end-reason")).toHaveText("Stopped");
  await expect(row(page, "old-render").getByTestId("session-end-reason")).toHaveText("Timed out: its deadline passed");
  const clear = page.getByTestId("sessions-clear-ended");
  await expect(clear).toHaveText("Clear 2 ended");

  await row(page, "demo-shell").getByTestId("session-stop").click();
  await page.locator('[data-testid="session-subrow"][data-session-id="demo-shell"]').getByTestId("session-stop-confirm").click();
  await expect(clear).toHaveText("Clear 3 ended");

  await tabTo(page, clear, 40);
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("session-row")).toHaveCount(4);
  await expect(row(page, "old-shell")).toHaveCount(0);
  await expect(clear).toHaveCount(0);
  await expect(page.getByTestId("session-state-filter")).toBeFocused();
});

test("an offline account's rows say how long they have gone unconfirmed, counting up", async ({ page }) => {
  await page.clock.install();
  await page.goto("/?mock-sessions=demo&mock-offline=1");
  const note = row(page, "demo-flux").getByTestId("session-stale");
  await expect(note).toHaveText(/^Not confirmed for \d s — Cannot reach https:\/\/api\.comfydeploy\.com\/api: connection refused\.$/);
  await page.clock.runFor(40_000);
  await expect(note).toHaveText(/^Not confirmed for 4\d s — Cannot reach/);
  await page.clock.runFor(60_000);
  await expect(note).toHaveText(/^Not confirmed for 1 min — Cannot reach/);
  await expect(row(page, "demo-shell").getByTestId("session-stale")).toHaveCount(0);
});
