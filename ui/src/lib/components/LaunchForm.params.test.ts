import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { BACKEND_CONTEXT, type LaunchRequest, MockBackend, type ProviderDescriptor } from "../backend";
import { PROVIDERS } from "../backend/providers";
import { PROVIDER_CATALOG_CONTEXT, ProviderCatalog } from "../stores/providers.svelte";
import LaunchForm from "./LaunchForm.svelte";

// A provider launched straight on a resource, with parameters (a runbook's shape): the form
// renders from its descriptor and the resource's schema.
const shaped: ProviderDescriptor = {
  ...PROVIDERS.portholed,
  launch: { template_required: false, modes: [], takes_parameters: true },
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

describe("LaunchForm for a provider with modes", () => {
  beforeEach(() => localStorage.clear());

  it("offers its modes, the first chosen, and sends the one picked", async () => {
    const backend = new MockBackend({});
    const catalog = new ProviderCatalog();
    const moded: ProviderDescriptor = {
      ...PROVIDERS.portholed,
      launch: { template_required: false, modes: ["dedicated", "batch"], takes_parameters: false },
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

