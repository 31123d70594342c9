import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { describe, expect, it, vi } from "vitest";
import type { AccountView, NewAccount, ProviderDescriptor, ProviderKind } from "../backend";
import { PROVIDERS } from "../backend/providers";
import AddAccountForm from "./AddAccountForm.svelte";

/** The real descriptors, with IBM Quantum's (and its settings) turned on, as when it ships. */
const providers: Record<ProviderKind, ProviderDescriptor> = {
  ...PROVIDERS,
  ibm_quantum: { ...PROVIDERS.ibm_quantum, supported: true, default_base_url: "https://quantum.example/api" },
};

async function type(label: string, value: string) {
  await fireEvent.input(screen.getByLabelText(label), { target: { value } });
}

describe("AddAccountForm", () => {
  it("asks for the provider's own settings, from its descriptor, and sends only those filled in", async () => {
    const onadd = vi.fn(async (account: NewAccount) => ({ account }) as unknown as AccountView);
    render(AddAccountForm, { props: { onadd, onclose: () => {}, providers } });
    // ComfyDeploy has no settings of its own.
    expect(screen.queryByTestId("add-account-field-instance")).toBeNull();

    await fireEvent.change(screen.getByLabelText("Provider"), { target: { value: "ibm_quantum" } });
    const instance = screen.getByLabelText("Instance CRN") as HTMLInputElement;
    expect(instance.required).toBe(true);
    expect((screen.getByLabelText("IAM URL") as HTMLInputElement).required).toBe(false);
    expect(screen.getByText(PROVIDERS.ibm_quantum.account_fields[0].help)).toBeTruthy();

    await type("Name", "Lab QPUs");
    await type("Instance CRN", "  crn:v1:bluemix:public:quantum-computing:us-east:a/1::  ");
    await type("API key", "ibm-key");
    await fireEvent.click(screen.getByTestId("add-account-form-submit"));
    await waitFor(() => expect(onadd).toHaveBeenCalledOnce());
    expect(onadd.mock.calls[0][0]).toEqual({
      name: "Lab QPUs",
      provider: "ibm_quantum",
      base_url: "https://quantum.example/api",
      key: "ibm-key",
      fields: { instance: "crn:v1:bluemix:public:quantum-computing:us-east:a/1::" },
    });
  });

  it("forgets one provider's settings when another is chosen", async () => {
    const onadd = vi.fn(async (account: NewAccount) => ({ account }) as unknown as AccountView);
    render(AddAccountForm, { props: { onadd, onclose: () => {}, providers } });
    const select = screen.getByLabelText("Provider");
    await fireEvent.change(select, { target: { value: "ibm_quantum" } });
    await type("Instance CRN", "crn:v1:x");
    await fireEvent.change(select, { target: { value: "portholed" } });
    expect(screen.queryByLabelText("Instance CRN")).toBeNull();
    await type("Name", "Box");
    await type("Base URL", "http://box:7788/api");
    await type("API key", "k");
    await fireEvent.click(screen.getByTestId("add-account-form-submit"));
    await waitFor(() => expect(onadd).toHaveBeenCalledOnce());
    expect(onadd.mock.calls[0][0].fields).toEqual({});
  });
});
