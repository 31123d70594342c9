import { describe, expect, it } from "vitest";
import {
  costSoFar,
  countdown,
  dateTimeFormat,
  formatClock,
  formatCost,
  formatMemory,
  formatDuration,
  formatMinutes,
  formatPricePerHour,
  formatRemaining,
  remainingSeconds,
} from "./format";

const NOW = Date.parse("2025-06-01T12:00:00Z");

describe("countdowns", () => {
  it("counts whole seconds to the deadline, rounding up", () => {
    expect(remainingSeconds("2025-06-01T12:00:10Z", NOW)).toBe(10);
    expect(remainingSeconds("2025-06-01T12:00:00.300Z", NOW)).toBe(1);
    expect(remainingSeconds("2025-06-01T11:59:00Z", NOW)).toBe(-60);
    expect(remainingSeconds(null, NOW)).toBeNull();
    expect(remainingSeconds("not a date", NOW)).toBeNull();
  });

  it("words the time left as minutes:seconds under an hour, hours and minutes above", () => {
    expect(formatRemaining(42 * 60 + 10)).toBe("42:10 left");
    expect(formatRemaining(5 * 60 + 3)).toBe("5:03 left");
    expect(formatRemaining(1)).toBe("0:01 left");
    expect(formatRemaining(3599)).toBe("59:59 left");
    expect(formatRemaining(3600)).toBe("1h 00m left");
    expect(formatRemaining(3600 + 5 * 60 + 59)).toBe("1h 05m left");
    expect(formatRemaining(26 * 3600)).toBe("26h 00m left");
    expect(formatRemaining(0)).toBe("expired");
    expect(formatRemaining(-30)).toBe("expired");
    expect(formatRemaining(null)).toBe("No deadline");
  });

  it("puts the two together", () => {
    expect(countdown("2025-06-01T12:42:10Z", NOW)).toBe("42:10 left");
    expect(countdown("2025-06-01T11:00:00Z", NOW)).toBe("expired");
    expect(countdown(null, NOW)).toBe("No deadline");
  });
});

describe("money", () => {
  it("costs price × time since creation, never negative", () => {
    expect(costSoFar("2025-06-01T11:00:00Z", 3.5, null, NOW)).toBeCloseTo(3.5);
    expect(costSoFar("2025-06-01T11:30:00Z", 1.1, null, NOW)).toBeCloseTo(0.55);
    expect(costSoFar("2025-06-01T13:00:00Z", 2, null, NOW)).toBe(0);
    expect(costSoFar("2025-06-01T11:00:00Z", null, null, NOW)).toBeNull();
    // Nothing past the deadline (an ended row keeps its last figure), as the Rust side counts.
    expect(costSoFar("2025-06-01T11:00:00Z", 3.5, "2025-06-01T11:30:00Z", NOW)).toBeCloseTo(1.75);
    expect(costSoFar("2025-06-01T11:00:00Z", 3.5, "2025-06-01T13:00:00Z", NOW)).toBeCloseTo(3.5);
  });

  it("formats costs and prices", () => {
    expect(formatCost(3.456)).toBe("$3.46");
    expect(formatCost(0)).toBe("$0.00");
    expect(formatCost(0.001)).toBe("< $0.01");
    expect(formatCost(null)).toBe("—");
    expect(formatPricePerHour(3.5)).toBe("$3.50/h");
    expect(formatPricePerHour(0)).toBe("Free");
    expect(formatPricePerHour(null)).toBe("—");
  });
});

describe("sizes and durations", () => {
  it("formats memory", () => {
    expect(formatMemory(81920)).toBe("80 GB");
    expect(formatMemory(1536)).toBe("1.5 GB");
    expect(formatMemory(512)).toBe("512 MB");
    expect(formatMemory(null)).toBe("");
  });

  it("formats minutes", () => {
    expect(formatMinutes(5)).toBe("5 min");
    expect(formatMinutes(60)).toBe("1 h");
    expect(formatMinutes(240)).toBe("4 h");
    expect(formatMinutes(90)).toBe("1 h 30 min");
  });

  it("formats how long something has lasted: seconds under a minute, whole minutes after", () => {
    expect(formatDuration(0)).toBe("0 s");
    expect(formatDuration(40.9)).toBe("40 s");
    expect(formatDuration(59)).toBe("59 s");
    expect(formatDuration(60)).toBe("1 min");
    expect(formatDuration(5 * 60 + 59)).toBe("5 min");
    expect(formatDuration(90 * 60)).toBe("1 h 30 min");
    // A clock a little behind the time it is compared with: never a negative duration.
    expect(formatDuration(-2)).toBe("0 s");
  });

  it("formats a local clock time, with seconds when asked, and the date when not today", () => {
    const now = new Date(2025, 5, 1, 15, 0, 0).getTime();
    const today = new Date(2025, 5, 1, 14, 5, 9);
    const local = (options: Intl.DateTimeFormatOptions) => today.toLocaleTimeString([], options);
    expect(formatClock(today.toISOString(), now)).toBe(local({ hour: "2-digit", minute: "2-digit" }));
    expect(formatClock(today.toISOString(), now, true)).toBe(
      local({ hour: "2-digit", minute: "2-digit", second: "2-digit" }),
    );
    expect(formatClock(today.toISOString(), now, true)).toMatch(/14|02/);
    expect(formatClock(today.toISOString(), now, true)).toContain("09");
    const yesterday = new Date(2025, 4, 31, 23, 59, 0);
    expect(formatClock(yesterday.toISOString(), now)).toContain(yesterday.toLocaleDateString());
    expect(formatClock("not a date", now)).toBe("not a date");
  });

  it("formats clock times as toLocaleTimeString and toLocaleDateString do, with cached formats", () => {
    expect(dateTimeFormat({ hour: "2-digit" })).toBe(dateTimeFormat({ hour: "2-digit" }));
    expect(dateTimeFormat({ hour: "2-digit" })).not.toBe(dateTimeFormat({ minute: "2-digit" }));
    const now = new Date(2025, 5, 1, 15, 0, 0).getTime();
    for (const at of [
      new Date(2025, 5, 1, 0, 0, 1),
      new Date(2025, 5, 1, 23, 59, 59),
      new Date(2025, 5, 2, 0, 0, 0),
      new Date(2024, 11, 31, 9, 7, 3),
    ]) {
      for (const seconds of [false, true]) {
        const time = at.toLocaleTimeString([], {
          hour: "2-digit",
          minute: "2-digit",
          ...(seconds ? { second: "2-digit" } : {}),
        });
        const expected = at.toDateString() === new Date(now).toDateString()
          ? time
          : `${at.toLocaleDateString()} ${time}`;
        expect(formatClock(at.toISOString(), now, seconds)).toBe(expected);
      }
    }
  });
});
