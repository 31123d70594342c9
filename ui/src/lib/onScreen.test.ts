import { afterEach, describe, expect, it, vi } from "vitest";
import { FakeObserver } from "../test/intersection";

describe("watchOnScreen", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.resetModules();
    FakeObserver.last = undefined;
  });

  it("tells each element's listener when it comes on screen or leaves, through one observer", async () => {
    vi.stubGlobal("IntersectionObserver", FakeObserver);
    const { watchOnScreen } = await import("./onScreen");
    const a = document.createElement("tr");
    const b = document.createElement("tr");
    const seenA: boolean[] = [];
    const seenB: boolean[] = [];
    const releaseA = watchOnScreen(a, (v) => seenA.push(v));
    watchOnScreen(b, (v) => seenB.push(v));
    const io = FakeObserver.last!;
    expect(io.observed).toEqual(new Set([a, b]));
    io.fire(a, false);
    io.fire(b, true);
    io.fire(a, true);
    expect(seenA).toEqual([false, true]);
    expect(seenB).toEqual([true]);

    releaseA();
    expect(io.observed).toEqual(new Set([b]));
    io.fire(a, false);
    expect(seenA).toEqual([false, true]);
  });

  it("counts everything as on screen where there is no IntersectionObserver", async () => {
    vi.stubGlobal("IntersectionObserver", undefined);
    const { watchOnScreen } = await import("./onScreen");
    const listener = vi.fn();
    const release = watchOnScreen(document.createElement("div"), listener);
    release();
    expect(listener).not.toHaveBeenCalled();
  });
});
