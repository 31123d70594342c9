import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  BACKEND_CONTEXT,
  BackendError,
  demoEndedSessions,
  demoSessions,
  MOCK_DEMO_ACCOUNTS,
  MockBackend,
  type MockOptions,
} from "../backend";
import { clock } from "../stores/clock.svelte";
import { extendAmount } from "../stores/extendAmount.svelte";
import { SessionStore } from "../stores/sessions.svelte";
import { tick } from "svelte";
import SessionsScreen from "./SessionsScreen.svelte";

let stops: (() => void)[] = [];

async function renderScreen(options: MockOptions = {}) {
  const backend = new MockBackend({
    accounts: MOCK_DEMO_ACCOUNTS,
    sessions: demoSessions(Date.now()),
    sessionSpeedMs: 10,
    ...options,
  });
  const store = new SessionStore(backend);
  stops.push(store.start());
  render(SessionsScreen, { props: { store }, context: new Map([[BACKEND_CONTEXT, backend]]) });
  await waitFor(() => expect(screen.getAllByTestId("session-row").length).toBeGreaterThan(0));
  await waitFor(() => expect(screen.getByTestId("launch-open").hasAttribute("disabled")).toBe(false));
  return { backend, store };
}

function row(id: string): HTMLElement {
  const found = document.querySelector<HTMLElement>(`[data-testid="session-row"][data-session-id="${id}"]`);
  if (!found) throw new Error(`no row ${id}`);
  return found;
}

const shownIds = () => screen.queryAllByTestId("session-row").map((r) => r.dataset.sessionId);

describe("SessionsScreen", () => {
  beforeEach(() => {
    localStorage.clear();
    extendAmount.minutes = null;
  });

  afterEach(() => {
    vi.useRealTimers();
    for (const stop of stops) stop();
    stops = [];
  });

  it("extends by the usual amount in one click, and remembers the amount last chosen", async () => {
    const { backend } = await renderScreen();
    const shell = within(row("demo-shell"));
    const deadline = () => Date.parse(shell.getByTestId("session-remaining").dataset.deadline!);
    const before = deadline();
    expect(shell.getByTestId("session-extend-quick").textContent).toBe("Extend +15 min");
    await fireEvent.click(shell.getByTestId("session-extend-quick"));
    await waitFor(() => expect(deadline() - before).toBe(15 * 60_000));
    expect(backend.sessions.calls).toContain("extend local demo-shell 15");
    await fireEvent.click(shell.getByTestId("session-extend"));
    await fireEvent.click(shell.getByTestId("session-extend-30"));
    await waitFor(() => expect(deadline() - before).toBe(45 * 60_000));
    expect(localStorage.getItem("porthole.extend.minutes")).toBe("30");
    // Every row offers the amount now, whichever account it is on.
    for (const quick of screen.getAllByTestId("session-extend-quick")) expect(quick.textContent).toBe("Extend +30 min");
    expect(within(row("demo-legacy")).queryByTestId("session-extend-quick")).toBeNull();
  });

  it("clears a row's confirmation after a few seconds, or when the session changes state", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const { backend } = await renderScreen();
    const feedback = () => within(row("demo-shell")).getByTestId("session-feedback");
    await fireEvent.click(within(row("demo-shell")).getByTestId("session-open"));
    await waitFor(() => expect(feedback().textContent).toBe("Opened in its window"));
    vi.advanceTimersByTime(3000);
    await tick();
    expect(feedback().textContent).toBe("Opened in its window");
    vi.advanceTimersByTime(1500);
    await waitFor(() => expect(feedback().textContent).toBe(""));

    await fireEvent.click(within(row("demo-shell")).getByTestId("session-extend-quick"));
    await waitFor(() => expect(feedback().textContent).toBe("Extended by 15 min"));
    await backend.stopSession("local", "demo-shell");
    await waitFor(() => expect(row("demo-shell").dataset.state).not.toBe("ready"));
    expect(feedback().textContent).toBe("");
  });

  it("lists every account's sessions, soonest deadline first, with their account", async () => {
    await renderScreen();
    expect(shownIds()).toEqual(["demo-flux", "demo-notebook", "demo-sdxl", "demo-shell", "demo-legacy"]);
    expect(within(row("demo-flux")).getByTestId("session-account").textContent).toBe("Studio GPUs");
    expect(within(row("demo-flux")).getByTestId("session-state").textContent?.trim()).toBe("Ending soon");
    expect(screen.getByLabelText("5 sessions").textContent).toBe("5");
  });

  it("shows each session's machine by the name the backend gives it, its id on hover, and filters by the id", async () => {
    await renderScreen();
    const machine = within(row("demo-flux")).getByTestId("session-machine");
    expect(machine.textContent?.trim()).toBe("flux-dev · A100");
    expect(machine.title).toBe("flux-dev-machine");
    const filter = screen.getByLabelText("Filter");
    const before = shownIds();
    await fireEvent.input(filter, { target: { value: "flux-dev-machine" } });
    // The list follows once the typed text is painted, a frame later: not in the key's own turn.
    expect(shownIds()).toEqual(before);
    await waitFor(() => expect(shownIds()).toEqual(["demo-flux", "demo-legacy"]));
  });

  it("clears the text filter by its button or Escape, the focus kept in the field", async () => {
    await renderScreen();
    const all = shownIds();
    const filter = screen.getByLabelText("Filter") as HTMLInputElement;
    expect(filter.getAttribute("role")).toBe("searchbox");
    expect(screen.queryByTestId("session-filter-clear")).toBeNull();
    await fireEvent.input(filter, { target: { value: "A10G" } });
    await waitFor(() => expect(shownIds()).toEqual(["demo-sdxl"]));
    await fireEvent.click(screen.getByTestId("session-filter-clear"));
    expect(filter.value).toBe("");
    expect(shownIds()).toEqual(all);
    expect(document.activeElement).toBe(filter);
    expect(screen.queryByTestId("session-filter-clear")).toBeNull();

    await fireEvent.input(filter, { target: { value: "A10G" } });
    await waitFor(() => expect(shownIds()).toEqual(["demo-sdxl"]));
    const escape = new KeyboardEvent("keydown", { key: "Escape", bubbles: true, cancelable: true });
    filter.dispatchEvent(escape);
    expect(escape.defaultPrevented).toBe(true);
    await waitFor(() => expect(shownIds()).toEqual(all));
    expect(filter.value).toBe("");
    // Escape in an empty field is not the filter's: it goes on as any key does.
    const again = new KeyboardEvent("keydown", { key: "Escape", bubbles: true, cancelable: true });
    filter.dispatchEvent(again);
    expect(again.defaultPrevented).toBe(false);
  });

  it("switches account, filters by text and state, and sorts", async () => {
    await renderScreen();
    const switcher = screen.getByLabelText("Account") as HTMLSelectElement;
    expect([...switcher.options].map((o) => o.textContent)).toEqual([
      "All accounts", "Local", "Studio GPUs", "gpu-box", "Old team",
    ]);
    await fireEvent.change(switcher, { target: { value: "local" } });
    expect(shownIds()).toEqual(["demo-notebook", "demo-shell"]);
    expect(screen.queryByTestId("session-account")).toBeNull();

    await fireEvent.change(switcher, { target: { value: "" } });
    await fireEvent.input(screen.getByLabelText("Filter"), { target: { value: "A10G" } });
    await waitFor(() => expect(shownIds()).toEqual(["demo-sdxl"]));
    await fireEvent.input(screen.getByLabelText("Filter"), { target: { value: "" } });
    await waitFor(() => expect(shownIds()).toHaveLength(5));
    await fireEvent.change(screen.getByLabelText("State"), { target: { value: "ready" } });
    expect(shownIds()).toEqual(["demo-flux", "demo-shell", "demo-legacy"]);
    await fireEvent.change(screen.getByLabelText("Sort by"), { target: { value: "name" } });
    expect(shownIds()).toEqual(["demo-flux", "demo-legacy", "demo-shell"]);
    await fireEvent.change(screen.getByLabelText("State"), { target: { value: "ended" } });
    expect(screen.getByTestId("session-list-nomatch")).toBeTruthy();

    await fireEvent.change(screen.getByLabelText("State"), { target: { value: "all" } });
    await fireEvent.change(switcher, { target: { value: "gpu-box" } });
    expect(screen.getByTestId("session-list-empty").textContent).toContain("No sessions yet");
  });

  it("extends from the menu, and the deadline moves", async () => {
    const { backend } = await renderScreen();
    const shell = within(row("demo-shell"));
    const before = Date.parse(shell.getByTestId("session-remaining").dataset.deadline!);
    await fireEvent.click(shell.getByTestId("session-extend"));
    const menu = shell.getByRole("menu");
    expect(within(menu).getAllByRole("menuitem").map((m) => m.textContent)).toEqual([
      "+5 min", "+15 min", "+30 min", "+1 h",
    ]);
    expect(document.activeElement).toBe(shell.getByTestId("session-extend-5"));
    await fireEvent.click(shell.getByTestId("session-extend-15"));
    await waitFor(() =>
      expect(Date.parse(shell.getByTestId("session-remaining").dataset.deadline!) - before).toBe(15 * 60_000),
    );
    expect(shell.queryByRole("menu")).toBeNull();
    expect(backend.sessions.calls).toContain("extend local demo-shell 15");
    // A provider that cannot extend gets no Extend button.
    expect(within(row("demo-legacy")).queryByTestId("session-extend")).toBeNull();
  });

  it("stops after a confirmation, shows stopping, then why it ended, and relaunches alike", async () => {
    const { backend } = await renderScreen({ sessionSpeedMs: 50 });
    const shell = within(row("demo-shell"));
    const question = () =>
      document.querySelector<HTMLElement>('[data-testid="session-subrow"][data-session-id="demo-shell"]');
    await fireEvent.click(shell.getByTestId("session-stop"));
    const asked = within(question()!);
    expect(asked.getByRole("group", { name: "Stop shell?" })).toBeTruthy();
    expect(document.activeElement).toBe(asked.getByRole("button", { name: "Cancel" }));
    await fireEvent.click(asked.getByRole("button", { name: "Cancel" }));
    expect(question()).toBeNull();
    expect(document.activeElement).toBe(shell.getByTestId("session-stop"));
    expect(backend.sessions.calls.filter((c) => c.startsWith("stop"))).toEqual([]);

    await fireEvent.click(shell.getByTestId("session-stop"));
    await fireEvent.keyDown(within(question()!).getByTestId("session-stop-confirm"), { key: "Escape" });
    expect(question()).toBeNull();
    await fireEvent.click(shell.getByTestId("session-stop"));
    await fireEvent.click(within(question()!).getByTestId("session-stop-confirm"));
    await waitFor(() => expect(row("demo-shell").dataset.state).toBe("stopping"));
    await waitFor(() => expect(row("demo-shell").dataset.state).toBe("ended"));
    expect(shell.getByTestId("session-end-reason").textContent).toBe("Stopped");
    expect(shell.queryByTestId("session-open")).toBeNull();

    await fireEvent.click(shell.getByTestId("session-relaunch"));
    await screen.findByTestId("launch-dialog");
    await waitFor(() => expect(screen.queryByTestId("launch-dialog")).toBeNull(), { timeout: 3000 });
    const relaunched = backend.sessions.list("local").find((s) => s.id.startsWith("s-"))!;
    expect(relaunched).toMatchObject({ machine_id: "terminal", resource: "CPU" });
    expect(screen.getByTestId("sessions-notice").textContent).toBe(
      `${relaunched.name} is open in its own window.`,
    );
    await fireEvent.click(shell.getByTestId("session-dismiss"));
    expect(document.querySelector('[data-session-id="demo-shell"]')).toBeNull();
  });

  it("opens a ready session, and shows a failure to open with its code", async () => {
    const { backend } = await renderScreen();
    await fireEvent.click(within(row("demo-shell")).getByTestId("session-open"));
    await waitFor(() => expect(backend.sessions.calls).toContain("open local demo-shell"));
    backend.openSession = async () => {
      throw new BackendError("session_gone", "gone");
    };
    await fireEvent.click(within(row("demo-shell")).getByTestId("session-open"));
    const error = await within(document.body).findByTestId("session-error");
    expect(error.textContent).toContain("session_gone");
    expect(error.textContent).toContain("The session no longer exists");
  });

  it("shows an offline account's banner with its coded error, keeping its sessions", async () => {
    await renderScreen({ offlineAccount: "studio-gpus" });
    const banner = await screen.findByTestId("offline-banner");
    expect(banner.textContent).toContain("Can't reach Studio GPUs — retrying");
    expect(banner.textContent).toContain("upstream_unavailable");
    expect(within(row("demo-flux")).getByTestId("session-stale").textContent).toMatch(/^Not confirmed for \d+ s — Cannot reach/);
    await fireEvent.change(screen.getByLabelText("Account"), { target: { value: "local" } });
    expect(screen.queryByTestId("offline-banner")).toBeNull();
  });

  it("says live how long an offline account's rows have gone unconfirmed, and why, until it answers", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const { backend } = await renderScreen();
    const problem = { code: "upstream_unavailable" as const, message: "Connection refused." };
    const note = () => within(row("demo-flux")).queryByTestId("session-stale")?.textContent;
    backend.sessions.goOffline("studio-gpus", problem, new Date(clock.now - 40_000).toISOString());
    await waitFor(() => expect(note()).toBe("Not confirmed for 40 s — Connection refused."));
    expect(within(row("demo-shell")).queryByTestId("session-stale")).toBeNull();
    vi.advanceTimersByTime(5_000);
    await waitFor(() => expect(note()).toBe("Not confirmed for 45 s — Connection refused."));
    vi.advanceTimersByTime(60_000);
    await waitFor(() => expect(note()).toBe("Not confirmed for 1 min — Connection refused."));

    backend.sessions.goOnline("studio-gpus");
    await tick();
    expect(note()).toBeUndefined();
    // Never read since the app started.
    backend.sessions.goOffline("studio-gpus", problem, null);
    await tick();
    expect(note()).toBe("Not confirmed — Connection refused.");
  });

  it("clears every ended row, kept from before or ended now, with a button that says how many", async () => {
    const { backend, store } = await renderScreen({ endedSessions: demoEndedSessions(Date.now()) });
    const clear = () => screen.queryByTestId("sessions-clear-ended");
    await waitFor(() => expect(clear()?.textContent).toBe("Clear 2 ended"));
    expect(shownIds()).toEqual(expect.arrayContaining(["old-shell", "old-render"]));
    expect(within(row("old-shell")).getByTestId("session-end-reason").textContent).toBe("Stopped");
    await backend.stopSession("local", "demo-shell");
    await waitFor(() => expect(clear()?.textContent).toBe("Clear 3 ended"));

    await fireEvent.click(clear()!);
    expect(shownIds()).toEqual(["demo-flux", "demo-notebook", "demo-sdxl", "demo-legacy"]);
    expect(clear()).toBeNull();
    expect(document.activeElement).toBe(screen.getByLabelText("State"));
    await waitFor(() => expect(backend.sessions.calls).toContain("clear-ended"));
    expect(await backend.endedSessions()).toEqual([]);
    expect(store.endedCount).toBe(0);
  });

  it("dismisses an ended row for good", async () => {
    const { backend } = await renderScreen({ endedSessions: demoEndedSessions(Date.now()) });
    await waitFor(() => expect(shownIds()).toContain("old-shell"));
    await fireEvent.click(within(row("old-shell")).getByTestId("session-dismiss"));
    expect(shownIds()).not.toContain("old-shell");
    expect(screen.getByTestId("sessions-clear-ended").textContent).toBe("Clear 1 ended");
    await waitFor(() => expect(backend.sessions.calls).toContain("dismiss-ended local old-shell"));
  });

  it("opens the launch dialog on the account launched on last, unless the list shows another", async () => {
    localStorage.setItem("porthole.launched.account", "studio-gpus");
    await renderScreen();
    const opened = async () => {
      await fireEvent.click(screen.getByTestId("launch-open"));
      const dialog = screen.getByTestId("launch-dialog");
      const account = (within(dialog).getByLabelText("Account") as HTMLSelectElement).value;
      await fireEvent.click(within(dialog).getByRole("button", { name: "Cancel" }));
      return account;
    };
    expect(await opened()).toBe("studio-gpus");
    await fireEvent.change(screen.getByLabelText("Account"), { target: { value: "local" } });
    expect(await opened()).toBe("local");
    // One that no longer exists: the default account.
    localStorage.setItem("porthole.launched.account", "gone");
    await fireEvent.change(screen.getByLabelText("Account"), { target: { value: "" } });
    expect(await opened()).toBe("local");
  });

  it("opens the launch dialog on the account shown, and gives focus back when it closes", async () => {
    await renderScreen();
    await fireEvent.change(screen.getByLabelText("Account"), { target: { value: "studio-gpus" } });
    await fireEvent.click(screen.getByTestId("launch-open"));
    const dialog = screen.getByTestId("launch-dialog");
    expect((within(dialog).getByLabelText("Account") as HTMLSelectElement).value).toBe("studio-gpus");
    await waitFor(() =>
      expect((within(dialog).getByLabelText("Machine") as HTMLSelectElement).value).toBe("flux-dev-machine"),
    );
    await fireEvent.click(within(dialog).getByRole("button", { name: "Cancel" }));
    expect(screen.queryByTestId("launch-dialog")).toBeNull();
    await waitFor(() => expect(document.activeElement).toBe(screen.getByTestId("launch-open")));
  });
});

describe("SessionsScreen without accounts", () => {
  it("cannot launch until the accounts load, and says why they did not", async () => {
    const backend = new MockBackend({ listAccountsFailWith: "io" });
    const store = new SessionStore(backend);
    const stop = store.start();
    render(SessionsScreen, { props: { store }, context: new Map([[BACKEND_CONTEXT, backend]]) });
    const error = await screen.findByTestId("sessions-accounts-error");
    expect(error.textContent).toContain("io");
    expect(screen.getByTestId("launch-open").hasAttribute("disabled")).toBe(true);
    expect(await screen.findByTestId("session-list-empty")).toBeTruthy();
    stop();
  });
});
