import { afterEach, describe, expect, it, vi } from "vitest";
import { Clock } from "./clock.svelte";

describe("Clock", () => {
  afterEach(() => vi.useRealTimers());

  it("ticks each second while used, once for all its users", () => {
    vi.useFakeTimers({ now: 1_000 });
    const clock = new Clock();
    const first = clock.use();
    const second = clock.use();
    expect(clock.now).toBe(1_000);
    vi.advanceTimersByTime(1_000);
    expect(clock.now).toBe(2_000);
    expect(vi.getTimerCount()).toBe(1);
    first();
    first();
    vi.advanceTimersByTime(1_000);
    expect(clock.now).toBe(3_000);
    second();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(5_000);
    expect(clock.now).toBe(3_000);
  });

  it("stops while the page is hidden and catches up when it shows again", () => {
    vi.useFakeTimers({ now: 1_000 });
    const page = Object.assign(new EventTarget(), { hidden: false });
    const clock = new Clock(1000, page);
    const release = clock.use();
    vi.advanceTimersByTime(1_000);
    expect(clock.now).toBe(2_000);

    page.hidden = true;
    page.dispatchEvent(new Event("visibilitychange"));
    expect(clock.ticking).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(60_000);
    expect(clock.now).toBe(2_000);

    page.hidden = false;
    page.dispatchEvent(new Event("visibilitychange"));
    expect(clock.now).toBe(62_000);
    expect(clock.ticking).toBe(true);
    vi.advanceTimersByTime(1_000);
    expect(clock.now).toBe(63_000);

    release();
    expect(vi.getTimerCount()).toBe(0);
    page.dispatchEvent(new Event("visibilitychange"));
    expect(clock.ticking).toBe(false);
  });

  it("does not start while the page is hidden", () => {
    vi.useFakeTimers({ now: 5_000 });
    const page = Object.assign(new EventTarget(), { hidden: true });
    const clock = new Clock(1000, page);
    const release = clock.use();
    expect(clock.ticking).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    release();
  });
});
