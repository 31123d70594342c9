import { describe, expect, it } from "vitest";
import { ClockReplay } from "./mock-replay";
import { REPLAYS } from "./replays";
import type { Session, SessionState } from "./types";

const T0 = Date.parse("2026-12-05T12:00:00Z");
const MIN = 60_000;

function session(state: SessionState, clocks: { hard?: number; idle?: number }): Session {
  const at = (m: number | undefined) => (m === undefined ? null : new Date(T0 + m * MIN).toISOString());
  return {
    id: "s", account_id: "a", provider: "portholed", name: "s", machine_id: null, machine_name: null,
    resource: null, state, status_label: null, before_end: null, created_at: new Date(T0).toISOString(),
    deadline: at(clocks.hard), idle_deadline: at(clocks.idle), unused_deadline: null, warning: null,
    price_per_hour: null, capabilities: { can_extend: true, can_stop: true, has_ui: true, can_cancel: false },
    details: [],
  };
}

/** Looks every 10 seconds from `from` to `to` minutes, collecting what each look told. */
function walk(replay: ClockReplay, s: Session, from: number, to: number) {
  const told: { at: number; warning?: number; ended?: string; shown: string }[] = [];
  for (let now = T0 + from * MIN; now <= T0 + to * MIN; now += 10_000) {
    const news = replay.advance(s, now);
    if (!news.warning && !news.ended) continue;
    told.push({
      at: (now - T0) / 1000,
      warning: news.warning?.threshold_minutes,
      ended: news.ended?.kind,
      shown: replay.shown(s).state.state,
    });
  }
  return told;
}

const recorded = (clock: "hard" | "idle", state: string) => REPLAYS[clock][state as "ready"] ?? [];

describe("ClockReplay", () => {
  it("plays the tracker's recorded warnings and end for a ready session's deadline, once each", () => {
    const s = session({ state: "ready" }, { hard: 15 });
    const told = walk(new ClockReplay(s.state), s, 0, 16);
    const steps = recorded("hard", "ready");
    expect(told.filter((t) => t.warning).map((t) => [t.warning, 15 * 60 + (t.at - 15 * 60)])).toEqual(
      steps.filter((s) => s.kind === "warning").map((s) => [s.kind === "warning" && s.threshold_minutes, 15 * 60 + s.at]),
    );
    const end = steps.find((s) => s.kind === "ended");
    expect(told.at(-1)).toMatchObject({ ended: end?.kind === "ended" && end.reason.kind, at: 15 * 60 });
    expect(told.filter((t) => t.warning).every((t) => t.shown === "expiring")).toBe(true);
  });

  it("forgets what an extension made no longer due, and plays it again when it comes", () => {
    const s = session({ state: "ready" }, { hard: 15 });
    const replay = new ClockReplay(s.state);
    expect(walk(replay, s, 0, 14).map((t) => t.warning)).toEqual([10, 2]);
    expect(replay.shown(s).warning).toEqual({ clock: "hard", threshold_minutes: 2 });
    // At 14 minutes, 30 more: 31 minutes left, past every threshold.
    s.deadline = new Date(T0 + 45 * MIN).toISOString();
    expect(replay.advance(s, T0 + 14 * MIN)).toEqual({});
    expect(replay.shown(s)).toEqual({ state: { state: "ready" }, warning: null });
    expect(walk(replay, s, 14, 44).map((t) => t.warning)).toEqual([10, 2]);
  });

  it("waits for the next look after the provider's state changes, and tells only the latest warning", () => {
    // Connecting with 5 minutes left: the tracker is quiet until the session is up.
    const s = session({ state: "connecting" }, { hard: 5 });
    const replay = new ClockReplay(s.state);
    expect(replay.advance(s, T0)).toEqual({});
    replay.base = { state: "ready" };
    expect(replay.shown(s).warning).toBeNull();
    const news = replay.advance(s, T0);
    expect(news.warning).toMatchObject({ clock: "hard", threshold_minutes: 10, remaining_seconds: 300 });
    expect(replay.shown(s)).toEqual({
      state: { state: "expiring" },
      warning: { clock: "hard", threshold_minutes: 10 },
    });
  });

  it("warns a session waiting for input about its idle clock and ends it as idle too long", () => {
    const s = session({ state: "waiting_for_input" }, { hard: 120, idle: 12 });
    const told = walk(new ClockReplay(s.state), s, 0, 13);
    expect(told.map((t) => [t.warning ?? t.ended, t.shown])).toEqual([
      [10, "waiting_for_input"],
      [2, "waiting_for_input"],
      ["idle_timeout", "waiting_for_input"],
    ]);
  });
});
