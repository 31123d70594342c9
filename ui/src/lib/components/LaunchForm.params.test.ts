import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { beforeEach, describe, expect, it, vi } from "vitest";
import {
  BACKEND_CONTEXT,
  type LaunchRequest,
  MOCK_RUNBOOKS,
  MockBackend,
  type MockAccountSeed,
  type ProviderDescriptor,
} from "../backend";
import { PROVIDERS } from "../backend/providers";
import { PROVIDER_CATALOG_CONTEXT, ProviderCatalog } from "../stores/providers.svelte";
import LaunchForm from "./LaunchForm.svelte";

// A provider launched straight on a resource, with parameters (a runbook's shape): the form
// renders from its descriptor and the resource's schema.
const shaped: ProviderDescriptor = {
  ...PROVIDERS.portholed,
  launch: { template_required: false, modes: [], takes_parameters: true, resource_named: false },
};

async function renderForm() {
  const backend = new MockBackend({});
  backend.sessions.seedParameters("local", "CPU", [
    { name: "who", label: "Who", kind: "text", required: true, default: null, help: "Who runs it" },
    { name: "count", label: "Count", kind: "number", required: false, default: "1", help: null },
    { name: "dry", label: "Dry run", kind: "boolean", required: false, default: null, help: null },
  ]);
  const catalog = new ProviderCatalog();
  await catalog.load({ providerDescriptors: async () => [shaped] } as unknown as MockBackend);
  const onsubmit = vi.fn<(accountId: string, request: LaunchRequest) => void>();
  render(LaunchForm, {
    props: { accounts: await backend.listAccounts(), accountId: "local", onsubmit, oncancel: () => {} },
    context: new Map<unknown, unknown>([[BACKEND_CONTEXT, backend], [PROVIDER_CATALOG_CONTEXT, catalog]]),
  });
  return { onsubmit };
}

describe("LaunchForm for a provider without templates", () => {
  beforeEach(() => localStorage.clear());

  it("asks for no machine, generates the parameters' fields with their defaults, and sends what was filled", async () => {
    const { onsubmit } = await renderForm();
    const who = (await screen.findByTestId("launch-param-who")) as HTMLInputElement;
    expect(screen.queryByLabelText("Machine")).toBeNull();
    expect(who.required).toBe(true);
    expect(screen.getByText("Who runs it")).toBeTruthy();
    expect((screen.getByTestId("launch-param-count") as HTMLInputElement).value).toBe("1");
    const dry = screen.getByTestId("launch-param-dry") as HTMLSelectElement;
    expect([...dry.options].map((o) => o.value)).toEqual(["", "true", "false"]);
    await fireEvent.input(who, { target: { value: "ada" } });
    await fireEvent.change(dry, { target: { value: "true" } });
    await waitFor(() => expect((screen.getByTestId("launch-submit") as HTMLButtonElement).disabled).toBe(false));
    await fireEvent.click(screen.getByTestId("launch-submit"));
    expect(onsubmit).toHaveBeenCalledWith("local", {
      machine_id: "",
      resource: "CPU",
      timeout_minutes: 15,
      mode: null,
      params: { who: "ada", count: "1", dry: "true" },
    });
  });
});

// An Airplane account: runbooks (only those run before are listed), parameters, no time limit.
const OPS: MockAccountSeed = {
  account: { id: "ops", name: "Ops", provider: "airplane", base_url: "https://api.airplane.example/v0", fields: {} },
  key: "set",
};

async function renderRunbookForm(preset: LaunchRequest | null = null) {
  const backend = new MockBackend({ accounts: [OPS] });
  const catalog = new ProviderCatalog();
  await catalog.load(backend);
  const read = vi.spyOn(backend, "launchParameters");
  const onsubmit = vi.fn<(accountId: string, request: LaunchRequest) => void>();
  render(LaunchForm, {
    props: { accounts: await backend.listAccounts(), accountId: "ops", preset, onsubmit, oncancel: () => {} },
    context: new Map<unknown, unknown>([[BACKEND_CONTEXT, backend], [PROVIDER_CATALOG_CONTEXT, catalog]]),
  });
  const runbook = (await screen.findByTestId("launch-runbook")) as HTMLInputElement;
  const submit = screen.getByTestId("launch-submit") as HTMLButtonElement;
  return { backend, read, onsubmit, runbook, submit };
}

describe("LaunchForm for runbooks", () => {
  beforeEach(() => localStorage.clear());

  it("takes any runbook typed, suggests those run before, and launches it with no time limit", async () => {
    const { read, onsubmit, runbook, submit } = await renderRunbookForm();
    const known = document.getElementById(runbook.getAttribute("list")!)!;
    expect(known.tagName).toBe("DATALIST");
    expect([...known.querySelectorAll("option")].map((o) => o.value)).toEqual(MOCK_RUNBOOKS.map((r) => r.id));
    expect(screen.queryByTestId("launch-timeout")).toBeNull();
    expect(screen.queryByLabelText("Machine")).toBeNull();
    // Nothing named yet: nothing to launch, and the form says why.
    expect(runbook.value).toBe("");
    expect(submit.disabled).toBe(true);
    expect(screen.getByTestId("launch-no-runbook")).toBeTruthy();

    // Typed key by key (a slug none of the suggestions has): its parameters are read once.
    for (const text of ["d", "de", "deploy", "deploy-api "]) await fireEvent.input(runbook, { target: { value: text } });
    expect(screen.queryByTestId("launch-no-runbook")).toBeNull();
    await waitFor(() => expect(submit.disabled).toBe(false));
    expect(read.mock.calls).toEqual([["ops", "deploy-api"]]);
    await fireEvent.click(submit);
    expect(onsubmit).toHaveBeenCalledWith("ops", {
      machine_id: "",
      resource: "deploy-api",
      timeout_minutes: null,
      mode: null,
      params: {},
    });
  });

  it("reads the parameters of the runbook typed, and again once another is typed", async () => {
    const { backend, onsubmit, runbook, submit } = await renderRunbookForm();
    backend.sessions.seedParameters("ops", "rbk20240611deploy", [
      { name: "service", label: "Service", kind: "text", required: true, default: "api", help: null },
    ]);
    backend.sessions.seedParameters("ops", "https://app.airplane.example/runbooks/rotate", [
      { name: "key", label: "Key", kind: "text", required: true, default: null, help: null },
    ]);
    await fireEvent.input(runbook, { target: { value: "rbk20240611deploy" } });
    expect(((await screen.findByTestId("launch-param-service")) as HTMLInputElement).value).toBe("api");

    // Left at once (change): no need to wait for typing to pause.
    await fireEvent.input(runbook, { target: { value: "https://app.airplane.example/runbooks/rotate" } });
    await fireEvent.change(runbook);
    const key = await screen.findByTestId("launch-param-key");
    expect(screen.queryByTestId("launch-param-service")).toBeNull();
    await fireEvent.input(key, { target: { value: "db" } });
    await waitFor(() => expect(submit.disabled).toBe(false));
    await fireEvent.click(submit);
    expect(onsubmit).toHaveBeenCalledWith("ops", expect.objectContaining({
      resource: "https://app.airplane.example/runbooks/rotate",
      timeout_minutes: null,
      params: { key: "db" },
    }));
  });

  it("starts from the runbook of a relaunch", async () => {
    const preset = { machine_id: "", resource: "rbk20240702rotate", timeout_minutes: null };
    const { read, runbook, submit } = await renderRunbookForm(preset);
    await waitFor(() => expect(runbook.value).toBe("rbk20240702rotate"));
    await waitFor(() => expect(submit.disabled).toBe(false));
    expect(read.mock.calls).toEqual([["ops", "rbk20240702rotate"]]);
  });
});

describe("LaunchForm for a provider with modes", () => {
  beforeEach(() => localStorage.clear());

  it("offers its modes, the first chosen, and sends the one picked", async () => {
    const backend = new MockBackend({});
    const catalog = new ProviderCatalog();
    const moded: ProviderDescriptor = {
      ...PROVIDERS.portholed,
      launch: { template_required: false, modes: ["dedicated", "batch"], takes_parameters: false, resource_named: false },
    };
    await catalog.load({ providerDescriptors: async () => [moded] } as unknown as MockBackend);
    const onsubmit = vi.fn<(accountId: string, request: LaunchRequest) => void>();
    render(LaunchForm, {
      props: { accounts: await backend.listAccounts(), accountId: "local", onsubmit, oncancel: () => {} },
      context: new Map<unknown, unknown>([[BACKEND_CONTEXT, backend], [PROVIDER_CATALOG_CONTEXT, catalog]]),
    });
    const select = (await screen.findByLabelText("Mode")) as HTMLSelectElement;
    await waitFor(() => expect(select.value).toBe("dedicated"));
    expect([...select.options].map((o) => o.textContent)).toEqual(["Dedicated", "Batch"]);
    await fireEvent.change(select, { target: { value: "batch" } });
    await waitFor(() => expect((screen.getByTestId("launch-submit") as HTMLButtonElement).disabled).toBe(false));
    await fireEvent.click(screen.getByTestId("launch-submit"));
    expect(onsubmit).toHaveBeenCalledWith("local", expect.objectContaining({ mode: "batch", machine_id: "" }));
  });
});

describe("LaunchForm while it is open", () => {
  beforeEach(() => localStorage.clear());

  it("reads the resources again every 10 seconds, their queues and availability as they move", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    try {
      const backend = new MockBackend({});
      const first = await backend.listResources("local");
      const read = vi.spyOn(backend, "listResources");
      const catalog = new ProviderCatalog();
      await catalog.load(backend);
      render(LaunchForm, {
        props: { accounts: await backend.listAccounts(), accountId: "local", onsubmit: () => {}, oncancel: () => {} },
        context: new Map<unknown, unknown>([[BACKEND_CONTEXT, backend], [PROVIDER_CATALOG_CONTEXT, catalog]]),
      });
      await screen.findByTestId("launch-submit");
      await waitFor(() => expect(read).toHaveBeenCalledTimes(1));
      read.mockResolvedValue(
        first.map((r) => (r.id === "CPU" ? { ...r, availability: { status: "busy", queue_length: 3 } } : r)),
      );
      expect(document.body.textContent).not.toContain("Busy: 3 in queue");
      await vi.advanceTimersByTimeAsync(10_000);
      await waitFor(() => expect(document.body.textContent).toContain("Busy: 3 in queue"));
      expect(read).toHaveBeenCalledTimes(2);
    } finally {
      vi.useRealTimers();
    }
  });
});

