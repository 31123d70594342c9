import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { tick } from "svelte";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BACKEND_CONTEXT, MockBackend } from "../backend";
import { makeEntry, minutesFrom, NOW } from "../../test/sessions";
import { WINDOW_THRESHOLD } from "../windowing";
import SessionList from "./SessionList.svelte";

// jsdom lays nothing out: a small stand-in for the browser's layout. The page scrolls (by
// `scrollY`), the table body starts 100 px down the page, every session row is 58 px high and a
// spacer row is as high as its style says; everything else is stacked after what precedes it.
const ROW = 58;
const LIST_TOP = 100;
const VIEW = 800;
let scrollY = 0;

function heightOf(row: Element): number {
  if (!(row instanceof HTMLElement)) return 0;
  if (row.dataset.gap !== undefined) return Number.parseFloat(row.style.height) || 0;
  return ROW;
}

function rectOf(this: Element): DOMRect {
  let top = 0;
  let height = 0;
  if (this instanceof HTMLTableSectionElement && this.tagName === "TBODY") {
    top = LIST_TOP - scrollY;
    height = [...this.children].reduce((sum, row) => sum + heightOf(row), 0);
  } else if (this instanceof HTMLTableRowElement && this.parentElement?.tagName === "TBODY") {
    top = rectOf.call(this.parentElement).top;
    for (let row = this.previousElementSibling; row; row = row.previousElementSibling) top += heightOf(row);
    height = heightOf(this);
  }
  return { top, bottom: top + height, height, left: 0, right: 1000, width: 1000, x: 0, y: top, toJSON() {} };
}

function scrollTo(y: number) {
  scrollY = y;
  document.dispatchEvent(new Event("scroll"));
}

const sessions = (count: number) =>
  Array.from({ length: count }, (_, i) =>
    makeEntry({ id: `s${i}`, name: `session-${i}`, deadline: minutesFrom(30 + i, NOW) }),
  );

function renderList(entries: ReturnType<typeof sessions>) {
  return render(SessionList, {
    props: { entries },
    context: new Map([[BACKEND_CONTEXT, new MockBackend()]]),
  });
}

const shown = () =>
  screen.getAllByTestId("session-row").map((row) => Number(row.dataset.sessionId!.slice(1)));

/** The spacer rows' heights, in order. */
const gaps = () =>
  [...document.querySelectorAll<HTMLElement>("tr[data-gap]")].map((row) => Number.parseFloat(row.style.height));

beforeEach(() => {
  scrollY = 0;
  vi.spyOn(Element.prototype, "getBoundingClientRect").mockImplementation(rectOf);
  vi.stubGlobal("innerHeight", VIEW);
  vi.stubGlobal("scrollBy", (_x: number, y: number) => {
    scrollY += y;
  });
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

describe("SessionList with many sessions", () => {
  it("renders only the rows in view and a few around them, with spacers for the rest", async () => {
    renderList(sessions(10_000));
    // Rows 0 to 12 are in view (800 px from 100 px down): the 14 rendered at first (as many as
    // the window's height could show) cover them, so they stay.
    await waitFor(() => expect(shown()).toEqual([...Array(14).keys()]));
    expect(gaps()).toEqual([(10_000 - 14) * ROW]);

    scrollTo(5000 * ROW);
    // Row 0 stays (Tab lands on it); the view shows from 100 px above row 5000 to row 5012.
    await waitFor(() => expect(shown()).toEqual([0, ...Array.from({ length: 27 }, (_, i) => 4992 + i)]));
    expect(gaps()).toEqual([(4992 - 1) * ROW, (10_000 - 5019) * ROW]);
    // Every row keeps its height in the scrollbar.
    expect(document.querySelector("tbody")!.getBoundingClientRect().height).toBe(10_000 * ROW);

    // A few rows further still shows rows the range holds: nothing new. Past them, a new range.
    scrollTo(5005 * ROW);
    await tick();
    expect(shown()[1]).toBe(4992);
    scrollTo(5020 * ROW);
    await waitFor(() => expect(shown()[1]).toBe(5012));
    expect(gaps()).toEqual([(5012 - 1) * ROW, (10_000 - 5039) * ROW]);
  });

  it("numbers the rows for screen readers: the whole count, and each row's place", async () => {
    renderList(sessions(10_000));
    const table = screen.getByRole("table");
    expect(table.getAttribute("aria-rowcount")).toBe("10001");
    expect(within(table).getAllByRole("row")[0]!.getAttribute("aria-rowindex")).toBe("1");
    scrollTo(3000 * ROW);
    await waitFor(() => expect(shown()).toContain(3000));
    for (const row of screen.getAllByTestId("session-row")) {
      expect(row.getAttribute("aria-rowindex")).toBe(String(Number(row.dataset.sessionId!.slice(1)) + 2));
    }
    // The spacers are not rows to a screen reader.
    for (const gap of document.querySelectorAll("tr[data-gap]")) expect(gap.getAttribute("aria-hidden")).toBe("true");
  });

  it("moves with End, Home and the arrows across the whole list, rendering the row it lands on", async () => {
    renderList(sessions(10_000));
    const first = screen.getAllByTestId("session-row")[0]!;
    first.focus();
    await fireEvent.keyDown(first, { key: "End" });
    await waitFor(() => expect((document.activeElement as HTMLElement).dataset.sessionId).toBe("s9999"));
    const last = document.activeElement as HTMLElement;
    expect(last.getAttribute("aria-rowindex")).toBe("10001");
    expect(last.tabIndex).toBe(0);

    await fireEvent.keyDown(last, { key: "ArrowUp" });
    await waitFor(() => expect((document.activeElement as HTMLElement).dataset.sessionId).toBe("s9998"));
    await fireEvent.keyDown(document.activeElement!, { key: "Home" });
    await waitFor(() => expect((document.activeElement as HTMLElement).dataset.sessionId).toBe("s0"));
    await fireEvent.keyDown(document.activeElement!, { key: "ArrowDown" });
    await waitFor(() => expect((document.activeElement as HTMLElement).dataset.sessionId).toBe("s1"));
  });

  it("keeps the focused row while it is scrolled far out of view", async () => {
    renderList(sessions(10_000));
    const row = screen.getAllByTestId("session-row")[3]!;
    row.focus();
    scrollTo(8000 * ROW);
    await waitFor(() => expect(shown()).toContain(8000));
    expect(shown()).toContain(3);
    expect(document.activeElement).toBe(row);
    await fireEvent.keyDown(row, { key: "ArrowDown" });
    await waitFor(() => expect((document.activeElement as HTMLElement).dataset.sessionId).toBe("s4"));
  });

  it("keeps a row with its history open, counting the history's line among the rows", async () => {
    renderList(sessions(10_000));
    const row = screen.getAllByTestId("session-row")[3]!;
    await fireEvent.click(within(row).getByTestId("session-history-toggle"));
    await waitFor(() => expect(screen.getByRole("table").getAttribute("aria-rowcount")).toBe("10002"));
    const history = screen.getByTestId("session-history-row");
    expect(history.getAttribute("aria-rowindex")).toBe("6");
    expect(screen.getAllByTestId("session-row")[4]!.getAttribute("aria-rowindex")).toBe("7");

    scrollTo(6000 * ROW);
    await waitFor(() => expect(shown()).toContain(6000));
    expect(shown().slice(0, 2)).toEqual([0, 3]);
    expect(screen.getByTestId("session-history-row")).toBe(history);
    const far = screen.getAllByTestId("session-row").find((r) => r.dataset.sessionId === "s6000")!;
    expect(far.getAttribute("aria-rowindex")).toBe("6003");

    await fireEvent.click(within(row).getByTestId("session-history-toggle"));
    await waitFor(() => expect(screen.getByRole("table").getAttribute("aria-rowcount")).toBe("10001"));
    await waitFor(() => expect(shown()).not.toContain(3));
    // Measured again as it closed: the spacers and rows add up to 10,000 rows again.
    expect(document.querySelector("tbody")!.getBoundingClientRect().height).toBe(10_000 * ROW);
  });

  it("follows a new order of the same sessions", async () => {
    const entries = sessions(1000);
    const { rerender } = renderList(entries);
    await waitFor(() => expect(shown()[0]).toBe(0));
    await rerender({ entries: [...entries].reverse() });
    await tick();
    await waitFor(() => expect(shown().slice(0, 3)).toEqual([999, 998, 997]));
  });

  it(`renders every row, with no spacers or row numbers, up to ${WINDOW_THRESHOLD} sessions`, () => {
    renderList(sessions(WINDOW_THRESHOLD));
    expect(shown()).toHaveLength(WINDOW_THRESHOLD);
    expect(gaps()).toEqual([]);
    expect(screen.getByRole("table").hasAttribute("aria-rowcount")).toBe(false);
    expect(screen.getAllByTestId("session-row")[0]!.hasAttribute("aria-rowindex")).toBe(false);
  });
});
