import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  BACKEND_CONTEXT,
  demoSessions,
  MOCK_DEMO_ACCOUNTS,
  MockBackend,
  type MockOptions,
} from "../backend";
import { formatClock } from "../format";
import { SessionStore } from "../stores/sessions.svelte";
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
  return { backend, store };
}

function row(id: string): HTMLElement {
  const found = document.querySelector<HTMLElement>(`[data-testid="session-row"][data-session-id="${id}"]`);
  if (!found) throw new Error(`no row ${id}`);
  return found;
}

/** The line under a session's row with its history, while the disclosure is open. */
const historyRow = (id: string) =>
  document.querySelector<HTMLElement>(`[data-testid="session-history-row"][data-session-id="${id}"]`);

const toggle = (id: string) => within(row(id)).getByTestId("session-history-toggle");

/** The shown entries, as "text" or "text [auto]" when marked automatic. */
function shownEntries(id: string): string[] {
  return within(historyRow(id)!)
    .queryAllByTestId("session-history-entry")
    .map((li) => {
      const text = li.querySelector(".what")?.textContent?.trim() ?? "";
      const badge = li.querySelector(".badge")?.textContent?.trim();
      return li.dataset.automatic === "true" && badge ? `${text} [${badge}]` : text;
    });
}

describe("SessionRow history", () => {
  afterEach(() => {
    for (const stop of stops) stop();
    stops = [];
  });

  it("is a closed disclosure that opens and closes with its button, and with Escape", async () => {
    await renderScreen();
    const button = toggle("demo-shell");
    expect(button.getAttribute("aria-label")).toBe("History of shell");
    expect(button.getAttribute("aria-expanded")).toBe("false");
    expect(historyRow("demo-shell")).toBeNull();

    await fireEvent.click(button);
    expect(button.getAttribute("aria-expanded")).toBe("true");
    const panel = within(historyRow("demo-shell")!).getByTestId("session-history");
    expect(button.getAttribute("aria-controls")).toBe(panel.id);
    // Seeded sessions were not launched by this app: nothing to show yet.
    await waitFor(() => expect(within(panel).getByTestId("session-history-empty")).toBeTruthy());

    await fireEvent.click(button);
    expect(button.getAttribute("aria-expanded")).toBe("false");
    expect(historyRow("demo-shell")).toBeNull();

    await fireEvent.click(button);
    await fireEvent.keyDown(within(historyRow("demo-shell")!).getByTestId("session-history"), { key: "Escape" });
    expect(historyRow("demo-shell")).toBeNull();
    expect(document.activeElement).toBe(button);
    // Escape on the button itself closes it too, and leaves the row's keys alone.
    await fireEvent.click(button);
    await fireEvent.keyDown(button, { key: "Escape" });
    expect(historyRow("demo-shell")).toBeNull();
    expect(button.getAttribute("aria-expanded")).toBe("false");
    await fireEvent.keyDown(button, { key: "ArrowDown" });
    expect(document.activeElement).toBe(button);
    // Other rows keep theirs closed.
    expect(toggle("demo-flux").getAttribute("aria-expanded")).toBe("false");
  });

  it("lists what the app did with local times, and refetches as an extension moves the deadline", async () => {
    const { backend, store } = await renderScreen();
    const calls = vi.spyOn(backend, "sessionHistory");
    await fireEvent.click(toggle("demo-shell"));
    await waitFor(() => expect(historyRow("demo-shell")?.querySelector("[data-testid=session-history-empty]")).toBeTruthy());
    expect(calls).toHaveBeenCalledTimes(1);
    expect(calls).toHaveBeenLastCalledWith("local", "demo-shell");

    // By hand, from the row's Extend menu.
    await fireEvent.click(within(row("demo-shell")).getByTestId("session-extend"));
    await fireEvent.click(within(row("demo-shell")).getByTestId("session-extend-15"));
    await waitFor(() => expect(shownEntries("demo-shell")).toEqual(["Extended +15 min"]));

    // By auto-extend, as the watcher tells the new deadline.
    backend.sessions.autoExtend("local", "demo-shell", 30);
    await waitFor(() =>
      expect(shownEntries("demo-shell")).toEqual(["Extended +15 min", "Auto-extended +30 min [auto]"]),
    );
    expect(calls).toHaveBeenCalledTimes(3);
    // Other news of the session (here its status line) fetches nothing.
    const shell = store.get("local", "demo-shell")!.session;
    store.apply({ kind: "updated", session: { ...(JSON.parse(JSON.stringify(shell)) as typeof shell), status_label: "busy" } });
    await waitFor(() => expect(within(row("demo-shell")).getByText("busy")).toBeTruthy());
    expect(calls).toHaveBeenCalledTimes(3);

    const times = within(historyRow("demo-shell")!).getAllByRole("listitem").map((li) => li.querySelector("time")!);
    const history = await backend.sessionHistory("local", "demo-shell");
    expect(times.map((t) => t.getAttribute("datetime"))).toEqual(history.map((h) => h.at));
    expect(times[0]!.textContent).toBe(formatClock(history[0]!.at, Date.now(), true));
    expect(within(historyRow("demo-shell")!).getByRole("list").getAttribute("aria-label")).toBe("History of shell");
  });

  it("adds the stop once asked, and keeps the history of an ended session", async () => {
    await renderScreen({ sessionSpeedMs: 30 });
    await fireEvent.click(toggle("demo-shell"));
    await fireEvent.click(within(row("demo-shell")).getByTestId("session-stop"));
    await fireEvent.click(screen.getByTestId("session-stop-confirm"));
    await waitFor(() => expect(shownEntries("demo-shell")).toEqual(["Stop requested"]));
    await waitFor(() => expect(row("demo-shell").dataset.state).toBe("ended"));
    expect(toggle("demo-shell").getAttribute("aria-expanded")).toBe("true");
    expect(shownEntries("demo-shell")).toEqual(["Stop requested"]);
  });

  it("marks a seeded automatic extension", async () => {
    await renderScreen({ autoExtended: ["demo-flux"] });
    await fireEvent.click(toggle("demo-flux"));
    await waitFor(() => expect(shownEntries("demo-flux")).toEqual(["Auto-extended +15 min [auto]"]));
    const entry = within(historyRow("demo-flux")!).getByTestId("session-history-entry");
    expect(entry.dataset.kind).toBe("extended");
    expect(entry.dataset.automatic).toBe("true");
  });

  it("shows a failure with its code, and loads on Retry", async () => {
    const { backend } = await renderScreen({ historyFailWith: "upstream_unavailable", delayMs: 5 });
    await fireEvent.click(toggle("demo-shell"));
    expect(within(historyRow("demo-shell")!).getByTestId("session-history-loading")).toBeTruthy();
    const error = await within(historyRow("demo-shell")!).findByTestId("session-history-error");
    expect(error.dataset.code).toBe("upstream_unavailable");
    expect(error.textContent).toContain("mock failure: upstream_unavailable");

    backend.configure({ delayMs: 5 });
    await fireEvent.click(within(error).getByRole("button", { name: "Retry" }));
    await waitFor(() =>
      expect(within(historyRow("demo-shell")!).getByTestId("session-history-empty")).toBeTruthy(),
    );
    expect(historyRow("demo-shell")!.querySelector("[data-testid=session-history-error]")).toBeNull();
  });
});
