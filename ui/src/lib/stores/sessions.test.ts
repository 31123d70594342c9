import { describe, expect, it, vi } from "vitest";
import {
  type Backend,
  BackendError,
  demoSessions,
  MockBackend,
  type Session,
  type WatchEvent,
} from "../backend";
import { makeSession, minutesFrom, NOW } from "../../test/sessions";
import { SessionStore } from "./sessions.svelte";

const states = (store: SessionStore) =>
  Object.fromEntries(store.list().map((e) => [e.key, e.session.state.state]));

describe("SessionStore events", () => {
  it("adds, updates and readies sessions by account and id", () => {
    const store = new SessionStore(new MockBackend(), () => NOW);
    const session = makeSession({ state: { state: "starting" } });
    store.apply({ kind: "added", session });
    store.apply({ kind: "added", session: { ...session, account_id: "studio" } });
    expect(states(store)).toEqual({ "local/s1": "starting", "studio/s1": "starting" });

    store.apply({ kind: "updated", session: { ...session, state: { state: "connecting" } } });
    expect(store.get("local", "s1")?.session.state.state).toBe("connecting");
    // A `ready` event carries the state the watcher decided: shown as it is, ending soon included.
    store.apply({ kind: "ready", session: { ...session, state: { state: "expiring" } } });
    expect(store.get("local", "s1")?.session.state.state).toBe("expiring");
    store.apply({ kind: "ready", session: { ...session, state: { state: "ready" } } });
    expect(store.get("local", "s1")?.session.state.state).toBe("ready");
    expect(store.list("studio")).toHaveLength(1);
  });

  it("keeps an ended session, with its reason and when, and lets no late update revive it", () => {
    const store = new SessionStore(new MockBackend(), () => NOW);
    const session = makeSession();
    store.apply({ kind: "added", session });
    const ended: WatchEvent = { kind: "ended", account_id: "local", session_id: "s1", name: "terminal-1",
      reason: { kind: "out_of_credit" }, requested: false, outcome: null };
    store.apply(ended);
    const entry = store.get("local", "s1")!;
    expect(entry.session.state).toEqual({ state: "ended", reason: { kind: "out_of_credit" } });
    expect(entry.endedAt).toBe(NOW);
    expect(entry.session.name).toBe("terminal-1");
    expect(store.announcement).toBe("terminal-1 ended: Ran out of credit or quota.");

    store.apply({ kind: "updated", session });
    expect(store.get("local", "s1")?.session.state.state).toBe("ended");

    store.dismiss("local", "s1");
    expect(store.list()).toEqual([]);
  });

  it("announces a warning in its clock's words and takes the state from the watcher, not the warning", () => {
    const store = new SessionStore(new MockBackend(), () => NOW);
    store.apply({ kind: "added", session: makeSession({ deadline: minutesFrom(9) }) });
    store.apply({ kind: "warning", account_id: "local", session_id: "s1", name: "terminal-1", clock: "hard", clock_at: minutesFrom(9),
      remaining_seconds: 540, threshold_minutes: 10 });
    expect(store.announcement).toBe("terminal-1 ends in 9 minutes.");
    expect(store.get("local", "s1")?.session.state.state).toBe("ready");
    store.apply({ kind: "updated", session: makeSession({ deadline: minutesFrom(9), state: { state: "expiring" },
      warning: { clock: "hard", threshold_minutes: 10 } }) });
    expect(store.get("local", "s1")?.session.state.state).toBe("expiring");
    store.apply({ kind: "warning", account_id: "local", session_id: "s1", name: "terminal-1", clock: "idle", clock_at: minutesFrom(1),
      remaining_seconds: 60, threshold_minutes: 2 });
    expect(store.announcement).toBe("terminal-1 reaches its idle limit in 1 minute.");
  });

  it("tracks offline accounts and forgets them when they answer again", () => {
    const store = new SessionStore(new MockBackend(), () => NOW);
    store.apply({ kind: "added", session: makeSession() });
    const error = { code: "upstream_unavailable" as const, message: "refused" };
    store.apply({ kind: "offline", account_id: "local", error, confirmed_at: minutesFrom(-1) });
    expect(store.offline).toEqual({ local: { problem: error, confirmedAt: minutesFrom(-1) } });
    expect(store.list()).toHaveLength(1);
    store.apply({ kind: "online", account_id: "local" });
    expect(store.offline).toEqual({});
  });

  it("remembers how this app launched a session, for a relaunch", () => {
    const store = new SessionStore(new MockBackend(), () => NOW);
    const request = { machine_id: "terminal", resource: "CPU", timeout_minutes: 30 };
    store.launched("local", makeSession({ state: { state: "starting" } }), request);
    store.apply({ kind: "updated", session: makeSession({ state: { state: "connecting" } }) });
    expect(store.get("local", "s1")?.request).toEqual(request);
  });

  it("shows what an ended session came to where the provider says it, and keeps its last words where not", () => {
    const store = new SessionStore(new MockBackend(), () => NOW);
    store.apply({ kind: "added", session: makeSession({ id: "s1", status_label: "Running step 3" }) });
    store.apply({ kind: "added", session: makeSession({ id: "s2", status_label: "Running step 3" }) });
    const ended = (id: string, outcome: string | null): WatchEvent => ({ kind: "ended", account_id: "local",
      session_id: id, name: id, reason: { kind: "stopped" }, requested: false, outcome });
    store.apply(ended("s1", "Stopped from the CLI."));
    store.apply(ended("s2", null));
    expect(store.get("local", "s1")?.session.status_label).toBe("Stopped from the CLI.");
    expect(store.get("local", "s2")?.session.status_label).toBe("Running step 3");
  });

  it("tells a launch how it came out: ready, or ended first", async () => {
    const store = new SessionStore(new MockBackend(), () => NOW);
    const ready = store.outcome("local", "s1");
    store.apply({ kind: "added", session: makeSession({ state: { state: "starting" } }) });
    store.apply({ kind: "ready", session: makeSession() });
    expect(await ready).toMatchObject({ kind: "ready", session: { id: "s1" } });
    // Already up: resolves at once.
    expect(await store.outcome("local", "s1")).toMatchObject({ kind: "ready" });

    const failed = store.outcome("local", "s2");
    store.apply({ kind: "added", session: makeSession({ id: "s2", state: { state: "starting" } }) });
    store.apply({ kind: "ended", account_id: "local", session_id: "s2", name: "x",
      reason: { kind: "failed", detail: "image pull failed" }, requested: false, outcome: null });
    expect(await failed).toEqual({ kind: "ended", reason: { kind: "failed", detail: "image pull failed" } });
  });
});

describe("SessionStore snapshot", () => {
  it("loads every account's sessions once, then follows events without polling", async () => {
    const backend = new MockBackend({ sessions: demoSessions(Date.now()) });
    const list = vi.spyOn(backend, "listSessions");
    const store = new SessionStore(backend);
    expect(store.snapshot.status).toBe("loading");
    const stop = store.start();
    await vi.waitFor(() => expect(store.snapshot.status).toBe("ready"));
    expect(list).toHaveBeenCalledTimes(1);
    expect(list).toHaveBeenCalledWith(null);
    expect(store.list()).toHaveLength(5);
    backend.sessions.goOffline("studio-gpus");
    expect(Object.keys(store.offline)).toEqual(["studio-gpus"]);
    stop();
    backend.sessions.goOnline("studio-gpus");
    expect(Object.keys(store.offline)).toEqual(["studio-gpus"]);
    expect(list).toHaveBeenCalledTimes(1);
  });

  it("lets events seen while the snapshot loads win over it", async () => {
    let answer: (sessions: Session[]) => void = () => {};
    let listener: (event: WatchEvent) => void = () => {};
    const backend = {
      listSessions: () => new Promise<Session[]>((resolve) => (answer = resolve)),
      endedSessions: async () => [],
      onSessionEvent: (l: (event: WatchEvent) => void) => ((listener = l), () => {}),
    } as unknown as Backend;
    const store = new SessionStore(backend);
    store.start();
    listener({ kind: "updated", session: makeSession({ state: { state: "stopping" } }) });
    answer([makeSession(), makeSession({ id: "s2" })]);
    await vi.waitFor(() => expect(store.snapshot.status).toBe("ready"));
    expect(states(store)).toEqual({ "local/s1": "stopping", "local/s2": "ready" });
  });

  it("shows a failed snapshot as a coded error, and a retry recovers", async () => {
    const backend = new MockBackend();
    const list = vi.spyOn(backend, "listSessions")
      .mockRejectedValueOnce(new BackendError("internal", "watchers not started"));
    const store = new SessionStore(backend);
    await store.load();
    expect(store.snapshot).toMatchObject({ status: "error", error: { code: "internal" } });
    await store.load();
    expect(store.snapshot.status).toBe("ready");
    expect(list).toHaveBeenCalledTimes(2);
  });

  it("loads the ended sessions kept from an earlier run; a live session of the same key wins", async () => {
    const stopped = makeSession({ id: "old", state: { state: "ended", reason: { kind: "stopped" } } });
    const backend = new MockBackend({
      now: () => NOW,
      sessions: [makeSession()],
      endedSessions: [
        { session: stopped, ended_at: minutesFrom(-30) },
        // Kept as ended, but its id is live again: the live one shows.
        { session: makeSession({ state: { state: "ended", reason: { kind: "timeout" } } }), ended_at: minutesFrom(-5) },
      ],
    });
    const store = new SessionStore(backend, () => NOW);
    await store.load();
    expect(states(store)).toEqual({ "local/s1": "ready", "local/old": "ended" });
    expect(store.get("local", "old")).toMatchObject({ session: stopped, endedAt: Date.parse(minutesFrom(-30)) });
    expect(store.endedCount).toBe(1);
  });

  it("shows the live sessions when the ended ones cannot be read", async () => {
    const backend = new MockBackend({ now: () => NOW, sessions: [makeSession()] });
    vi.spyOn(backend, "endedSessions").mockRejectedValue(new BackendError("io", "unreadable"));
    const store = new SessionStore(backend, () => NOW);
    await store.load();
    expect(store.snapshot.status).toBe("ready");
    expect(states(store)).toEqual({ "local/s1": "ready" });
  });

  it("forgets ended sessions in the backend too: one (Dismiss) or all (Clear ended)", async () => {
    const ended = (id: string) => ({
      session: makeSession({ id, state: { state: "ended", reason: { kind: "stopped" } } }),
      ended_at: minutesFrom(-1),
    });
    const backend = new MockBackend({
      now: () => NOW,
      sessions: [makeSession()],
      endedSessions: [ended("a"), ended("b"), ended("c")],
    });
    const store = new SessionStore(backend, () => NOW);
    await store.load();
    expect(store.endedCount).toBe(3);

    store.dismiss("local", "a");
    // A live session is not dismissed.
    store.dismiss("local", "s1");
    expect(Object.keys(states(store))).toEqual(["local/s1", "local/b", "local/c"]);
    await vi.waitFor(() => expect(backend.sessions.calls).toContain("dismiss-ended local a"));
    expect((await backend.endedSessions()).map((e) => e.session.id)).toEqual(["b", "c"]);

    store.clearEnded();
    expect(states(store)).toEqual({ "local/s1": "ready" });
    expect(store.endedCount).toBe(0);
    await vi.waitFor(() => expect(backend.sessions.calls).toContain("clear-ended"));
    expect(await backend.endedSessions()).toEqual([]);
    expect(backend.sessions.calls.filter((c) => c.startsWith("dismiss"))).toEqual(["dismiss-ended local a"]);
  });
});
