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
});
