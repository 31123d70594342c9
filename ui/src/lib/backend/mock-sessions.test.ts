import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MOCK_DEMO_ACCOUNTS, MockBackend, mockOptionsFromQuery } from "./mock";
import { demoEndedSessions, demoSessions } from "./mock-sessions-data";
import type { LogLine, WatchEvent } from "./types";

const SPEED = 100;

function setup(options: ConstructorParameters<typeof MockBackend>[0] = {}) {
  const backend = new MockBackend({ sessionSpeedMs: SPEED, ...options });
  const events: WatchEvent[] = [];
  const unsubscribe = backend.onSessionEvent((event) => events.push(event));
  const kinds = () =>
    events.map((e) => ("session" in e ? `${e.kind}:${e.session.state.state}` : e.kind));
  return { backend, events, kinds, unsubscribe };
}

describe("MockBackend sessions", () => {
  beforeEach(() => vi.useFakeTimers({ now: Date.parse("2025-06-01T12:00:00Z") }));
  afterEach(() => vi.useRealTimers());

  it("offers Local's machines and resources, saying why some cannot be used", async () => {
    const backend = new MockBackend();
    const machines = await backend.listMachines("local");
    expect(machines.map((m) => [m.id, m.can_launch, m.unavailable_reason])).toEqual([
      ["terminal", true, null],
      ["jupyter", false, "jupyter is not installed"],
    ]);
    const resources = await backend.listResources("local");
    expect(resources.map((r) => [r.id, r.price_per_hour, r.availability])).toEqual([
      ["CPU", 0, { status: "available" }],
      ["H100", null, { status: "unavailable", reason: "this machine has no such GPU" }],
    ]);
    await expect(backend.listMachines("nobody")).rejects.toMatchObject({ code: "invalid_input" });
  });

  it("launches: starting, then connecting, then ready, with a streamed start-up log", async () => {
    const { backend, kinds } = setup();
    const session = await backend.launchSession("local", {
      machine_id: "terminal",
      resource: null,
      timeout_minutes: 30,
    });
    expect(session).toMatchObject({ state: { state: "starting" }, resource: "CPU", price_per_hour: 0 });
    expect(Date.parse(session.deadline!) - Date.parse(session.created_at)).toBe(30 * 60_000);

    const lines: LogLine[] = [];
    const followed = backend.followLogs("local", session.id, (line) => lines.push(line));
    await vi.advanceTimersByTimeAsync(SPEED * 4 + 1);
    await followed;
    expect(lines.map((l) => l.message)).toEqual([
      "Launching terminal on CPU",
      "Starting /bin/sh in a pseudo-terminal",
      "Serving the terminal page on a loopback port",
      "Waiting for the page to answer",
      "The page answers: ready",
    ]);
    expect(kinds()).toEqual(["added:starting", "updated:connecting", "ready:ready"]);
    await backend.openSession("local", session.id);
    expect(backend.sessions.calls).toContain(`open local ${session.id}`);

    // A late follower gets the whole log at once.
    const again: string[] = [];
    await backend.followLogs("local", session.id, (line) => again.push(line.message));
    expect(again).toHaveLength(5);
  });

  it("refuses what a provider refuses, and opens nothing before it is ready", async () => {
    const backend = new MockBackend({ sessionSpeedMs: SPEED });
    const launch = (machine_id: string, resource: string | null = null) =>
      backend.launchSession("local", { machine_id, resource, timeout_minutes: 15 }).catch((e) => e);
    expect(await launch("jupyter")).toMatchObject({
      code: "invalid_input",
      message: "jupyter cannot launch: jupyter is not installed.",
    });
    expect(await launch("terminal", "H100")).toMatchObject({ code: "invalid_input" });
    const session = await backend.launchSession("local", { machine_id: "terminal", resource: null, timeout_minutes: null });
    await expect(backend.openSession("local", session.id)).rejects.toMatchObject({ code: "invalid_input" });
    await expect(backend.openSession("local", "nope")).rejects.toMatchObject({ code: "session_gone" });
    await expect(backend.launchSession("gpu-box", { machine_id: "terminal", resource: null, timeout_minutes: null }))
      .rejects.toMatchObject({ code: "invalid_input" });
  });

  it("fails launches with the configured code", async () => {
    const backend = new MockBackend({ launchFailWith: "quota_exceeded" });
    await expect(
      backend.launchSession("local", { machine_id: "terminal", resource: null, timeout_minutes: null }),
    ).rejects.toMatchObject({ code: "quota_exceeded", message: "mock launch failure: quota_exceeded" });
  });

  it("extends the deadline, within the limit", async () => {
    const { backend, events } = setup({ accounts: MOCK_DEMO_ACCOUNTS, sessions: demoSessions(Date.now()) });
    const before = (await backend.listSessions("local")).find((s) => s.id === "demo-shell")!;
    await backend.extendSession("local", "demo-shell", 15);
    const after = (await backend.listSessions("local")).find((s) => s.id === "demo-shell")!;
    expect(Date.parse(after.deadline!) - Date.parse(before.deadline!)).toBe(15 * 60_000);
    expect(events.at(-1)).toMatchObject({ kind: "updated", session: { id: "demo-shell" } });
    await expect(backend.extendSession("local", "demo-shell", 24 * 60)).rejects.toMatchObject({
      code: "invalid_input",
    });
    await expect(backend.extendSession("studio-gpus", "demo-legacy", 5)).rejects.toMatchObject({
      code: "invalid_input",
    });
    // Extending an expiring session past its warnings makes it ready again.
    await backend.extendSession("studio-gpus", "demo-flux", 30);
    expect(events.at(-1)).toMatchObject({ session: { id: "demo-flux", state: { state: "ready" } } });
  });

  it("stops: stopping until the provider confirms, then ended as stopped", async () => {
    const { backend, kinds, events } = setup({ accounts: MOCK_DEMO_ACCOUNTS, sessions: demoSessions(Date.now()) });
    await backend.stopSession("local", "demo-shell");
    expect(kinds()).toEqual(["updated:stopping"]);
    await vi.advanceTimersByTimeAsync(SPEED);
    expect(events.at(-1)).toEqual({
      kind: "ended",
      account_id: "local",
      session_id: "demo-shell",
      name: "shell",
      reason: { kind: "stopped" },
      requested: true,
      outcome: null,
    });
    expect((await backend.listSessions("local")).map((s) => s.id)).toEqual(["demo-notebook"]);
    // Kept as ended, with when, as the Rust side keeps it across restarts.
    expect(await backend.endedSessions()).toEqual([
      { session: expect.objectContaining({ id: "demo-shell", state: { state: "ended", reason: { kind: "stopped" } } }),
        ended_at: new Date(Date.now()).toISOString() },
    ]);
  });

  it("keeps ended sessions from an earlier run until one is dismissed or all are cleared", async () => {
    const backend = new MockBackend({ accounts: MOCK_DEMO_ACCOUNTS, endedSessions: demoEndedSessions(Date.now()) });
    const ids = async () => (await backend.endedSessions()).map((e) => e.session.id);
    expect(await ids()).toEqual(["old-render", "old-shell"]);
    await backend.dismissEnded("local", "old-shell");
    expect(await ids()).toEqual(["old-render"]);
    await backend.clearEnded();
    expect(await ids()).toEqual([]);
    expect(backend.sessions.calls).toEqual(["dismiss-ended local old-shell", "clear-ended"]);
  });

  it("records a quit, and whether Local sessions were to keep running", async () => {
    const backend = new MockBackend();
    await backend.quit(true);
    await backend.quit(false);
    expect(backend.quitCalls).toEqual([true, false]);
  });

  it("replays the watcher: warns at T-10 and T-2 minutes, then ends the session as timed out", async () => {
    const { backend, events } = setup();
    const session = await backend.launchSession("local", { machine_id: "terminal", resource: null, timeout_minutes: 15 });
    await vi.advanceTimersByTimeAsync(5 * 60_000 + 1000);
    expect(events.filter((e) => e.kind === "warning")).toEqual([
      expect.objectContaining({ session_id: session.id, threshold_minutes: 10 }),
    ]);
    // As the tracker tells it: the warning, then the session it changed.
    expect(events.at(-2)).toMatchObject({ kind: "warning", threshold_minutes: 10 });
    expect(events.at(-1)).toMatchObject({ kind: "updated", session: { state: { state: "expiring" } } });
    await vi.advanceTimersByTimeAsync(8 * 60_000);
    expect(events.filter((e) => e.kind === "warning").map((e) => "threshold_minutes" in e && e.threshold_minutes))
      .toEqual([10, 2]);
    await vi.advanceTimersByTimeAsync(2 * 60_000);
    expect(events.at(-1)).toMatchObject({ kind: "ended", session_id: session.id, reason: { kind: "timeout" } });
  });

  it("refuses a prompt that can be refused, as the history then says, and no other", async () => {
    const { backend, kinds } = setup({ sessions: demoSessions(Date.now()) });
    const ask = (reject_label: string | null) =>
      backend.sessions.ask("local", "demo-shell", {
        id: "p1", message: "Go on?", parameters: [], submit_label: "Approve", reject_label,
      });
    ask(null);
    await expect(backend.rejectPrompt("local", "demo-shell", "p1")).rejects.toMatchObject({
      code: "invalid_input",
      message: '"Go on?" cannot be refused, only answered.',
    });
    ask("Reject");
    await expect(backend.rejectPrompt("local", "demo-shell", "p2")).rejects.toMatchObject({ code: "invalid_input" });
    await backend.rejectPrompt("local", "demo-shell", "p1");
    expect(await backend.sessionPrompts("local", "demo-shell")).toEqual([]);
    expect(kinds().at(-1)).toBe("updated:ready");
    expect(backend.sessions.calls.filter((c) => c.startsWith("reject"))).toEqual(["reject local demo-shell p1"]);
    expect((await backend.sessionHistory("local", "demo-shell")).at(-1)).toMatchObject({
      kind: "answered", prompt: "p1", rejected: true,
    });
  });

  it("offers an Airplane account's runbooks, those run before, and no templates", async () => {
    const account = { id: "ops", name: "Ops", provider: "airplane" as const, base_url: "https://a.example/v0", fields: {} };
    const backend = new MockBackend({ accounts: [{ account, key: "set" }] });
    expect(await backend.listMachines("ops")).toEqual([]);
    expect((await backend.listResources("ops")).map((r) => [r.kind, r.label])).toEqual([
      ["runbook", "rbk20240611deploy (last: deploy-api)"],
      ["runbook", "rbk20240702rotate (last: rotate-keys)"],
    ]);
  });

  it("reports an offline account to each listener, refuses its calls, and comes back", async () => {
    const { backend, events, unsubscribe } = setup({ accounts: MOCK_DEMO_ACCOUNTS, offlineAccount: "studio-gpus" });
    await vi.advanceTimersByTimeAsync(0);
    expect(events).toEqual([
      {
        kind: "offline",
        account_id: "studio-gpus",
        error: { code: "upstream_unavailable", message: "Cannot reach https://api.comfydeploy.com/api: connection refused." },
        // Read as the app started, then it stopped answering.
        confirmed_at: new Date(Date.now()).toISOString(),
      },
    ]);
    await expect(backend.listMachines("studio-gpus")).rejects.toMatchObject({ code: "upstream_unavailable" });
    await backend.refreshSessions();
    expect(events).toHaveLength(2);
    backend.sessions.goOnline("studio-gpus");
    expect(events.at(-1)).toEqual({ kind: "online", account_id: "studio-gpus" });
    unsubscribe();
    backend.sessions.goOffline("local");
    expect(events).toHaveLength(3);
  });

  it("says when an offline account's sessions were last read: now, a given time, or never", async () => {
    const { backend, events } = setup({ accounts: MOCK_DEMO_ACCOUNTS });
    const problem = { code: "unauthorized" as const, message: "revoked" };
    backend.sessions.goOffline("local", problem);
    backend.sessions.goOffline("studio-gpus", problem, "2025-06-01T11:59:00.000Z");
    backend.sessions.goOffline("gpu-box", problem, null);
    expect(events.map((e) => (e.kind === "offline" ? [e.account_id, e.confirmed_at] : e.kind))).toEqual([
      ["local", new Date(Date.now()).toISOString()],
      ["studio-gpus", "2025-06-01T11:59:00.000Z"],
      ["gpu-box", null],
    ]);
  });
});

describe("mockOptionsFromQuery sessions", () => {
  it("reads the session parameters", () => {
    const demo = mockOptionsFromQuery("?mock-sessions=demo&mock-offline=1&mock-speed=50&mock-launch-fail=unauthorized");
    expect(demo.sessions?.map((s) => s.id)).toEqual([
      "demo-shell", "demo-notebook", "demo-flux", "demo-sdxl", "demo-legacy",
    ]);
    expect(demo.accounts).toBe(MOCK_DEMO_ACCOUNTS);
    expect(demo).toMatchObject({ offlineAccount: "studio-gpus", sessionSpeedMs: 50, launchFailWith: "unauthorized" });
    expect(mockOptionsFromQuery("?mock-offline=1")).toEqual({ offlineAccount: "local" });
    expect(mockOptionsFromQuery("?mock-offline=gpu-box&mock-speed=0")).toEqual({
      offlineAccount: "gpu-box",
      sessionSpeedMs: 0,
    });
    expect(mockOptionsFromQuery("?mock-launch-fail=nope&mock-speed=-3")).toEqual({});
    const ended = mockOptionsFromQuery("?mock-ended=demo");
    expect(ended.endedSessions?.map((e) => [e.session.account_id, e.session.id])).toEqual([
      ["studio-gpus", "old-render"],
      ["local", "old-shell"],
    ]);
    expect(ended.accounts).toBe(MOCK_DEMO_ACCOUNTS);
  });
});
