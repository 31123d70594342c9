import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BACKEND_CONTEXT, type LaunchRequest, MockBackend, type MockOptions } from "../backend";
import { SessionStore } from "../stores/sessions.svelte";
import LaunchDialog from "./LaunchDialog.svelte";

let stops: (() => void)[] = [];

async function renderDialog(
  options: MockOptions = {},
  props: { preset?: LaunchRequest; autostart?: boolean } = {},
) {
  const backend = new MockBackend({ sessionSpeedMs: 10, ...options });
  const store = new SessionStore(backend);
  stops.push(store.start());
  const onclose = vi.fn();
  const accounts = await backend.listAccounts();
  render(LaunchDialog, {
    props: { accounts, accountId: "local", store, onclose, ...props },
    context: new Map([[BACKEND_CONTEXT, backend]]),
  });
  return { backend, store, onclose };
}

const machine = () => screen.getByLabelText("Machine") as HTMLSelectElement;
const timeout = () => screen.getByLabelText("Timeout") as HTMLSelectElement;
const radio = (id: string) =>
  within(screen.getByTestId("launch-dialog"))
    .getAllByTestId("launch-resource-option")
    .find((o) => o.dataset.resourceId === id)!
    .querySelector("input")!;

describe("LaunchDialog", () => {
  beforeEach(() => localStorage.clear());
  afterEach(() => {
    for (const stop of stops) stop();
    stops = [];
  });

  it("offers every machine and resource, disabling those that cannot be used, with why", async () => {
    await renderDialog();
    const dialog = screen.getByRole("dialog", { name: "Launch a session" });
    expect(dialog.getAttribute("aria-modal")).toBe("true");
    await waitFor(() => expect(machine().value).toBe("terminal"));
    const options = [...machine().options].map((o) => [o.textContent?.trim(), o.disabled]);
    expect(options).toEqual([
      ["terminal", false],
      ["jupyter — jupyter is not installed", true],
    ]);
    const [cpu, h100] = screen.getAllByTestId("launch-resource-option");
    expect(cpu!.textContent).toContain("CPU (this computer)");
    expect(cpu!.textContent).toContain("16 GB");
    expect(cpu!.textContent).toContain("Free");
    expect(cpu!.textContent).toContain("Available");
    expect(h100!.textContent).toContain("Unavailable: this machine has no such GPU");
    expect(radio("CPU").checked).toBe(true);
    expect(radio("H100").disabled).toBe(true);
    expect([...timeout().options].map((o) => o.value)).toEqual(["5", "15", "30", "60", "120", "240"]);
    expect(timeout().value).toBe("15");
    expect(document.activeElement).toBe(screen.getByLabelText("Account"));
  });

  it("starts from the last launch on the account", async () => {
    localStorage.setItem(
      "porthole.launch.local",
      JSON.stringify({ machine_id: "terminal", resource: "CPU", timeout_minutes: 120 }),
    );
    await renderDialog();
    await waitFor(() => expect(timeout().value).toBe("120"));
  });

  it("streams the start-up log, then opens the session once it is ready, and closes", async () => {
    const { backend, store, onclose } = await renderDialog();
    await waitFor(() => expect(machine().value).toBe("terminal"));
    await fireEvent.change(timeout(), { target: { value: "30" } });
    await fireEvent.click(screen.getByTestId("launch-submit"));
    expect(screen.getByTestId("launch-progress").textContent).toMatch(/Starting…/);
    await waitFor(() => expect(screen.getAllByTestId("launch-log-line").length).toBeGreaterThan(2));
    expect(screen.getByTestId("launch-log").textContent).toContain("Launching terminal on CPU");
    await waitFor(() => expect(onclose).toHaveBeenCalledTimes(1));
    const [session] = store.list();
    expect(onclose).toHaveBeenCalledWith(`${session!.session.name} is open in its own window.`);
    // Its window was made ahead while it started, then opened; nothing was let go.
    const id = session!.session.id;
    const calls = backend.sessions.calls.filter((c) => c.endsWith(id) && !c.startsWith("launch"));
    expect(calls).toEqual([`prepare local ${id}`, `open local ${id}`]);
    expect(session!.request).toEqual({ machine_id: "terminal", resource: "CPU", timeout_minutes: 30, mode: null, params: {} });
    expect(JSON.parse(localStorage.getItem("porthole.launch.local")!)).toMatchObject({ timeout_minutes: 30 });
  });

  it("shows a failed launch with its code and keeps the inputs", async () => {
    const { backend } = await renderDialog({ launchFailWith: "quota_exceeded" });
    await waitFor(() => expect(machine().value).toBe("terminal"));
    await fireEvent.change(timeout(), { target: { value: "60" } });
    await fireEvent.click(screen.getByTestId("launch-submit"));
    const error = await screen.findByTestId("launch-error");
    expect(error.textContent).toContain("Quota or credit exhausted");
    expect(error.textContent).toContain("mock launch failure: quota_exceeded");
    expect(error.textContent).toContain("quota_exceeded");
    expect(timeout().value).toBe("60");
    expect(screen.getByTestId("launch-form").closest("[hidden]")).toBeNull();
    expect(backend.sessions.list(null)).toEqual([]);
  });

  it("Escape closes it; the session goes on launching and is not opened", async () => {
    const { backend, store, onclose } = await renderDialog({ sessionSpeedMs: 30 });
    await waitFor(() => expect(machine().value).toBe("terminal"));
    await fireEvent.click(screen.getByTestId("launch-submit"));
    await screen.findByTestId("launch-log-line");
    await fireEvent.keyDown(screen.getByTestId("launch-dialog"), { key: "Escape" });
    expect(onclose).toHaveBeenCalledWith(expect.stringMatching(/goes on launching/));
    await waitFor(() => expect(store.list()[0]?.session.state.state).toBe("ready"));
    expect(backend.sessions.calls.some((c) => c.startsWith("open"))).toBe(false);
    // The window made ahead for it is let go.
    const id = store.list()[0]!.session.id;
    await waitFor(() => expect(backend.sessions.calls).toContain(`release ${id}`));
    expect(backend.sessions.calls.indexOf(`prepare local ${id}`)).toBeLessThan(backend.sessions.calls.indexOf(`release ${id}`));
  });

  it("relaunches at once with the settings it is given", async () => {
    const preset = { machine_id: "terminal", resource: "CPU", timeout_minutes: 5 };
    const { store, onclose } = await renderDialog({}, { preset, autostart: true });
    expect(screen.getByRole("heading", { name: "Relaunch" })).toBeTruthy();
    await waitFor(() => expect(onclose).toHaveBeenCalled());
    expect(store.list()[0]?.request).toEqual(preset);
  });

  it("says so when the session ends before it answers, and goes back to the form", async () => {
    const { backend, store } = await renderDialog({ sessionSpeedMs: 1000 });
    await waitFor(() => expect(machine().value).toBe("terminal"));
    await fireEvent.click(screen.getByTestId("launch-submit"));
    await waitFor(() => expect(store.list()).toHaveLength(1));
    const { id } = store.list()[0]!.session;
    await backend.stopSession("local", id);
    const ended = await screen.findByTestId("launch-ended", {}, { timeout: 3000 });
    expect(ended.textContent).toMatch(/ended before it answered: Stopped/);
    await fireEvent.click(screen.getByTestId("launch-back"));
    expect(screen.getByTestId("launch-form").closest("[hidden]")).toBeNull();
  });
});
