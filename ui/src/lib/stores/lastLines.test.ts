import { describe, expect, it } from "vitest";
import { KEEP_LINES, LastLines } from "./lastLines.svelte";

const line = (message: string) => ({ message, level: "info", timestamp: null });

describe("LastLines", () => {
  it("keeps the last few non-blank lines of each session, apart", () => {
    const seen = new LastLines();
    expect(seen.of("local", "a")).toEqual([]);
    for (const m of ["one", "  ", "two", "three", "four\n"]) seen.note("local", "a", line(m));
    seen.note("studio", "a", line("elsewhere"));
    expect(seen.of("local", "a")).toEqual(["two", "three", "four"].slice(-KEEP_LINES));
    expect(seen.of("studio", "a")).toEqual(["elsewhere"]);
    expect(seen.of("local", "b")).toEqual([]);
  });
});
