import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { describe, expect, it, vi } from "vitest";
import {
  type AccountView,
  BackendError,
  MOCK_PAIRING_FINGERPRINT,
  MockBackend,
  mockPairingString,
  type NewAccount,
  type PairingOffered,
  type ProviderDescriptor,
  type ProviderKind,
  shortFingerprint,
} from "../backend";
import { PROVIDERS } from "../backend/providers";
import AddAccountForm from "./AddAccountForm.svelte";

/** The real descriptors, with IBM Quantum's (and its settings) turned on, as when it ships. */
const providers: Record<ProviderKind, ProviderDescriptor> = {
  ...PROVIDERS,
  ibm_quantum: { ...PROVIDERS.ibm_quantum, supported: true, default_base_url: "https://quantum.example/api" },
};

/** An `onpair` for tests that never pair. */
const unexpected = async (): Promise<AccountView> => {
  throw new Error("onpair was not expected");
};

/** An `onread` that reads as the Rust side does (the mock's imitation), counting its calls. */
function reader() {
  const mock = new MockBackend();
  return vi.fn((pairing: string) => mock.readPairing(pairing));
}

/** An `onread` whose answers the test gives, in any order. */
function heldReader() {
  const held: { text: string; answer: (offer: PairingOffered) => void; refuse: (e: Error) => void }[] = [];
  const onread = vi.fn(
    (text: string) =>
      new Promise<PairingOffered>((answer, refuse) => held.push({ text, answer, refuse })),
  );
  return { onread, held };
}

async function type(label: string, value: string) {
  await fireEvent.input(screen.getByLabelText(label), { target: { value } });
}

describe("AddAccountForm", () => {
  it("asks for the provider's own settings, from its descriptor, and sends only those filled in", async () => {
    const onadd = vi.fn(async (account: NewAccount) => ({ account }) as unknown as AccountView);
    render(AddAccountForm, { props: { onadd, onpair: unexpected, onread: reader(), onclose: () => {}, providers } });
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
    render(AddAccountForm, { props: { onadd, onpair: unexpected, onread: reader(), onclose: () => {}, providers } });
    const select = screen.getByLabelText("Provider");
    await fireEvent.change(select, { target: { value: "ibm_quantum" } });
    await type("Instance CRN", "crn:v1:x");
    await fireEvent.change(select, { target: { value: "portholed" } });
    expect(screen.queryByLabelText("Instance CRN")).toBeNull();
    await fireEvent.click(screen.getByLabelText("Enter address and key"));
    await type("Name", "Box");
    await type("Base URL", "http://box:7788/api");
    await type("API key", "k");
    await fireEvent.click(screen.getByTestId("add-account-form-submit"));
    await waitFor(() => expect(onadd).toHaveBeenCalledOnce());
    expect(onadd.mock.calls[0][0].fields).toEqual({});
  });
});

describe("AddAccountForm: pairing", () => {
  const view = (name: string) => ({ account: { name } }) as unknown as AccountView;

  it("pairs a portholed with a pasted string by default, naming it after its host", async () => {
    const onadd = vi.fn(async (account: NewAccount) => view(account.name));
    const onpair = vi.fn(
      (name: string) => new Promise<AccountView>((resolve) => setTimeout(() => resolve(view(name)), 20)),
    );
    const onclose = vi.fn();
    const onread = reader();
    render(AddAccountForm, { props: { onadd, onpair, onread, onclose, providers } });
    await fireEvent.change(screen.getByLabelText("Provider"), { target: { value: "portholed" } });

    expect((screen.getByLabelText("Pair with a pairing string") as HTMLInputElement).checked).toBe(true);
    expect((screen.getByLabelText("Enter address and key") as HTMLInputElement).checked).toBe(false);
    expect(screen.queryByLabelText("API key")).toBeNull();
    expect(screen.queryByLabelText("Base URL")).toBeNull();
    const field = screen.getByLabelText("Pairing string") as HTMLInputElement;
    expect(field.required).toBe(true);
    expect(screen.getByText(/paste the line it prints\. It works once, within 10 minutes\./)).toBeTruthy();

    const text = mockPairingString({ base_url: "https://render-box:7788/api" });
    expect(screen.queryByTestId("add-account-pairing-preview")).toBeNull();
    await type("Pairing string", text);
    // The backend read it: where it leads, and the name its host.
    const preview = await screen.findByTestId("add-account-pairing-preview");
    expect(onread).toHaveBeenCalledExactlyOnceWith(text);
    expect((screen.getByLabelText("Name") as HTMLInputElement).value).toBe("render-box");
    expect(preview.textContent).toContain("https://render-box:7788/api");
    expect(preview.textContent).toContain(shortFingerprint(MOCK_PAIRING_FINGERPRINT));
    expect(field.getAttribute("aria-describedby")).toContain(preview.id);

    const submit = screen.getByTestId("add-account-form-submit") as HTMLButtonElement;
    expect(submit.textContent).toBe("Pair");
    await fireEvent.click(submit);
    expect(screen.getByTestId("add-account-form-progress").textContent).toContain("Pairing…");
    expect(submit.disabled).toBe(true);
    await waitFor(() => expect(onclose).toHaveBeenCalledWith(view("render-box")));
    expect(onpair).toHaveBeenCalledExactlyOnceWith("render-box", text);
    expect(onadd).not.toHaveBeenCalled();
  });

  it("keeps a name the user typed, and the address and key path still adds with a key", async () => {
    const onadd = vi.fn(async (account: NewAccount) => view(account.name));
    render(AddAccountForm, { props: { onadd, onpair: unexpected, onread: reader(), onclose: () => {}, providers } });
    await fireEvent.change(screen.getByLabelText("Provider"), { target: { value: "portholed" } });
    await type("Name", "My box");
    await type("Pairing string", mockPairingString());
    await screen.findByTestId("add-account-pairing-preview");
    expect((screen.getByLabelText("Name") as HTMLInputElement).value).toBe("My box");

    await fireEvent.click(screen.getByLabelText("Enter address and key"));
    expect(screen.queryByLabelText("Pairing string")).toBeNull();
    expect(screen.getByLabelText("Certificate fingerprint")).toBeTruthy();
    await type("Base URL", "http://box:7788/api");
    await type("API key", "k");
    expect(screen.getByTestId("add-account-form-submit").textContent).toBe("Add account");
    await fireEvent.click(screen.getByTestId("add-account-form-submit"));
    await waitFor(() => expect(onadd).toHaveBeenCalledOnce());
    expect(onadd.mock.calls[0][0]).toMatchObject({ name: "My box", provider: "portholed", key: "k" });
  });

  for (const [label, where] of [
    ["API key", "not an API key"],
    ["Base URL", "not an address"],
  ] as const) {
    it(`takes a pairing string pasted as the ${label} to pairing, never sending it as a key`, async () => {
      const onadd = vi.fn(async (account: NewAccount) => view(account.name));
      const onpair = vi.fn(async (name: string) => view(name));
      const onread = reader();
      render(AddAccountForm, { props: { onadd, onpair, onread, onclose: () => {}, providers } });
      // ComfyDeploy is chosen: a pairing string is a portholed's.
      await type("Name", "Lab box");
      const link = `porthole://pair?code=${mockPairingString()}`;
      await type(label, link);

      expect((screen.getByLabelText("Provider") as HTMLSelectElement).value).toBe("portholed");
      expect((screen.getByLabelText("Pair with a pairing string") as HTMLInputElement).checked).toBe(true);
      expect(screen.queryByLabelText("API key")).toBeNull();
      const field = screen.getByLabelText("Pairing string") as HTMLInputElement;
      expect(field.value).toBe(link);
      const note = screen.getByTestId("add-account-pairing-note");
      expect(note.textContent).toContain(`That is a pairing string, ${where}`);
      expect(field.getAttribute("aria-describedby")).toContain(note.id);
      await waitFor(() => expect(document.activeElement).toBe(field));
      // Read as a pasted one is, keeping the name typed.
      await screen.findByTestId("add-account-pairing-preview");
      expect(onread).toHaveBeenCalledExactlyOnceWith(link);
      expect((screen.getByLabelText("Name") as HTMLInputElement).value).toBe("Lab box");

      await fireEvent.click(screen.getByTestId("add-account-form-submit"));
      await waitFor(() => expect(onpair).toHaveBeenCalledExactlyOnceWith("Lab box", link));
      expect(onadd).not.toHaveBeenCalled();
    });
  }

  it("shows an offered pairing's address and fingerprint, and pairs it by name alone", async () => {
    const onpair = vi.fn(async (name: string) => view(name));
    const onclose = vi.fn();
    const offer = { base_url: "https://10.0.0.7:7788/api", fingerprint: MOCK_PAIRING_FINGERPRINT };
    const onread = reader();
    render(AddAccountForm, { props: { onadd: vi.fn(), onpair, onread, onclose, offer, providers } });

    expect(screen.getByRole("heading", { name: "Pair with https://10.0.0.7:7788/api" })).toBeTruthy();
    expect(screen.getByRole("form", { name: "Pair with a server" })).toBeTruthy();
    const fingerprint = screen.getByTestId("pair-offer-fingerprint");
    expect(fingerprint.textContent).toBe(shortFingerprint(MOCK_PAIRING_FINGERPRINT));
    expect(fingerprint.textContent).not.toBe(MOCK_PAIRING_FINGERPRINT);
    expect(fingerprint.title).toBe(MOCK_PAIRING_FINGERPRINT);
    for (const label of ["Provider", "Pairing string", "Base URL", "API key"]) {
      expect(screen.queryByLabelText(label)).toBeNull();
    }
    const name = screen.getByLabelText("Name") as HTMLInputElement;
    expect(name.value).toBe("10.0.0.7");
    expect(document.activeElement).toBe(name);

    await type("Name", "Render box");
    await fireEvent.click(screen.getByRole("button", { name: "Pair" }));
    await waitFor(() => expect(onclose).toHaveBeenCalledWith(view("Render box")));
    expect(onpair).toHaveBeenCalledExactlyOnceWith("Render box", null);
    expect(onread).not.toHaveBeenCalled();
  });

  it("shows why a string is no pairing string, in the backend's words, never echoing it", async () => {
    const onread = reader();
    render(AddAccountForm, { props: { onadd: vi.fn(), onpair: unexpected, onread, onclose: () => {}, providers } });
    await fireEvent.change(screen.getByLabelText("Provider"), { target: { value: "portholed" } });
    const good = mockPairingString({ base_url: "https://render-box:7788/api" });
    const cut = good.slice(0, 40);
    await type("Pairing string", cut);

    const why = await screen.findByTestId("add-account-pairing-why");
    expect(why.textContent?.trim()).toMatch(
      /^That is not a pairing string: it is cut or altered\. Run `portholed pair` on the server/,
    );
    expect(why.textContent).not.toContain(cut.slice(17));
    expect(screen.getByLabelText("Pairing string").getAttribute("aria-describedby")).toContain(why.id);
    expect(screen.queryByTestId("add-account-pairing-preview")).toBeNull();
    expect((screen.getByLabelText("Name") as HTMLInputElement).value).toBe("");

    // Completed, it reads: the reason goes, where it leads shows.
    await type("Pairing string", good);
    await screen.findByTestId("add-account-pairing-preview");
    expect(screen.queryByTestId("add-account-pairing-why")).toBeNull();
    expect((screen.getByLabelText("Name") as HTMLInputElement).value).toBe("render-box");
  });

  it("shows only the answer about what the field holds now, and nothing once it is empty", async () => {
    const { onread, held } = heldReader();
    render(AddAccountForm, { props: { onadd: vi.fn(), onpair: unexpected, onread, onclose: () => {}, providers } });
    await fireEvent.change(screen.getByLabelText("Provider"), { target: { value: "portholed" } });
    const first = mockPairingString({ base_url: "https://first-box:7788/api" });
    const second = mockPairingString({ base_url: "https://second-box:7788/api" });
    const offer = (base_url: string) => ({ base_url, fingerprint: MOCK_PAIRING_FINGERPRINT });
    const name = screen.getByLabelText("Name") as HTMLInputElement;

    await type("Pairing string", first);
    await type("Pairing string", second);
    expect(held.map((h) => h.text)).toEqual([first, second]);
    // The second answer comes first, then the stale one: the stale one is dropped.
    held[1].answer(offer("https://second-box:7788/api"));
    const preview = await screen.findByTestId("add-account-pairing-preview");
    held[0].answer(offer("https://first-box:7788/api"));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(preview.textContent).toContain("https://second-box:7788/api");
    expect(name.value).toBe("second-box");

    // A stale refusal is dropped too; emptied, the field shows nothing and asks nothing.
    await type("Pairing string", "porthole-pair:v1:x");
    await type("Pairing string", "  ");
    expect(onread).toHaveBeenCalledTimes(3);
    held[2].refuse(new BackendError("invalid_input", "That is not a pairing string: it is cut or altered."));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(screen.queryByTestId("add-account-pairing-preview")).toBeNull();
    expect(screen.queryByTestId("add-account-pairing-why")).toBeNull();
    expect(name.value).toBe("second-box");
  });

  it("says nothing of the string when the backend cannot read it for another reason", async () => {
    const onread = vi.fn(async (): Promise<PairingOffered> => {
      throw new BackendError("internal", "IPC channel closed");
    });
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    render(AddAccountForm, { props: { onadd: vi.fn(), onpair: unexpected, onread, onclose: () => {}, providers } });
    await fireEvent.change(screen.getByLabelText("Provider"), { target: { value: "portholed" } });
    await type("Pairing string", mockPairingString());
    await waitFor(() => expect(logged).toHaveBeenCalledOnce());
    logged.mockRestore();
    expect(screen.queryByTestId("add-account-pairing-preview")).toBeNull();
    expect(screen.queryByTestId("add-account-pairing-why")).toBeNull();
    expect(screen.queryByText(/IPC channel closed/)).toBeNull();
  });
});
