import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { afterEach, describe, expect, it, vi } from "vitest";
import { BACKEND_CONTEXT, BackendError, type Job, MockBackend, type ProviderDescriptor } from "../backend";
import { PROVIDERS } from "../backend/providers";
import { makeSession, minutesFrom } from "../../test/sessions";
import { PROVIDER_CATALOG_CONTEXT, ProviderCatalog } from "../stores/providers.svelte";
import { SessionStore } from "../stores/sessions.svelte";
import SessionsScreen from "./SessionsScreen.svelte";

// A provider shaped like the runbook and QPU ones: no web page, prompts, close and cancel. The
// UI renders from its descriptor, so the Local account's is given that shape here.
const shaped: ProviderDescriptor = {
  ...PROVIDERS.portholed,
  actions: { stop: "Close", cancel: "Cancel", web_ui: false, logs: false, jobs: false, prompts: true },
  launch: { template_required: false, modes: [], takes_parameters: false, resource_named: false },
};

/** A job as its provider reports it, having produced nothing (yet). */
const job = (id: string, status: string, pending: boolean): Job => ({
  id, status, pending, reason: null, program: "sampler", created_at: null, outputs: {},
});

let stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops) stop();
  stops = [];
});

async function renderWith(descriptor: ProviderDescriptor = shaped) {
  const now = Date.now();
  const session = makeSession({
    id: "run-1", name: "deploy", state: { state: "queued" }, machine_id: null, resource: "runner",
    created_at: minutesFrom(-1, now), deadline: minutesFrom(60, now), idle_deadline: null,
    unused_deadline: minutesFrom(7, now), warning: { clock: "unused", threshold_minutes: 10 },
    capabilities: { can_extend: false, can_stop: true, has_ui: false, can_cancel: true },
  });
  const backend = new MockBackend({ sessions: [session], sessionSpeedMs: 10 });
  const catalog = new ProviderCatalog();
  await catalog.load({ providerDescriptors: async () => [descriptor] } as unknown as MockBackend);
  const store = new SessionStore(backend);
  stops.push(store.start());
  // As the app does: a nudge, then it takes the session to show.
  stops.push(
    backend.onShowSession(() =>
      void backend.takeShownSession().then((shown) => shown && store.reveal(shown.accountId, shown.sessionId)),
    ),
  );
  render(SessionsScreen, {
    props: { store },
    context: new Map<unknown, unknown>([[BACKEND_CONTEXT, backend], [PROVIDER_CATALOG_CONTEXT, catalog]]),
  });
  await waitFor(() => expect(screen.getAllByTestId("session-row").length).toBe(1));
  return { backend, store, row: within(screen.getByTestId("session-row")) };
}

describe("a session without a web page", () => {
  it("opens as a detail view with its clocks, answers its prompt, and closes by the provider's word", async () => {
    const { backend, row } = await renderWith();
    expect(row.getByTestId("session-state").textContent?.trim()).toBe("Waiting for first work");
    expect(row.getByRole("button", { name: "Close deploy" })).toBeTruthy();
    await fireEvent.click(row.getByTestId("session-open"));
    const detail = within(await screen.findByTestId("session-detail"));
    const clocks = detail.getAllByTestId("session-detail-clock");
    expect(clocks.map((c) => c.dataset.clock)).toEqual(["unused", "hard"]);
    expect(clocks[0]!.classList.contains("warned")).toBe(true);
    expect(detail.getByTestId("session-prompts-none")).toBeTruthy();

    backend.sessions.ask("local", "run-1", {
      id: "p2",
      message: "Ship it?",
      parameters: [{ name: "note", label: "Note", kind: "text", required: true, default: null, help: null }],
    });
    const prompt = within(await detail.findByTestId("session-prompt"));
    expect(prompt.getByText("Ship it?")).toBeTruthy();
    // The provider has no words of its own for it, and it cannot be refused.
    expect(prompt.getByTestId("session-prompt-form-submit").textContent).toBe("Answer");
    expect(prompt.queryByTestId("session-prompt-form-reject")).toBeNull();
    await waitFor(() =>
      expect(within(screen.getByTestId("session-row")).getByTestId("session-state").textContent?.trim())
        .toBe("Waiting for your input"));
    // A required field left empty: the backend names it, nothing is sent.
    await fireEvent.submit(prompt.getByTestId("session-prompt-form"));
    await waitFor(() => expect(prompt.getByTestId("session-prompt-form-error").textContent).toContain("Note"));
    expect(backend.sessions.calls.filter((c) => c.startsWith("respond"))).toEqual([]);
    await fireEvent.input(prompt.getByTestId("prompt-p2-param-note"), { target: { value: "ship" } });
    await fireEvent.submit(prompt.getByTestId("session-prompt-form"));
    await waitFor(() => expect(detail.queryByTestId("session-prompt")).toBeNull());
    expect(backend.sessions.calls).toContain("respond local run-1 p2");
  });

  it("cancels only after asking, with a way to keep it", async () => {
    const { backend, row } = await renderWith();
    await fireEvent.click(row.getByTestId("session-cancel"));
    const question = within(await screen.findByTestId("session-cancel-question"));
    expect(question.getByText("Cancel deploy?")).toBeTruthy();
    await fireEvent.click(question.getByRole("button", { name: "Keep it" }));
    expect(screen.queryByTestId("session-cancel-question")).toBeNull();
    expect(backend.sessions.calls.some((c) => c.startsWith("cancel"))).toBe(false);

    await fireEvent.click(row.getByTestId("session-cancel"));
    await fireEvent.click(await screen.findByTestId("session-cancel-confirm"));
    await waitFor(() =>
      expect(within(screen.getByTestId("session-row")).getByTestId("session-end-reason").textContent).toBe("Cancelled"));
    expect(backend.sessions.calls).toContain("cancel local run-1");
  });

  it("opened from outside the window (the tray, a link), it is brought up, focused and open", async () => {
    const { backend, store } = await renderWith();
    expect(screen.queryByTestId("session-detail")).toBeNull();
    // What the app does for "Open" on a session without a page: the main window shows it.
    await backend.openSession("local", "run-1");
    await screen.findByTestId("session-detail");
    expect(document.activeElement).toBe(screen.getByTestId("session-row"));
    expect(store.revealed).toBeNull();
  });

  it("shows its log where the provider keeps one, line by line until it ends", async () => {
    const { backend, row } = await renderWith({ ...shaped, actions: { ...shaped.actions, logs: true } });
    backend.sessions.say("local", "run-1", "Queued behind 2 runs");
    await fireEvent.click(row.getByTestId("session-open"));
    const log = within(await screen.findByTestId("session-log-view"));
    await waitFor(() => expect(log.getAllByTestId("session-log-line").map((l) => l.textContent)).toEqual([
      "Queued behind 2 runs",
    ]));
    expect(log.queryByTestId("session-log-ended")).toBeNull();
    backend.sessions.say("local", "run-1", "Step 1: build");
    await waitFor(() => expect(log.getAllByTestId("session-log-line")).toHaveLength(2));
    backend.sessions.say("local", "run-1", "Finished", true);
    await log.findByTestId("session-log-ended");
    expect(log.getAllByTestId("session-log-line").map((l) => l.textContent)).toEqual([
      "Queued behind 2 runs", "Step 1: build", "Finished",
    ]);
  });

  it("has no log where the provider keeps none", async () => {
    const { row } = await renderWith();
    await fireEvent.click(row.getByTestId("session-open"));
    await screen.findByTestId("session-detail");
    expect(screen.queryByTestId("session-log-view")).toBeNull();
  });

  it("lists its jobs newest first where the provider has jobs, and reads them again", async () => {
    const { backend, row } = await renderWith({ ...shaped, actions: { ...shaped.actions, jobs: true } });
    backend.sessions.seedJobs("local", "run-1", [job("j2", "Running", true), job("j1", "Cancelled - Ran too long", false)]);
    await fireEvent.click(row.getByTestId("session-open"));
    const jobs = within(await screen.findByTestId("session-jobs"));
    await waitFor(() => expect(jobs.getAllByTestId("session-job").map((j) => j.dataset.jobId)).toEqual(["j2", "j1"]));
    const statuses = jobs.getAllByTestId("session-job-status");
    expect(statuses.map((s) => s.textContent)).toEqual(["Running", "Cancelled - Ran too long"]);
    expect(statuses[1]!.classList.contains("troubled")).toBe(true);
    // A state change reads them again.
    backend.sessions.seedJobs("local", "run-1", [job("j3", "Queued", true), job("j2", "Completed", false)]);
    backend.sessions.ask("local", "run-1", { id: "p1", message: "Go?", parameters: [] });
    await waitFor(() => expect(jobs.getAllByTestId("session-job").map((j) => j.dataset.jobId)).toEqual(["j3", "j2"]));
  });

  it("answers and refuses by the provider's words; a refusal needs no fields, and a failed one is shown", async () => {
    const { backend, row } = await renderWith();
    backend.sessions.ask("local", "run-1", {
      id: "p3",
      message: "Deploy to production?",
      parameters: [{ name: "note", label: "Note", kind: "text", required: true, default: null, help: null }],
      submit_label: "Approve",
      reject_label: "Reject",
    });
    await fireEvent.click(row.getByTestId("session-open"));
    const prompt = within(await screen.findByTestId("session-prompt"));
    expect(prompt.getByTestId("session-prompt-form-submit").textContent).toBe("Approve");
    const reject = prompt.getByTestId("session-prompt-form-reject") as HTMLButtonElement;
    expect(reject.textContent).toBe("Reject");
    // A button of its own (Tab reaches it, Enter or Space presses it), not a second submit.
    expect(reject.type).toBe("button");
    const refuse = vi.spyOn(backend, "rejectPrompt")
      .mockRejectedValueOnce(new BackendError("upstream_unavailable", "Cannot reach the provider"));
    await fireEvent.click(reject);
    await waitFor(() =>
      expect(prompt.getByTestId("session-prompt-form-error").textContent).toContain("Cannot reach the provider"));
    expect(screen.getByTestId("session-prompt")).toBeTruthy();
    await fireEvent.click(reject);
    await waitFor(() => expect(screen.queryByTestId("session-prompt")).toBeNull());
    expect(refuse.mock.calls).toEqual([["local", "run-1", "p3"], ["local", "run-1", "p3"]]);
    expect(backend.sessions.calls).toContain("reject local run-1 p3");
    expect(backend.sessions.calls.some((c) => c.startsWith("respond"))).toBe(false);
  });

  it("shows what a job produced under it (a runbook's outputs), where it produced something", async () => {
    const { backend, row } = await renderWith({ ...shaped, actions: { ...shaped.actions, jobs: true } });
    backend.sessions.seedJobs("local", "run-1", [
      { ...job("b2", "Succeeded", false), outputs: { url: "https://deploy.example/42", replicas: "3" } },
      job("b1", "Succeeded", false),
    ]);
    await fireEvent.click(row.getByTestId("session-open"));
    const jobs = within(await screen.findByTestId("session-jobs"));
    const outputs = await jobs.findAllByTestId("session-job-outputs");
    expect(outputs.map((o) => o.dataset.jobId)).toEqual(["b2"]);
    const lines = [...outputs[0]!.querySelectorAll("dt")]
      .map((dt) => `${dt.textContent} ${dt.nextElementSibling?.textContent}`);
    expect(lines).toEqual(["url: https://deploy.example/42", "replicas: 3"]);
  });

  it("lists what its provider tells about it, moments in local time and its page as a link", async () => {
    const { backend, row } = await renderWith();
    backend.sessions.edit("local", "run-1", (s) => {
      s.details = [
        { label: "Mode", value: "batch", at: null, link: null },
        { label: "Opened", value: null, at: "2026-12-05T08:00:00Z", link: null },
        { label: "On the provider", value: "Workloads", at: null, link: "https://provider.example/workloads" },
      ];
    });
    await fireEvent.click(row.getByTestId("session-open"));
    const detail = within(await screen.findByTestId("session-detail"));
    const facts = detail.getAllByTestId("session-detail-fact");
    expect(facts.map((f) => f.previousElementSibling?.textContent)).toEqual(["Mode", "Opened", "On the provider"]);
    expect(facts[0]!.textContent).toBe("batch");
    expect(facts[1]!.textContent).toMatch(/\d\d:\d\d:\d\d/);
    const link = within(facts[2]!).getByRole("link", { name: "Workloads" }) as HTMLAnchorElement;
    expect(link.href).toBe("https://provider.example/workloads");
  });

  it("where the provider has no extend, it offers a relaunch with the next longer limit, to confirm", async () => {
    const { backend, row } = await renderWith({ ...shaped, extend_steps: [] });
    expect(row.queryByTestId("session-extend")).toBeNull();
    await fireEvent.click(row.getByRole("button", { name: "Relaunch deploy with a longer limit" }));
    const dialog = within(await screen.findByTestId("launch-dialog"));
    const timeout = (await dialog.findByTestId("launch-timeout")) as HTMLSelectElement;
    // Launched elsewhere at the provider's default (15 minutes): the next choice is 30.
    await waitFor(() => expect(timeout.value).toBe("30"));
    expect(backend.sessions.calls.some((c) => c.startsWith("launch"))).toBe(false);
  });
});
