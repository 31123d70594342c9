import { describe, expect, it } from "vitest";
import { PROVIDERS } from "./backend/providers";
import { makeEntry, minutesFrom, NOW } from "../test/sessions";
import {
  availabilityText,
  canOpen,
  endingSoon,
  endReasonText,
  extendChoices,
  extraClocks,
  filterEntries,
  historyText,
  keepOrder,
  longerRequest,
  relaunchRequest,
  sortEntries,
  staleNote,
  stateLabel,
} from "./sessionView";

const entries = [
  makeEntry({ id: "a", name: "zeta", deadline: minutesFrom(50), created_at: minutesFrom(-5) }),
  makeEntry({ id: "b", name: "alpha", account_id: "studio", machine_id: "flux", resource: "A100",
    deadline: minutesFrom(5), created_at: minutesFrom(-60) }),
  makeEntry({ id: "c", name: "mid", deadline: null, state: { state: "starting" },
    created_at: minutesFrom(-1) }),
  makeEntry({ id: "d", name: "old", deadline: minutesFrom(1),
    state: { state: "ended", reason: { kind: "timeout" } }, created_at: minutesFrom(-90) }),
];
const ids = (list: { session: { id: string } }[]) => list.map((e) => e.session.id);

describe("filter and sort", () => {
  it("filters by text in name, machine, resource or account name, in any case", () => {
    expect(ids(filterEntries(entries, "ALP", "all"))).toEqual(["b"]);
    expect(ids(filterEntries(entries, "a100", "all"))).toEqual(["b"]);
    expect(ids(filterEntries(entries, "studio g", "all", (id) => (id === "studio" ? "Studio GPUs" : id))))
      .toEqual(["b"]);
    expect(ids(filterEntries(entries, "  ", "all"))).toEqual(["a", "b", "c", "d"]);
  });

  it("filters by the machine's name as well as its id", () => {
    expect(ids(filterEntries(entries, "flux dev", "all"))).toEqual([]);
    const named = entries.map((e) =>
      e.session.machine_id === "flux" ? { ...e, session: { ...e.session, machine_name: "Flux Dev" } } : e,
    );
    expect(ids(filterEntries(named, "flux dev", "all"))).toEqual(["b"]);
    expect(ids(filterEntries(named, "FLUX", "all"))).toEqual(["b"]);
  });

  it("filters by state groups", () => {
    expect(ids(filterEntries(entries, "", "ready"))).toEqual(["a", "b"]);
    expect(ids(filterEntries(entries, "", "starting"))).toEqual(["c"]);
    expect(ids(filterEntries(entries, "", "ended"))).toEqual(["d"]);
    expect(ids(filterEntries(entries, "", "stopping"))).toEqual([]);
  });

  it("sorts by deadline (none after, ended last), name, or newest", () => {
    expect(ids(sortEntries(entries, "deadline"))).toEqual(["b", "a", "c", "d"]);
    expect(ids(sortEntries(entries, "name"))).toEqual(["b", "c", "d", "a"]);
    expect(ids(sortEntries(entries, "newest"))).toEqual(["c", "a", "b", "d"]);
    expect(ids(entries)).toEqual(["a", "b", "c", "d"]);
  });
});

describe("ending soon and a steady order", () => {
  it("is ending soon in the last two minutes before the deadline (or past it), not before", () => {
    expect(endingSoon(minutesFrom(2.5), NOW)).toBe(false);
    expect(endingSoon(minutesFrom(2), NOW)).toBe(true);
    expect(endingSoon(minutesFrom(0.5), NOW)).toBe(true);
    expect(endingSoon(minutesFrom(-1), NOW)).toBe(true);
    expect(endingSoon(null, NOW)).toBe(false);
  });

  it("keeps the order shown: shown ones stay put, new ones follow, gone ones drop out", () => {
    const [a, b, c] = ["a", "b", "c"].map((id) => makeEntry({ id }));
    const keys = (list: typeof entries) => list.map((e) => e.session.id);
    expect(keys(keepOrder([a!.key, b!.key], [c!, b!, a!]))).toEqual(["a", "b", "c"]);
    expect(keys(keepOrder([a!.key, b!.key, c!.key], [c!, a!]))).toEqual(["a", "c"]);
    expect(keys(keepOrder([], [c!, a!]))).toEqual(["c", "a"]);
  });
});

describe("words", () => {
  it("says why a session ended", () => {
    expect(endReasonText({ kind: "timeout" })).toMatch(/deadline passed/);
    expect(endReasonText({ kind: "stopped" })).toBe("Stopped");
    expect(endReasonText({ kind: "failed", detail: "OOM" })).toBe("Failed: OOM");
    expect(endReasonText({ kind: "out_of_credit" })).toMatch(/credit/);
    expect(endReasonText({ kind: "completed" })).toMatch(/Completed/);
    expect(endReasonText({ kind: "vanished" })).toBe("Ended by the provider, which gave no reason");
    expect(endReasonText({ kind: "idle_timeout" })).toBe("Ended: idle too long");
    expect(endReasonText({ kind: "cancelled" })).toBe("Cancelled");
    expect(endReasonText({ kind: "failed", detail: "" })).toBe("Failed");
  });

  it("says how long an offline account's sessions have gone unconfirmed, and why", () => {
    const problem = { code: "upstream_unavailable" as const, message: "Connection refused." };
    const since = new Date(NOW - 40_000).toISOString();
    expect(staleNote({ problem, confirmedAt: since }, NOW)).toBe("Not confirmed for 40 s — Connection refused.");
    expect(staleNote({ problem, confirmedAt: since }, NOW + 80_000)).toBe("Not confirmed for 2 min — Connection refused.");
    expect(staleNote({ problem, confirmedAt: null }, NOW)).toBe("Not confirmed — Connection refused.");
  });

  it("names states by kind, and an unknown one as its provider wrote it", () => {
    expect(stateLabel({ state: "waiting_for_input" })).toBe("Waiting for your input");
    expect(stateLabel({ state: "queued" })).toBe("Waiting for first work");
    expect(stateLabel({ state: "other", reason: "PAUSED_BY_ADMIN" })).toBe("PAUSED_BY_ADMIN");
    expect(stateLabel({ state: "other", reason: "" })).toBe("Unknown state");
  });

  it("lists a session's idle and unused clocks soonest first, and neither when it has none", () => {
    const s = makeEntry({ idle_deadline: minutesFrom(30), unused_deadline: minutesFrom(10) }).session;
    expect(extraClocks(s)).toEqual([
      { kind: "unused", at: minutesFrom(10) },
      { kind: "idle", at: minutesFrom(30) },
    ]);
    expect(extraClocks(makeEntry({}).session)).toEqual([]);
  });

  it("says how available a resource is", () => {
    expect(availabilityText({ status: "available" })).toBe("Available");
    expect(availabilityText({ status: "busy", queue_length: 3 })).toBe("Busy: 3 in queue");
    expect(availabilityText({ status: "unavailable", reason: "no GPU" })).toBe("Unavailable: no GPU");
    expect(availabilityText({ status: "unknown" })).toMatch(/unknown/);
  });
});

describe("what can be done", () => {
  it("opens only a ready or expiring session with a page", () => {
    expect(canOpen(makeEntry().session)).toBe(true);
    expect(canOpen(makeEntry({ state: { state: "expiring" } }).session)).toBe(true);
    expect(canOpen(makeEntry({ state: { state: "connecting" } }).session)).toBe(false);
    expect(canOpen(makeEntry({ capabilities: { can_extend: true, can_stop: true, has_ui: false, can_cancel: false } })
      .session)).toBe(false);
  });

  it("keeps extensions within the provider's limit, counted from the session's creation", () => {
    const steps = PROVIDERS.comfy_deploy.extend_steps;
    // Created 23 h 40 min ago, ending in 5 minutes: 20 minutes are left under the 24 h ceiling.
    const created = minutesFrom(-(24 * 60 - 20));
    const near = extendChoices(minutesFrom(5), created, steps, 24 * 60);
    expect(near).toEqual([
      { minutes: 5, allowed: true },
      { minutes: 15, allowed: true },
      { minutes: 30, allowed: false },
      { minutes: 60, allowed: false },
    ]);
    // Measured from now instead, +60 would pass: the ceiling is the creation's.
    expect(extendChoices(minutesFrom(5), minutesFrom(0), steps, 24 * 60).every((c) => c.allowed)).toBe(true);
    expect(extendChoices(minutesFrom(10), created, steps, null).every((c) => c.allowed)).toBe(true);
    expect(PROVIDERS.comfy_deploy.lifetime.choices.every((m) => m <= 24 * 60)).toBe(true);
  });

  it("relaunches with the request it was launched with, else what the session says", () => {
    const request = { machine_id: "terminal", resource: "CPU", timeout_minutes: 60 };
    const templated = PROVIDERS.comfy_deploy;
    const untemplated = { ...templated, launch: { ...templated.launch, template_required: false } };
    expect(relaunchRequest(makeEntry({}, { request }), templated)).toEqual(request);
    expect(relaunchRequest(makeEntry({ machine_id: "flux", resource: "A10G" }), templated)).toEqual({
      machine_id: "flux",
      resource: "A10G",
      timeout_minutes: null,
    });
    // No template (a QPU or runbook session): again on the resource it ran on.
    expect(relaunchRequest(makeEntry({ machine_id: null, resource: "A10G" }), templated)).toBeNull();
    expect(relaunchRequest(makeEntry({ machine_id: null, resource: "ibm_fez" }), untemplated)).toEqual({
      machine_id: "",
      resource: "ibm_fez",
      timeout_minutes: null,
    });
    expect(relaunchRequest(makeEntry({ machine_id: null, resource: null }), untemplated)).toBeNull();
  });

  it("relaunches longer with the provider's next lifetime, if it has one", () => {
    const lifetime = { default_minutes: 480, choices: [30, 60, 120, 240, 480], max_minutes: null };
    const provider = { ...PROVIDERS.ibm_quantum, lifetime };
    const request = { machine_id: "", resource: "ibm_fez", timeout_minutes: 60, mode: "batch" };
    expect(longerRequest(makeEntry({}, { request }), provider)).toEqual({ ...request, timeout_minutes: 120 });
    // Seen elsewhere: its limit is taken as the default, the longest here.
    expect(longerRequest(makeEntry({ machine_id: null, resource: "ibm_fez" }), provider)).toBeNull();
  });

  it("words each history entry, automatic extensions apart", () => {
    const at = minutesFrom(0);
    expect(historyText({ at, kind: "launched" })).toBe("Launched");
    expect(historyText({ at, kind: "extended", minutes: 15, automatic: false })).toBe("Extended +15 min");
    expect(historyText({ at, kind: "extended", minutes: 15, automatic: true })).toBe("Auto-extended +15 min");
    expect(historyText({ at, kind: "extended", minutes: 90, automatic: true })).toBe("Auto-extended +1 h 30 min");
    expect(historyText({ at, kind: "stop_requested" })).toBe("Stop requested");
  });
});
