// Sessions for tests: a ready Local terminal by default, with any field replaced.
import type { Session } from "../lib/backend";
import { type SessionEntry, sessionKey } from "../lib/sessionView";

/** Fixed "now" for tests that pass the time in: 2025-06-01 12:00:00 UTC. */
export const NOW = Date.parse("2025-06-01T12:00:00Z");

export const minutesFrom = (minutes: number, from = NOW) =>
  new Date(from + minutes * 60_000).toISOString();

export function makeSession(overrides: Partial<Session> = {}): Session {
  return {
    id: "s1",
    account_id: "local",
    provider: "portholed",
    name: "terminal-1",
    machine_id: "terminal",
    machine_name: null,
    resource: "CPU",
    state: { state: "ready" },
    status_label: null,
    before_end: null,
    created_at: minutesFrom(-10),
    deadline: minutesFrom(20),
    idle_deadline: null,
    unused_deadline: null,
    warning: null,
    price_per_hour: 0,
    capabilities: { can_extend: true, can_stop: true, has_ui: true, can_cancel: false },
    details: [],
    ...overrides,
  };
}

export function makeEntry(overrides: Partial<Session> = {}, more: Partial<SessionEntry> = {}): SessionEntry {
  const session = makeSession(overrides);
  return {
    key: sessionKey(session.account_id, session.id),
    session,
    endedAt: null,
    request: null,
    ...more,
  };
}
