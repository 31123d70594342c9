import { CLOCK_WARNINGS } from "../backend/vocabulary";
import {
  type Backend,
  type BackendError,
  type EndedSession,
  type EndReason,
  type LaunchRequest,
  type Session,
  toBackendError,
  type WatchEvent,
} from "../backend";
import {
  endReasonText,
  isReadyForWork,
  type OfflineAccount,
  type SessionEntry,
  sessionKey,
  type SessionSort,
  type StateFilter,
} from "../sessionView";

export type SnapshotState =
  | { status: "loading" }
  | { status: "ready" }
  | { status: "error"; error: BackendError };

/** What the sessions screen shows: one account (or all), a text and state filter, an order. */
export interface SessionFilters {
  /** `null`: every account. */
  account: string | null;
  text: string;
  state: StateFilter;
  sort: SessionSort;
}

/** How a launched session came out: it answers, or it ended first. */
export type LaunchOutcome = { kind: "ready"; session: Session } | { kind: "ended"; reason: EndReason };

interface Waiter {
  key: string;
  resolve: (outcome: LaunchOutcome) => void;
}

/**
 * The sessions of every account, from one `listSessions` snapshot and then the watchers' events
 * (never polled). Ended sessions stay, with their reason, until the user dismisses or clears them
 * (the Rust side keeps them across restarts: `endedSessions`), so the user sees why and can
 * relaunch them; accounts the watchers cannot reach are tracked as offline.
 */
export class SessionStore {
  /**
   * By `sessionKey(account, id)`. Plain objects, replaced rather than changed in place, and one
   * signal (`#revision`) for the lot: lists of thousands are then cheap to build and sort
   * (a deeply reactive record would track every field of every session).
   */
  #entries = new Map<string, SessionEntry>();
  #revision = $state(0);
  #changes = 0;
  /** The accounts whose provider cannot be reached now, with why and since when. */
  offline: Record<string, OfflineAccount> = $state({});
  snapshot: SnapshotState = $state({ status: "loading" });
  filters: SessionFilters = $state({ account: null, text: "", state: "all", sort: "deadline" });
  /** A session to show in the list (`account/id`), asked for from outside the window ("Open"
   * on a session without a web page, from the tray or a link); cleared once shown. */
  revealed: string | null = $state(null);

  reveal(accountId: string, sessionId: string): void {
    this.revealed = sessionKey(accountId, sessionId);
  }

  /** What a keyboard shortcut or the app asked of the sessions screen (open the launch dialog,
   * focus the filter, launch a session again: its `account/id`, from Relaunch in its ended
   * window); cleared once done, or when the screen cannot do it now. */
  requested: "launch" | "filter" | { relaunch: string } | null = $state(null);

  /** Refresh: asks the watchers to look again now, and takes a fresh snapshot. */
  refresh(): Promise<void> {
    this.#backend.refreshSessions().catch(() => undefined);
    return this.load();
  }

  /** The latest warning or end, in words, for a live region. */
  announcement = $state("");
  #backend: Backend;
  #now: () => number;
  #generation = 0;
  /** While a snapshot is loading: the sessions events told about, newer than the snapshot. */
  #touched: Set<string> | null = null;
  #waiters = new Set<Waiter>();

  constructor(backend: Backend, now: () => number = Date.now) {
    this.#backend = backend;
    this.#now = now;
  }

  /** Follows the watchers' events and loads the snapshot; returns the unsubscribe. */
  start(): () => void {
    const unsubscribe = this.#backend.onSessionEvent((event) => this.apply(event));
    void this.load();
    return unsubscribe;
  }

  /** Takes a snapshot of every account's sessions, and of the ended ones kept; events seen
   * meanwhile win over it, and a live session over an ended one of the same key. */
  async load(): Promise<void> {
    const generation = ++this.#generation;
    if (this.snapshot.status !== "ready") this.snapshot = { status: "loading" };
    const touched = new Set<string>();
    this.#touched = touched;
    let sessions: Session[];
    let ended: EndedSession[];
    try {
      // The live list still shows when the ended ones cannot be read.
      [sessions, ended] = await Promise.all([
        this.#backend.listSessions(null),
        this.#backend.endedSessions().catch(() => []),
      ]);
    } catch (error) {
      if (generation === this.#generation) {
        this.#touched = null;
        this.snapshot = { status: "error", error: toBackendError(error) };
      }
      return;
    }
    if (generation !== this.#generation) return;
    this.#touched = null;
    for (const session of sessions) {
      if (!touched.has(sessionKey(session.account_id, session.id))) this.#upsert(session, false);
    }
    const live = new Set(sessions.map((s) => sessionKey(s.account_id, s.id)));
    for (const { session, ended_at } of ended) {
      const key = sessionKey(session.account_id, session.id);
      const known = this.#entries.get(key);
      if (touched.has(key) || live.has(key) || known?.session.state.state === "ended") continue;
      this.#put({ key, session, endedAt: Date.parse(ended_at), request: known?.request ?? null }, false);
    }
    this.#changed();
    this.snapshot = { status: "ready" };
  }

  /** Applies one watcher event. */
  apply(event: WatchEvent): void {
    switch (event.kind) {
      case "added":
      case "updated":
      case "ready":
        this.#upsert(event.session);
        return;
      case "warning": {
        // The state ("ending soon") and the session's warning come with the watcher's update;
        // the warning itself is only said.
        const minutes = Math.max(1, Math.ceil(event.remaining_seconds / 60));
        this.announcement =
          `${event.name} ${CLOCK_WARNINGS[event.clock]} in ${minutes} minute${minutes === 1 ? "" : "s"}.`;
        return;
      }
      case "ended": {
        const entry = this.#entry(event.account_id, event.session_id);
        this.announcement = `${event.name} ended: ${endReasonText(event.reason)}.`;
        if (!entry || entry.session.state.state === "ended") return;
        // What it came to, where the provider says ("Stopped from the CLI.", a runbook's output).
        const status_label = event.outcome ?? entry.session.status_label;
        const session = { ...entry.session, status_label, state: { state: "ended" as const, reason: event.reason } };
        this.#settle(this.#put({ ...entry, session, endedAt: this.#now() }));
        return;
      }
      case "offline":
        this.offline[event.account_id] = { problem: event.error, confirmedAt: event.confirmed_at };
        return;
      case "online":
        delete this.offline[event.account_id];
        return;
    }
  }

  /** Changes what the list shows. */
  filter(change: Partial<SessionFilters>): void {
    Object.assign(this.filters, change);
  }

  /** Records a session this app launched, and how, so that it can be relaunched alike. */
  launched(accountId: string, session: Session, request: LaunchRequest): void {
    const key = sessionKey(accountId, session.id);
    const entry = this.#entries.get(key);
    if (entry) this.#put({ ...entry, request: { ...request } });
    else {
      this.#touched?.add(key);
      this.#put({ key, session, endedAt: null, request: { ...request } });
    }
  }

  get(accountId: string, sessionId: string): SessionEntry | undefined {
    void this.#revision;
    return this.#entries.get(sessionKey(accountId, sessionId));
  }

  /** The entries of one account, or of all. */
  list(accountId: string | null = null): SessionEntry[] {
    void this.#revision;
    const all = [...this.#entries.values()];
    return accountId === null ? all : all.filter((e) => e.session.account_id === accountId);
  }

  /** Forgets an ended session, here and where the Rust side keeps it. */
  dismiss(accountId: string, sessionId: string): void {
    const key = sessionKey(accountId, sessionId);
    if (this.#entries.get(key)?.session.state.state === "ended") {
      this.#entries.delete(key);
      this.#changed();
      this.#backend.dismissEnded(accountId, sessionId).catch(() => undefined);
    }
  }

  /** Forgets every ended session ("Clear ended"), here and where the Rust side keeps them. */
  clearEnded(): void {
    for (const entry of [...this.#entries.values()]) {
      if (entry.session.state.state === "ended") this.#entries.delete(entry.key);
    }
    this.#changed();
    this.#backend.clearEnded().catch(() => undefined);
  }

  /** How many ended sessions are kept (every account's). */
  get endedCount(): number {
    return this.list().filter((e) => e.session.state.state === "ended").length;
  }

  /** How many of `accountId`'s sessions have not ended. */
  liveCount(accountId: string): number {
    return this.list(accountId).filter((e) => e.session.state.state !== "ended").length;
  }

  /** Resolves once the session answers (ready or ending soon) or has ended. */
  outcome(accountId: string, sessionId: string): Promise<LaunchOutcome> {
    return new Promise((resolve) => {
      const waiter = { key: sessionKey(accountId, sessionId), resolve };
      this.#waiters.add(waiter);
      const entry = this.#entries.get(waiter.key);
      if (entry) this.#settle(entry);
    });
  }

  #entry(accountId: string, sessionId: string): SessionEntry | undefined {
    return this.#entries.get(sessionKey(accountId, sessionId));
  }

  /** Tells those who list the entries that they changed. */
  #changed(): void {
    this.#revision = ++this.#changes;
  }

  /** Stores an entry (a new object: entries are never changed in place); returns it. `notify`:
   * tell at once (else the caller does, once for many). */
  #put(entry: SessionEntry, notify = true): SessionEntry {
    this.#entries.set(entry.key, entry);
    if (notify) this.#changed();
    return entry;
  }

  #upsert(incoming: Session, notify = true): void {
    const key = sessionKey(incoming.account_id, incoming.id);
    this.#touched?.add(key);
    const existing = this.#entries.get(key);
    // An end is final: a late update from before it must not bring the session back.
    if (existing?.session.state.state === "ended") return;
    // The watcher's state is shown as it decided it (a `ready` event carries it too).
    this.#settle(this.#put({ key, session: incoming, endedAt: null, request: existing?.request ?? null }, notify));
  }

  #settle(entry: SessionEntry): void {
    const { state } = entry.session;
    let outcome: LaunchOutcome | undefined;
    if (isReadyForWork(entry.session)) outcome = { kind: "ready", session: entry.session };
    else if (state.state === "ended") outcome = { kind: "ended", reason: state.reason };
    if (!outcome) return;
    for (const waiter of [...this.#waiters]) {
      if (waiter.key !== entry.key) continue;
      this.#waiters.delete(waiter);
      waiter.resolve(outcome);
    }
  }
}
