// A session's clocks as the Rust side lists them (`Session::clocks`): each deadline it has,
// soonest first. Shared by the views and the mock's replayer.
import type { ClockKind, Session } from "./types";

export interface SessionClock {
  kind: ClockKind;
  at: string;
}

/** Its clocks (hard, idle, unused deadlines) that are set, soonest first. */
export function sessionClocks(session: Session): SessionClock[] {
  const clocks: { kind: ClockKind; at: string | null | undefined }[] = [
    { kind: "hard", at: session.deadline },
    { kind: "idle", at: session.idle_deadline },
    { kind: "unused", at: session.unused_deadline },
  ];
  return clocks
    .filter((c): c is SessionClock => typeof c.at === "string")
    .sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}
