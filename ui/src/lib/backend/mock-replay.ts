// The watcher's decisions in the web build. The mock decides nothing about clocks: it replays
// what porthole_core's Tracker was recorded doing (`replays.ts`, written by `make bindings` from
// `porthole_core::watcher::replay`) for the session's clocks and the state its provider reports.
//
// Replaying is positional, as the Rust test `replaying_by_position_matches_the_tracker_after_the_clock_moves`
// checks: a step is due once its time (seconds from its clock's) has come and is played at the
// next look (`advance`, the watcher's tick); the session shows the last played "updated" step,
// else its provider's state and no warning; a step no longer due (the clock moved later: an
// extension) is forgotten and can be played again.
import { type SessionClock, sessionClocks } from "./clocks";
import { REPLAYS, type ReplayStep } from "./replays";
import type { ClockKind, ClockWarning, EndReason, Session, SessionState } from "./types";

/** What became due since the last look: at most one warning and one end to tell. */
export interface ReplayNews {
  warning?: { clock: ClockKind; clock_at: string; remaining_seconds: number; threshold_minutes: number };
  ended?: EndReason;
}

interface Played {
  clock: ClockKind;
  at: number;
}

/** Where the session stands on `clock` now, in whole seconds from its time. */
function position(clock: SessionClock, now: number): number {
  return Math.floor((now - Date.parse(clock.at)) / 1000);
}

function keyOf(clock: ClockKind, step: ReplayStep): string {
  return `${clock}:${step.kind}:${step.at}`;
}

function stepsFor(clock: ClockKind, base: SessionState): ReplayStep[] {
  return REPLAYS[clock][base.state] ?? [];
}

/** One session's replay: the state its provider reports and the recorded steps played. */
export class ClockReplay {
  /** The state the (simulated) provider reports; what is shown comes from `shown`. */
  base: SessionState;
  #played = new Map<string, Played>();

  constructor(base: SessionState) {
    this.base = base;
  }

  /** The state and warning to show: the last played "updated" step of the soonest clock that
   * has one, else the provider's state. */
  shown(session: Session): { state: SessionState; warning: ClockWarning | null } {
    for (const clock of sessionClocks(session)) {
      const last = stepsFor(clock.kind, this.base)
        .filter((s) => s.kind === "updated" && this.#played.has(keyOf(clock.kind, s)))
        .at(-1);
      if (last?.kind === "updated") return { state: last.state, warning: last.warning };
    }
    return { state: this.base, warning: null };
  }

  /** Plays what is due and forgets what no longer is; the news is the latest of each kind. */
  advance(session: Session, now: number): ReplayNews {
    const clocks = sessionClocks(session);
    for (const [key, played] of this.#played) {
      const clock = clocks.find((c) => c.kind === played.clock);
      if (!clock || played.at > position(clock, now)) this.#played.delete(key);
    }
    const news: ReplayNews = {};
    for (const clock of clocks) {
      const p = position(clock, now);
      for (const step of stepsFor(clock.kind, this.base)) {
        const key = keyOf(clock.kind, step);
        if (step.at > p || this.#played.has(key)) continue;
        this.#played.set(key, { clock: clock.kind, at: step.at });
        if (step.kind === "warning") {
          news.warning = {
            clock: clock.kind,
            clock_at: clock.at,
            remaining_seconds: Math.max(0, -p),
            threshold_minutes: step.threshold_minutes,
          };
        } else if (step.kind === "ended") {
          news.ended ??= step.reason;
        }
      }
    }
    return news;
  }
}
