// Windowed rendering for long lists: only the rows in and near the viewport are in the DOM, with
// spacers above and below whose heights stand for the rest, so the scrollbar stays right. Row
// heights are measured as rows render and cached by key; rows not yet seen count as the average
// measured height. Pure logic here; SessionList.svelte wires it to the DOM.

/** Lists longer than this are windowed; shorter ones render every row. */
export const WINDOW_THRESHOLD = 200;
/** Rows rendered beyond each edge of the viewport. */
export const OVERSCAN_ROWS = 6;
/** A row's height (px) before any was measured: a session row is about two lines of text. */
export const DEFAULT_ROW_HEIGHT = 58;

/** Measured heights by key, and the estimate for rows never measured (their average). */
export class RowHeights {
  #heights = new Map<string, number>();
  /** The heights the estimate averages: rows measured with nothing open under them. */
  #plain = new Map<string, number>();
  #sum = 0;
  #fallback: number;

  constructor(fallback = DEFAULT_ROW_HEIGHT) {
    this.#fallback = fallback;
  }

  /** The height assumed for a row never measured. */
  get estimate(): number {
    // Whole pixels: the estimate moves less often as rows are measured (when it moves, so do
    // the spacers, and the view is put back in place).
    return this.#plain.size > 0 ? Math.round(this.#sum / this.#plain.size) : this.#fallback;
  }

  get(key: string): number {
    return this.#heights.get(key) ?? this.estimate;
  }

  /**
   * Records a measured height; whether it changed anything. Zero (not laid out) is ignored.
   * `plain`: nothing is open under the row, so its height may stand for rows not measured.
   */
  set(key: string, height: number, plain = true): boolean {
    if (!(height > 0)) return false;
    if (plain) {
      this.#sum += height - (this.#plain.get(key) ?? 0);
      this.#plain.set(key, height);
    }
    const old = this.#heights.get(key);
    if (old !== undefined && Math.abs(old - height) < 0.5) return false;
    this.#heights.set(key, height);
    return true;
  }

  /** Where each row starts, and (at `keys.length`) where the last ends: prefix sums. */
  offsets(keys: readonly string[]): Float64Array {
    const estimate = this.estimate;
    const offsets = new Float64Array(keys.length + 1);
    for (let i = 0; i < keys.length; i++) {
      offsets[i + 1] = offsets[i]! + (this.#heights.get(keys[i]!) ?? estimate);
    }
    return offsets;
  }
}

/** The row at `y` (px from the list's top), clamped to the rows there are; -1 when none. */
export function indexAt(offsets: Float64Array, y: number): number {
  const count = offsets.length - 1;
  if (count <= 0) return -1;
  let low = 0;
  let high = count - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (offsets[mid]! <= y) low = mid;
    else high = mid - 1;
  }
  return low;
}

export interface Range {
  /** The first row rendered. */
  start: number;
  /** One past the last row rendered. */
  end: number;
}

/** The rows to render for a viewport from `top` to `bottom` (px from the list's top). */
export function windowRange(
  offsets: Float64Array,
  top: number,
  bottom: number,
  overscan = OVERSCAN_ROWS,
): Range {
  const count = offsets.length - 1;
  if (count <= 0) return { start: 0, end: 0 };
  const first = indexAt(offsets, top);
  const last = Math.max(first, indexAt(offsets, Math.max(top, bottom - 0.5)));
  return { start: Math.max(0, first - overscan), end: Math.min(count, last + 1 + overscan) };
}

/**
 * The range to render for a viewport from `top` to `bottom`: `current` while it still covers
 * every row in view without holding far more than needed, else the rows in view and `overscan`
 * more each side. Keeping it while it covers means small scrolls (and the scroll corrections that
 * keep the view in place) render nothing new, and a range never flips back and forth.
 */
export function nextRange(
  current: Range,
  offsets: Float64Array,
  top: number,
  bottom: number,
  overscan = OVERSCAN_ROWS,
): Range {
  const count = offsets.length - 1;
  const view = windowRange(offsets, top, bottom, 0);
  const covers = current.start <= view.start && view.end <= Math.min(current.end, count);
  const size = current.end - current.start;
  if (covers && size <= view.end - view.start + 4 * overscan) return current;
  return { start: Math.max(0, view.start - overscan), end: Math.min(count, view.end + overscan) };
}

/** A rendered row, or a spacer standing for rows `from` to `to` (exclusive). */
export type Slot = { kind: "row"; index: number } | { kind: "gap"; from: number; to: number };

/** What to render, in order: the range and the pinned rows (focused, open), gaps between. */
export function slots(count: number, range: Range, pinned: Iterable<number> = []): Slot[] {
  const start = Math.min(range.start, count);
  const end = Math.min(Math.max(range.end, start), count);
  const extra = [...new Set(pinned)].filter((i) => i >= 0 && i < count && (i < start || i >= end));
  extra.sort((a, b) => a - b);
  const out: Slot[] = [];
  let at = 0;
  const rowsTo = (to: number) => {
    if (to > at) out.push({ kind: "gap", from: at, to });
  };
  for (const index of extra.filter((i) => i < start)) {
    rowsTo(index);
    out.push({ kind: "row", index });
    at = index + 1;
  }
  rowsTo(start);
  for (let index = Math.max(at, start); index < end; index++) out.push({ kind: "row", index });
  at = Math.max(at, end);
  for (const index of extra.filter((i) => i >= end)) {
    rowsTo(index);
    out.push({ kind: "row", index });
    at = index + 1;
  }
  rowsTo(count);
  return out;
}

/** The part of the window `element` can show: inside every clipping ancestor's client area. */
export function visibleSpan(element: Element): { top: number; bottom: number } {
  let top = 0;
  let bottom = window.innerHeight;
  for (let parent = element.parentElement; parent; parent = parent.parentElement) {
    if (parent === document.body || parent === document.documentElement) break;
    const overflow = getComputedStyle(parent).overflowY;
    if (overflow === "visible" || overflow === "") continue;
    const rect = parent.getBoundingClientRect();
    if (rect.height === 0 && rect.width === 0) continue; // not laid out (tests)
    top = Math.max(top, rect.top + parent.clientTop);
    bottom = Math.min(bottom, rect.top + parent.clientTop + parent.clientHeight);
  }
  return { top, bottom };
}

/** The nearest ancestor that scrolls vertically, else the page's scrolling element. */
export function scrollerOf(element: Element): Element | null {
  for (let parent = element.parentElement; parent; parent = parent.parentElement) {
    const overflow = getComputedStyle(parent).overflowY;
    if ((overflow === "auto" || overflow === "scroll") && parent.scrollHeight > parent.clientHeight + 1) {
      return parent;
    }
  }
  return document.scrollingElement;
}
