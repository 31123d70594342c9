import { describe, expect, it } from "vitest";
import { DEFAULT_ROW_HEIGHT, indexAt, nextRange, RowHeights, slots, windowRange } from "./windowing";

const keys = (count: number) => Array.from({ length: count }, (_, i) => `k${i}`);

describe("RowHeights", () => {
  it("assumes the default height until rows are measured, then their average", () => {
    const heights = new RowHeights();
    expect(heights.estimate).toBe(DEFAULT_ROW_HEIGHT);
    expect(heights.set("a", 40)).toBe(true);
    expect(heights.set("b", 61)).toBe(true);
    expect(heights.estimate).toBe(51); // 50.5, to whole pixels
    expect(heights.get("a")).toBe(40);
    expect(heights.get("unseen")).toBe(51);
  });

  it("ignores rows not laid out and changes under half a pixel", () => {
    const heights = new RowHeights();
    expect(heights.set("a", 0)).toBe(false);
    expect(heights.set("a", 58)).toBe(true);
    expect(heights.set("a", 58.3)).toBe(false);
    expect(heights.set("a", 120)).toBe(true);
    expect(heights.estimate).toBe(120);
  });

  it("estimates from rows with nothing open under them", () => {
    const heights = new RowHeights();
    heights.set("a", 60);
    expect(heights.set("b", 300, false)).toBe(true);
    expect(heights.get("b")).toBe(300);
    expect(heights.estimate).toBe(60);
    heights.set("b", 50);
    expect(heights.estimate).toBe(55);
  });

  it("adds the heights up into where each row starts", () => {
    const heights = new RowHeights(50);
    heights.set("k1", 100);
    expect([...heights.offsets(keys(4))]).toEqual([0, 100, 200, 300, 400]);
    const fresh = new RowHeights(50);
    expect([...fresh.offsets(keys(3))]).toEqual([0, 50, 100, 150]);
    expect([...fresh.offsets([])]).toEqual([0]);
  });
});

describe("ranges", () => {
  const offsets = new RowHeights(10).offsets(keys(100));

  it("finds the row at a height, clamped to the rows there are", () => {
    expect(indexAt(offsets, 0)).toBe(0);
    expect(indexAt(offsets, 9.9)).toBe(0);
    expect(indexAt(offsets, 10)).toBe(1);
    expect(indexAt(offsets, -50)).toBe(0);
    expect(indexAt(offsets, 5000)).toBe(99);
    expect(indexAt(new Float64Array([0]), 0)).toBe(-1);
  });

  it("renders the rows in view and some more each side", () => {
    expect(windowRange(offsets, 0, 100, 0)).toEqual({ start: 0, end: 10 });
    expect(windowRange(offsets, 205, 305, 3)).toEqual({ start: 17, end: 34 });
    expect(windowRange(offsets, 950, 1200, 3)).toEqual({ start: 92, end: 100 });
    expect(windowRange(new Float64Array([0]), 0, 100)).toEqual({ start: 0, end: 0 });
  });

  it("keeps the range while it still covers the view, so small scrolls render nothing new", () => {
    const current = nextRange({ start: 0, end: 0 }, offsets, 200, 300, 4);
    expect(current).toEqual({ start: 16, end: 34 });
    expect(nextRange(current, offsets, 230, 330, 4)).toBe(current);
    expect(nextRange(current, offsets, 160, 260, 4)).toBe(current);
    expect(nextRange(current, offsets, 150, 250, 4)).toEqual({ start: 11, end: 29 });
    // A range far larger than the view (as first rendered) shrinks to it.
    expect(nextRange({ start: 0, end: 100 }, offsets, 0, 100, 4)).toEqual({ start: 0, end: 14 });
    // Fewer rows than the range was for.
    expect(nextRange({ start: 80, end: 98 }, offsets.slice(0, 21), 0, 100, 4)).toEqual({ start: 0, end: 14 });
  });
});

describe("slots", () => {
  it("puts spacers around the range", () => {
    expect(slots(10, { start: 3, end: 5 })).toEqual([
      { kind: "gap", from: 0, to: 3 },
      { kind: "row", index: 3 },
      { kind: "row", index: 4 },
      { kind: "gap", from: 5, to: 10 },
    ]);
    expect(slots(3, { start: 0, end: 3 })).toEqual([0, 1, 2].map((index) => ({ kind: "row", index })));
    expect(slots(0, { start: 0, end: 20 })).toEqual([]);
  });

  it("adds pinned rows outside the range in their place, once", () => {
    expect(slots(10, { start: 4, end: 6 }, [0, 8, 8, 5, -1, 42])).toEqual([
      { kind: "row", index: 0 },
      { kind: "gap", from: 1, to: 4 },
      { kind: "row", index: 4 },
      { kind: "row", index: 5 },
      { kind: "gap", from: 6, to: 8 },
      { kind: "row", index: 8 },
      { kind: "gap", from: 9, to: 10 },
    ]);
    expect(slots(10, { start: 2, end: 4 }, [1, 9])).toEqual([
      { kind: "gap", from: 0, to: 1 },
      { kind: "row", index: 1 },
      { kind: "row", index: 2 },
      { kind: "row", index: 3 },
      { kind: "gap", from: 4, to: 9 },
      { kind: "row", index: 9 },
    ]);
  });

  it("clamps a range left from a longer list", () => {
    expect(slots(5, { start: 50, end: 70 }, [0])).toEqual([
      { kind: "row", index: 0 },
      { kind: "gap", from: 1, to: 5 },
    ]);
  });
});
