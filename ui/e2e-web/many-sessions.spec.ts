import { expect, type Locator, type Page, test } from "@playwright/test";
import { collectErrors } from "./helpers";

// `?mock-sessions=10000`: 10,000 ready Local sessions "shell-<i>", due in 30 + (i mod 600)
// minutes; sorted by deadline, then by name, "shell-0" then "shell-1200" come first, and
// "shell-8999" then "shell-9599" last.
const COUNT = 10_000;

/** The session row under the middle of the box the list scrolls in, if any. */
function rowInView(page: Page): Promise<{ id: string; index: number } | null> {
  return page.evaluate(() => {
    const box = document.querySelector(".body")!.getBoundingClientRect();
    const hit = document.elementFromPoint(box.left + box.width / 3, box.top + box.height / 2);
    const row = hit?.closest<HTMLElement>("tr[data-testid=session-row]");
    return row ? { id: row.dataset.sessionId!, index: Number(row.getAttribute("aria-rowindex")) } : null;
  });
}

/** Scrolls the box the list is in to `fraction` of the way down. */
const scrollBox = (page: Page, fraction: number) =>
  page.evaluate((part) => {
    const box = document.querySelector<HTMLElement>(".body")!;
    box.scrollTop = part * (box.scrollHeight - box.clientHeight);
  }, fraction);

async function expectFocusedInView(row: Locator, id: string, index: number) {
  await expect(row).toBeFocused();
  await expect(row).toHaveAttribute("data-session-id", id);
  await expect(row).toHaveAttribute("aria-rowindex", String(index));
  await expect(row).toBeInViewport();
}

test("10,000 sessions: only the rows in view are rendered, and scrolling and the keyboard reach them all", async ({
  page,
}) => {
  const errors = collectErrors(page);
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(`/?mock-sessions=${COUNT}`);
  const table = page.getByTestId("session-list").getByRole("table");
  await expect(table).toHaveAttribute("aria-rowcount", String(COUNT + 1));
  const rows = page.getByTestId("session-row");
  await expect(rows.first()).toHaveAttribute("data-session-id", "many-0");
  await expect(rows.first()).toHaveAttribute("aria-rowindex", "2");
  expect(await rows.count()).toBeLessThan(60);

  // Half way down: the rows there are rendered (no blank spacer under the eye), and numbered
  // for their place in the whole list.
  await scrollBox(page, 0.5);
  await expect.poll(() => rowInView(page)).not.toBeNull();
  const middle = (await rowInView(page))!;
  expect(middle.index).toBeGreaterThan(COUNT * 0.4);
  expect(middle.index).toBeLessThan(COUNT * 0.6);
  expect(await rows.count()).toBeLessThan(60);

  // With the wheel, a little further: still rows under the eye, further on.
  await page.mouse.move(400, 500);
  await page.mouse.wheel(0, 3000);
  await expect.poll(async () => (await rowInView(page))?.index ?? 0).toBeGreaterThan(middle.index + 20);

  // The keyboard, from the first row: End reaches the last one (rendered, scrolled to, focused),
  // the arrows move from there, and Home goes back to the first.
  await scrollBox(page, 0);
  await rows.first().focus();
  await page.keyboard.press("End");
  const focused = page.locator("tr[data-testid=session-row]:focus");
  await expectFocusedInView(focused, "many-9599", COUNT + 1);
  await page.keyboard.press("ArrowUp");
  await expectFocusedInView(focused, "many-8999", COUNT);
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("ArrowDown");
  await expectFocusedInView(focused, "many-9599", COUNT + 1);
  await page.keyboard.press("Home");
  await expectFocusedInView(focused, "many-0", 2);

  // The focused row stays (and keeps the focus) while the wheel scrolls it out of view.
  await page.mouse.wheel(0, 20_000);
  await expect.poll(async () => (await rowInView(page))?.index ?? 0).toBeGreaterThan(100);
  await expect(focused).toHaveAttribute("data-session-id", "many-0");
  await page.keyboard.press("ArrowDown");
  await expectFocusedInView(focused, "many-1200", 3);

  expect(errors).toEqual([]);
});
