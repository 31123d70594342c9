import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { tick } from "svelte";
import { describe, expect, it, vi } from "vitest";
import { BACKEND_CONTEXT, BackendError, MockBackend } from "../backend";
import { makeEntry, minutesFrom } from "../../test/sessions";
import { lastLines } from "../stores/lastLines.svelte";
import SessionList from "./SessionList.svelte";

const now = Date.now();
const entries = [
  makeEntry({ id: "s1", name: "flux-dev", machine_id: "flux", resource: "A100", price_per_hour: 3.5,
    created_at: minutesFrom(-10, now),
    deadline: minutesFrom(42, now) }),
  makeEntry({ id: "s2", name: "qaoa-run", machine_id: "ibm", resource: "ibm_brisbane",
    state: { state: "starting" }, deadline: null }),
  makeEntry({ id: "s3", name: "nightly", state: { state: "ended", reason: { kind: "failed", detail: "exit 1" } } },
    { endedAt: now }),
];

function renderList(props: Record<string, unknown>) {
  return render(SessionList, {
    props: { entries: [], ...props },
    context: new Map([[BACKEND_CONTEXT, new MockBackend()]]),
  });
}

describe("SessionList", () => {
  it("shows the empty state when there are no sessions", () => {
    renderList({ entries: [] });
    const list = screen.getByTestId("session-list");
    expect(within(list).getByTestId("session-list-empty")).toBeTruthy();
    expect(within(list).getByRole("heading", { name: "No sessions yet" })).toBeTruthy();
    expect(within(list).queryByRole("table")).toBeNull();
  });

  it("says when only the filter hides sessions, and shows loading and errors", async () => {
    const { rerender } = renderList({ entries: [], filtered: true });
    expect(screen.getByTestId("session-list-nomatch").textContent).toMatch(/match/);
    await rerender({ filtered: false, snapshot: { status: "loading" } });
    expect(screen.getByTestId("session-list-loading").getAttribute("aria-busy")).toBe("true");
    await rerender({ snapshot: { status: "error", error: new BackendError("io", "disk") } });
    expect(screen.getByTestId("session-list-error").textContent).toContain("io");
  });

  it("renders one row per session, in order, with its fields in words", () => {
    renderList({ entries });
    expect(screen.queryByTestId("session-list-empty")).toBeNull();
    const rows = screen.getAllByTestId("session-row");
    expect(rows.map((row) => row.dataset.sessionId)).toEqual(["s1", "s2", "s3"]);
    expect(rows.map((row) => row.dataset.state)).toEqual(["ready", "starting", "ended"]);
    const first = within(rows[0]!);
    expect(first.getByRole("rowheader").textContent).toContain("flux-dev");
    expect(first.getByTestId("session-machine").textContent?.trim()).toBe("flux · A100");
    expect(first.getByTestId("session-state").textContent?.trim()).toBe("Ready");
    expect(first.getByTestId("session-remaining").textContent).toMatch(/^4[12]:\d\d left$/);
    expect(first.getByTestId("session-price").textContent).toBe("$3.50/h");
    expect(first.getByTestId("session-cost").textContent).toBe("$0.58");
    expect(within(rows[1]!).getByTestId("session-remaining").textContent).toBe("No deadline");
    expect(within(rows[2]!).getByTestId("session-end-reason").textContent).toBe("Failed: exit 1");
  });

  it("counts down every clock, marks the one the watcher warned about, and names any state", () => {
    renderList({
      entries: [
        makeEntry({ id: "q1", name: "qpu", state: { state: "idle" }, deadline: minutesFrom(120, now),
          idle_deadline: minutesFrom(4, now), unused_deadline: null,
          warning: { clock: "idle", threshold_minutes: 10 },
          capabilities: { can_extend: false, can_stop: true, has_ui: false, can_cancel: false } }),
        makeEntry({ id: "r1", name: "runbook", state: { state: "other", reason: "ON_HOLD" }, deadline: null,
          unused_deadline: minutesFrom(25, now) }),
      ],
    });
    const [qpu, runbook] = screen.getAllByTestId("session-row").map((row) => within(row));
    expect(qpu!.getByTestId("session-state").textContent?.trim()).toBe("Idle");
    expect(qpu!.getByTestId("session-remaining").textContent).toMatch(/^(2h 00m|1h 59m) left$/);
    const idle = qpu!.getByTestId("session-clock");
    expect(idle.dataset.clock).toBe("idle");
    expect(idle.textContent).toMatch(/^Idle limit: [34]:\d\d left \(warned\)$/);
    expect(idle.classList.contains("warned")).toBe(true);
    // No web page: "Open" opens the detail view under the row, not a window.
    expect(qpu!.getByTestId("session-open").getAttribute("aria-expanded")).toBe("false");
    expect(runbook!.getByTestId("session-state").textContent?.trim()).toBe("ON_HOLD");
    const unused = runbook!.getByTestId("session-clock");
    expect(unused.textContent).toMatch(/^Unused limit: 2[45]:\d\d left$/);
    expect(unused.classList.contains("warned")).toBe(false);
  });

  it("reveals a row asked for from outside once the list has it, and drops one the list never shows", async () => {
    const onrevealed = vi.fn();
    const shown = makeEntry({ id: "q1", name: "qpu", deadline: minutesFrom(60, now) });
    const { rerender } = renderList({ entries: [], snapshot: { status: "loading" }, revealKey: shown.key, onrevealed });
    expect(onrevealed).not.toHaveBeenCalled();
    await rerender({ entries: [shown], snapshot: { status: "ready" }, revealKey: shown.key, onrevealed });
    await waitFor(() => expect(onrevealed).toHaveBeenCalledTimes(1));
    expect(document.activeElement).toBe(screen.getByTestId("session-row"));
    await rerender({ entries: [shown], snapshot: { status: "ready" }, revealKey: "local/hidden", onrevealed });
    await waitFor(() => expect(onrevealed).toHaveBeenCalledTimes(2));
  });

  it("scrolls the row it selects into view: one the arrows land on, or one revealed", async () => {
    const scrolled: Element[] = [];
    const original = Element.prototype.scrollIntoView;
    Element.prototype.scrollIntoView = function (this: Element, options?: boolean | ScrollIntoViewOptions) {
      expect(options).toEqual({ block: "nearest" });
      scrolled.push(this);
    };
    try {
      const { rerender } = renderList({ entries });
      const rows = screen.getAllByTestId("session-row");
      rows[0]!.focus();
      await fireEvent.keyDown(rows[0]!, { key: "End" });
      expect(document.activeElement).toBe(rows[2]);
      expect(scrolled).toEqual([rows[2]]);

      await rerender({ entries, revealKey: entries[1]!.key, onrevealed: () => {} });
      await waitFor(() => expect(document.activeElement).toBe(rows[1]));
      expect(scrolled).toEqual([rows[2], rows[1]]);
    } finally {
      Element.prototype.scrollIntoView = original;
    }
  });

  it("offers only what each state and provider allows", () => {
    renderList({ entries });
    const [ready, starting, ended] = screen.getAllByTestId("session-row").map((r) => within(r));
    expect(ready!.queryByTestId("session-open")).toBeTruthy();
    expect(ready!.queryByTestId("session-extend")).toBeTruthy();
    expect(ready!.queryByTestId("session-stop")).toBeTruthy();
    expect(starting!.queryByTestId("session-open")).toBeNull();
    expect(starting!.queryByTestId("session-extend")).toBeNull();
    expect(ended!.queryByTestId("session-stop")).toBeNull();
    expect(ended!.queryByTestId("session-relaunch")).toBeTruthy();
  });

  it("offers no stop, close, extend or longer relaunch where the provider has none (a runbook runs to its end)", () => {
    renderList({
      entries: [
        makeEntry({ id: "r1", name: "deploy-api", provider: "airplane", machine_id: null, resource: "rbk1",
          state: { state: "ready" }, deadline: minutesFrom(60, now), status_label: "Cancelling, stuck for 12 min",
          capabilities: { can_extend: true, can_stop: true, has_ui: false, can_cancel: true } }),
      ],
    });
    const row = within(screen.getByTestId("session-row"));
    expect(row.getByTestId("session-open")).toBeTruthy();
    for (const testid of ["session-stop", "session-extend", "session-cancel", "session-relaunch-longer"]) {
      expect(row.queryByTestId(testid)).toBeNull();
    }
    // What the provider says of it (stuck cancelling) is shown as it wrote it.
    expect(row.getByRole("rowheader").textContent).toContain("Cancelling, stuck for 12 min");
  });

  it("says on a live row that its template's before_end step runs first, and not once it ended", () => {
    const note = "Its before_end step runs first, for up to 60 s.";
    renderList({
      entries: [
        makeEntry({ id: "b1", name: "notebook", before_end: note, deadline: minutesFrom(30, now) }),
        makeEntry({ id: "b2", name: "plain", deadline: minutesFrom(30, now) }),
        makeEntry({ id: "b3", name: "saved", before_end: note, state: { state: "ended", reason: { kind: "timeout" } } },
          { endedAt: now }),
      ],
    });
    const [withHook, plain, ended] = screen.getAllByTestId("session-row").map((row) => within(row));
    expect(withHook!.getByTestId("session-before-end").textContent).toBe(note);
    expect(plain!.queryByTestId("session-before-end")).toBeNull();
    expect(ended!.queryByTestId("session-before-end")).toBeNull();
  });

  it("shows on an ended row the last lines its log said, where the provider said nothing more", () => {
    const seen = (id: string, ...messages: string[]) =>
      messages.forEach((message) => lastLines.note("local", id, { message, level: "info", timestamp: null }));
    seen("v1", "loading model", "CUDA error: out of memory");
    seen("v2", "Stopping");
    seen("v3", "still going");
    renderList({
      entries: [
        makeEntry({ id: "v1", name: "silent", state: { state: "ended", reason: { kind: "vanished" } } }, { endedAt: now }),
        makeEntry({ id: "v2", name: "said", status_label: "Stopped from the CLI.",
          state: { state: "ended", reason: { kind: "stopped" } } }, { endedAt: now }),
        makeEntry({ id: "v3", name: "live", deadline: minutesFrom(30, now) }),
      ],
    });
    const [silent, said, live] = screen.getAllByTestId("session-row").map((row) => within(row));
    const lines = silent!.getByTestId("session-last-lines");
    expect([...lines.querySelectorAll("code")].map((c) => c.textContent)).toEqual(["loading model", "CUDA error: out of memory"]);
    expect(said!.queryByTestId("session-last-lines")).toBeNull();
    expect(live!.queryByTestId("session-last-lines")).toBeNull();
  });

  it("moves between rows with the arrow keys, Home and End, one tab stop for all", async () => {
    renderList({ entries });
    const rows = screen.getAllByTestId("session-row");
    expect(rows.map((r) => r.tabIndex)).toEqual([0, -1, -1]);
    rows[0]!.focus();
    await fireEvent.keyDown(rows[0]!, { key: "ArrowDown" });
    expect(document.activeElement).toBe(rows[1]);
    await waitFor(() => expect(rows.map((r) => r.tabIndex)).toEqual([-1, 0, -1]));
    await fireEvent.keyDown(rows[1]!, { key: "End" });
    expect(document.activeElement).toBe(rows[2]);
    await fireEvent.keyDown(rows[2]!, { key: "ArrowDown" });
    expect(document.activeElement).toBe(rows[2]);
    await fireEvent.keyDown(rows[2]!, { key: "Home" });
    expect(document.activeElement).toBe(rows[0]);
    await fireEvent.keyDown(rows[0]!, { key: "ArrowUp" });
    expect(document.activeElement).toBe(rows[0]);
  });

  it("turns a countdown urgent in the last two minutes before its deadline, not before", () => {
    renderList({
      entries: [
        makeEntry({ id: "soon", deadline: new Date(Date.now() + 90_000).toISOString() }),
        makeEntry({ id: "later", deadline: new Date(Date.now() + 150_000).toISOString() }),
      ],
    });
    const [soon, later] = screen.getAllByTestId("session-remaining");
    expect(soon!.dataset.urgent).toBe("true");
    expect(soon!.classList.contains("urgent")).toBe(true);
    expect(later!.dataset.urgent).toBe("false");
    expect(later!.classList.contains("urgent")).toBe(false);
  });

  it("keeps its order while the pointer is over it or the focus is in it, and catches up after", async () => {
    const [a, b, c] = ["a", "b", "c"].map((id) => makeEntry({ id, name: id }));
    const ids = () => screen.getAllByTestId("session-row").map((r) => r.dataset.sessionId);
    const { rerender } = renderList({ entries: [a, b] });
    const body = screen.getAllByRole("rowgroup")[1]!;
    await fireEvent.pointerEnter(body);
    await rerender({ entries: [c, b, a] });
    expect(ids()).toEqual(["a", "b", "c"]);
    await rerender({ entries: [c, a] });
    expect(ids()).toEqual(["a", "c"]);
    await fireEvent.pointerLeave(body);
    expect(ids()).toEqual(["c", "a"]);

    screen.getAllByTestId("session-row")[1]!.focus();
    await rerender({ entries: [a, c] });
    expect(ids()).toEqual(["c", "a"]);
    (document.activeElement as HTMLElement).blur();
    await tick();
    expect(ids()).toEqual(["a", "c"]);
  });

  it("follows changes to the sessions it is given", async () => {
    const { rerender } = renderList({ entries: entries.slice(0, 1) });
    expect(screen.getAllByTestId("session-row")).toHaveLength(1);
    await rerender({ entries: [] });
    expect(screen.queryAllByTestId("session-row")).toHaveLength(0);
    expect(screen.getByTestId("session-list-empty")).toBeTruthy();
  });
});
