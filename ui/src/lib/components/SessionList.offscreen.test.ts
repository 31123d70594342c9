import { render, screen } from "@testing-library/svelte";
import { afterEach, describe, expect, it, vi } from "vitest";
import { BACKEND_CONTEXT, MockBackend } from "../backend";
import { FakeObserver } from "../../test/intersection";
import { makeEntry, minutesFrom } from "../../test/sessions";

describe("SessionList off screen", () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
    vi.resetModules();
  });

  it("stops a row's countdown while it is scrolled away and brings it up to date on return", async () => {
    vi.useFakeTimers({ now: Date.parse("2026-11-22T10:00:00Z") });
    vi.stubGlobal("IntersectionObserver", FakeObserver);
    const { default: SessionList } = await import("./SessionList.svelte");
    const { clock } = await import("../stores/clock.svelte");
    const now = Date.now();
    const entries = ["a", "b"].map((id) =>
      makeEntry({ id, name: id, deadline: minutesFrom(30, now), created_at: minutesFrom(-1, now) }),
    );
    const release = clock.use();
    render(SessionList, {
      props: { entries },
      context: new Map([[BACKEND_CONTEXT, new MockBackend()]]),
    });
    const remaining = () => screen.getAllByTestId("session-remaining").map((el) => el.textContent);
    const rows = screen.getAllByTestId("session-row");
    expect(remaining()).toEqual(["30:00 left", "30:00 left"]);

    expect(screen.queryAllByTestId("session-ends-at")).toEqual([]);

    FakeObserver.last!.fire(rows[1]!, false);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(remaining()).toEqual(["29:58 left", "30:00 left"]);
    // The stopped countdown is hidden from screen readers, which hear the end time instead.
    const [first, second] = screen.getAllByTestId("session-remaining");
    expect(first!.getAttribute("aria-hidden")).toBeNull();
    expect(second!.getAttribute("aria-hidden")).toBe("true");
    const endsAt = screen.getAllByTestId("session-ends-at");
    expect(endsAt).toHaveLength(1);
    expect(rows[1]!.contains(endsAt[0]!)).toBe(true);
    expect(endsAt[0]!.textContent).toMatch(/^Ends at \S/);

    FakeObserver.last!.fire(rows[1]!, true);
    await vi.advanceTimersByTimeAsync(0);
    expect(remaining()).toEqual(["29:58 left", "29:58 left"]);
    expect(second!.getAttribute("aria-hidden")).toBeNull();
    expect(screen.queryAllByTestId("session-ends-at")).toEqual([]);
    release();
  });
});
