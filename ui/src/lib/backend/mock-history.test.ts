import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MOCK_DEMO_ACCOUNTS, MOCK_HISTORY_PER_SESSION, MockBackend, mockOptionsFromQuery } from "./mock";
import { demoSessions } from "./mock-sessions-data";
import { defaultAlertSettings, type WatchEvent } from "./types";

const SPEED = 100;
const T0 = Date.parse("2025-06-01T12:00:00Z");
const at = (ms: number) => new Date(T0 + ms).toISOString();

describe("MockBackend session history", () => {
  beforeEach(() => vi.useFakeTimers({ now: T0 }));
  afterEach(() => vi.useRealTimers());

  it("records a launch, each extension and each stop asked, oldest first, and keeps them after the end", async () => {
    const backend = new MockBackend({ sessionSpeedMs: SPEED });
    const session = await backend.launchSession("local", {
      machine_id: "terminal",
      resource: null,
      timeout_minutes: 30,
    });
    await vi.advanceTimersByTimeAsync(SPEED * 5);
    await backend.extendSession("local", session.id, 15);
    await vi.advanceTimersByTimeAsync(60_000);
    backend.sessions.autoExtend("local", session.id, 30);
    await backend.stopSession("local", session.id);
    await vi.advanceTimersByTimeAsync(SPEED);
    expect((await backend.listSessions("local")).map((s) => s.id)).not.toContain(session.id);

    expect(await backend.sessionHistory("local", session.id)).toEqual([
      { at: at(0), kind: "launched" },
      { at: at(SPEED * 5), kind: "extended", minutes: 15, automatic: false },
      { at: at(SPEED * 5 + 60_000), kind: "extended", minutes: 30, automatic: true },
      { at: at(SPEED * 5 + 60_000), kind: "stop_requested" },
    ]);
    expect(backend.sessions.calls).toContain(`auto-extend local ${session.id} 30`);
  });

  it("has nothing for a session it never touched, or one of another account", async () => {
    const backend = new MockBackend({ accounts: MOCK_DEMO_ACCOUNTS, sessions: demoSessions(T0) });
    expect(await backend.sessionHistory("local", "demo-shell")).toEqual([]);
    expect(await backend.sessionHistory("local", "nope")).toEqual([]);
    await backend.extendSession("local", "demo-shell", 5);
    expect(await backend.sessionHistory("studio-gpus", "demo-shell")).toEqual([]);
    // A refused extension records nothing.
    await expect(backend.extendSession("local", "demo-shell", 24 * 60)).rejects.toMatchObject({
      code: "invalid_input",
    });
    expect(await backend.sessionHistory("local", "demo-shell")).toHaveLength(1);
  });

  it("keeps the newest entries of a long history", async () => {
    const backend = new MockBackend({ sessions: demoSessions(T0).filter((s) => s.account_id === "local") });
    for (let i = 0; i < MOCK_HISTORY_PER_SESSION + 3; i++) {
      backend.sessions.extend("local", "demo-shell", 1);
      vi.advanceTimersByTime(1000);
    }
    const history = await backend.sessionHistory("local", "demo-shell");
    expect(history).toHaveLength(MOCK_HISTORY_PER_SESSION);
    expect(history[0]!.at).toBe(at(3000));
  });

  it("seeds automatic extensions by the saved extension, moving the deadline and telling no one", async () => {
    const settings = defaultAlertSettings();
    settings.auto_extend.extend_by_minutes = 20;
    const backend = new MockBackend({
      accounts: MOCK_DEMO_ACCOUNTS,
      sessions: demoSessions(T0),
      settings,
      autoExtended: ["demo-shell", "demo-flux", "unknown"],
    });
    const events: WatchEvent[] = [];
    backend.onSessionEvent((event) => events.push(event));
    const sessions = await backend.listSessions(null);
    const seeded = Object.fromEntries(demoSessions(T0).map((s) => [s.id, s.deadline]));
    const moved = (id: string) =>
      Date.parse(sessions.find((s) => s.id === id)!.deadline!) - Date.parse(seeded[id]!);
    expect(moved("demo-shell")).toBe(20 * 60_000);
    expect(moved("demo-flux")).toBe(20 * 60_000);
    expect(moved("demo-sdxl")).toBe(0);
    // flux-dev had 8 minutes left: 28 now, so it is no longer ending soon.
    expect(sessions.find((s) => s.id === "demo-flux")!.state).toEqual({ state: "ready" });
    expect(await backend.sessionHistory("local", "demo-shell")).toEqual([
      { at: at(0), kind: "extended", minutes: 20, automatic: true },
    ]);
    expect(events).toEqual([]);
  });

  it("fails with the configured code, and recovers once reconfigured", async () => {
    const backend = new MockBackend({ historyFailWith: "upstream_unavailable" });
    await expect(backend.sessionHistory("local", "s-1")).rejects.toMatchObject({
      code: "upstream_unavailable",
      message: "mock failure: upstream_unavailable",
    });
    backend.configure({});
    await expect(backend.sessionHistory("local", "s-1")).resolves.toEqual([]);
  });
});

describe("mockOptionsFromQuery history", () => {
  it("reads the seeded automatic extensions and the history failure", () => {
    expect(mockOptionsFromQuery("?mock-auto-extended=demo-shell,demo-flux&mock-history-fail=io")).toEqual({
      autoExtended: ["demo-shell", "demo-flux"],
      historyFailWith: "io",
    });
    expect(mockOptionsFromQuery("?mock-auto-extended=&mock-history-fail=nope")).toEqual({});
  });
});
