import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it, onTestFinished } from "vitest";
import {
  BACKEND_CONTEXT,
  MOCK_PAIRING_BASE_URL,
  MOCK_PAIRING_FINGERPRINT,
  MOCK_PAIRING_REFUSED_MESSAGE,
  MockBackend,
  type MockOptions,
  mockPairingString,
} from "../backend";
import { PairingOfferStore } from "../stores/pairing.svelte";
import AccountsScreen from "./AccountsScreen.svelte";

/** The screen, following what links offer as the app does. */
function renderScreen(options: MockOptions = {}) {
  const backend = new MockBackend(options);
  const offers = new PairingOfferStore(backend);
  onTestFinished(offers.follow(() => {}));
  const result = render(AccountsScreen, {
    props: { offers },
    context: new Map([[BACKEND_CONTEXT, backend]]),
  });
  return { backend, offers, ...result };
}

async function type(label: string, value: string) {
  await fireEvent.input(screen.getByLabelText(label), { target: { value } });
}

/** Opens the Add account form on a portholed, pairing (its default way). */
async function openPairing() {
  await fireEvent.click(await screen.findByRole("button", { name: "Add account" }));
  await fireEvent.change(screen.getByLabelText("Provider"), { target: { value: "portholed" } });
}

async function submit() {
  await fireEvent.click(screen.getByTestId("add-account-form-submit"));
}

function ids(): string[] {
  return screen.getAllByTestId("account-row").map((row) => row.dataset.accountId ?? "");
}

describe("AccountsScreen: pairing with a pasted string", () => {
  it("adds the portholed it names, its certificate fingerprint kept", async () => {
    const { backend } = renderScreen();
    await openPairing();
    await type("Pairing string", `  ${mockPairingString()}\n`);
    // The backend read it (its token unspent): where it leads, and the name.
    const preview = await screen.findByTestId("add-account-pairing-preview");
    expect(preview.textContent).toContain(MOCK_PAIRING_BASE_URL);
    expect((screen.getByLabelText("Name") as HTMLInputElement).value).toBe("gpu-box.lan");
    expect(backend.accountCalls).toEqual(["listAccounts", "readPairing"]);
    await submit();

    await waitFor(() => expect(ids()).toEqual(["local", "gpu-box-lan"]));
    expect(screen.queryByTestId("add-account")).toBeNull();
    expect(screen.getByTestId("accounts-notice").textContent).toBe(
      "Paired with gpu-box.lan. Its key is in the OS keychain; its certificate is pinned.",
    );
    const [, paired] = await backend.listAccounts();
    expect(paired.account).toMatchObject({
      name: "gpu-box.lan",
      provider: "portholed",
      base_url: MOCK_PAIRING_BASE_URL,
      fields: { tls_fingerprint: MOCK_PAIRING_FINGERPRINT },
    });
    expect(paired.key).toEqual({ state: "set" });
    expect(backend.accountCalls).toContain("pairAccount");
    expect(backend.accountCalls).not.toContain("addAccount");
  });

  it("shows a string that is no pairing string with its message, and keeps what was typed", async () => {
    renderScreen();
    await openPairing();
    await type("Name", "Box");
    // Cut short: the prefix is right, the rest no longer reads.
    const cut = mockPairingString().slice(0, 40);
    await type("Pairing string", cut);
    const why = await screen.findByTestId("add-account-pairing-why");
    expect(why.textContent).toContain("That is not a pairing string: it is cut or altered.");
    await submit();

    const error = await screen.findByTestId("add-account-form-error");
    expect(error.dataset.code).toBe("invalid_input");
    expect(error.textContent).toContain("Invalid input");
    expect(error.textContent).toContain("That is not a pairing string: it is cut or altered.");
    expect(error.textContent).toContain("Run `portholed pair` on the server and paste the whole line");
    const field = screen.getByLabelText("Pairing string") as HTMLInputElement;
    expect(field.value).toBe(cut);
    expect((screen.getByLabelText("Name") as HTMLInputElement).value).toBe("Box");
    expect(field.getAttribute("aria-invalid")).toBe("true");
    expect(field.getAttribute("aria-describedby")).toContain(error.id);
    await waitFor(() => expect(document.activeElement).toBe(field));
    expect(ids()).toEqual(["local"]);
  });

  it("shows a string used already as `unauthorized`, adding nothing", async () => {
    const { backend } = renderScreen();
    const used = mockPairingString();
    await backend.pairAccount("First", used);
    await openPairing();
    await type("Name", "Second");
    await type("Pairing string", used);
    await submit();

    const error = await screen.findByTestId("add-account-form-error");
    expect(error.dataset.code).toBe("unauthorized");
    expect(error.textContent).toContain(MOCK_PAIRING_REFUSED_MESSAGE);
    expect((screen.getByLabelText("Pairing string") as HTMLInputElement).value).toBe(used);
    expect((await backend.listAccounts()).map((v) => v.account.name)).toEqual(["Local", "First"]);
  });

  it("shows a server presenting another certificate as `certificate_mismatch`, with its message", async () => {
    renderScreen();
    await openPairing();
    await type("Pairing string", mockPairingString({ base_url: "https://mismatch.lan:7788/api" }));
    await submit();

    const error = await screen.findByTestId("add-account-form-error");
    expect(error.dataset.code).toBe("certificate_mismatch");
    expect(error.textContent).toContain("The server's certificate does not match");
    expect(error.textContent).toContain(
      "mismatch.lan:7788 presented a certificate other than the one this account was paired with",
    );
    expect(error.textContent).toContain(`paired ${MOCK_PAIRING_FINGERPRINT.slice(7, 15)}…`);
    await waitFor(() => expect(document.activeElement).toBe(screen.getByLabelText("Pairing string")));
  });

  it("refuses a name that is taken without spending the string", async () => {
    const { backend } = renderScreen();
    const text = mockPairingString();
    await openPairing();
    await type("Pairing string", text);
    await type("Name", "local");
    await submit();
    const error = await screen.findByTestId("add-account-form-error");
    expect(error.textContent).toContain("exists already");
    // The name is what to fix: focus goes there, not to the string.
    await waitFor(() => expect(document.activeElement).toBe(screen.getByLabelText("Name")));
    expect(screen.getByLabelText("Pairing string").getAttribute("aria-invalid")).toBeNull();

    await type("Name", "Render box");
    await submit();
    await waitFor(() => expect(ids()).toEqual(["local", "render-box"]));
    expect(backend.accountCalls.filter((c) => c === "pairAccount")).toHaveLength(2);
  });
});

describe("AccountsScreen: a pairing a link offered", () => {
  it("opens the form on it as it is offered, and Pair adds it with the offered pairing", async () => {
    const { backend, offers } = renderScreen();
    await screen.findByTestId("account-list");
    expect(screen.queryByTestId("add-account")).toBeNull();

    backend.offerPairing(`porthole://pair?code=${mockPairingString()}`);
    const form = await screen.findByRole("form", { name: "Pair with a server" });
    expect(screen.getByTestId("pair-offer-address").textContent).toBe(MOCK_PAIRING_BASE_URL);
    expect(screen.getByTestId("pair-offer-fingerprint").title).toBe(MOCK_PAIRING_FINGERPRINT);
    expect(screen.queryByRole("button", { name: "Add account" })).toBeNull();
    expect((within(form).getByLabelText("Name") as HTMLInputElement).value).toBe("gpu-box.lan");

    await fireEvent.click(within(form).getByRole("button", { name: "Pair" }));
    await waitFor(() => expect(ids()).toEqual(["local", "gpu-box-lan"]));
    expect(backend.accountCalls).toContain("pairAccount offered");
    expect(backend.accountCalls).not.toContain("dismissOfferedPairing");
    expect(offers.offer).toBeNull();
    expect(await backend.offeredPairing()).toBeNull();
    expect(screen.queryByTestId("add-account")).toBeNull();
    await waitFor(() =>
      expect(document.activeElement).toBe(screen.getByRole("button", { name: "Add account" })),
    );
  });

  it("shows one offered before it was up, and Cancel dismisses it", async () => {
    const { backend, offers } = renderScreen({ offeredPairing: mockPairingString() });
    const form = await screen.findByRole("form", { name: "Pair with a server" });
    await fireEvent.click(within(form).getByRole("button", { name: "Cancel" }));

    expect(screen.queryByTestId("add-account")).toBeNull();
    expect(offers.offer).toBeNull();
    await waitFor(() => expect(backend.accountCalls).toContain("dismissOfferedPairing"));
    expect(await backend.offeredPairing()).toBeNull();
    expect(ids()).toEqual(["local"]);
    // Nothing waits any more: Pair with no string says so.
    await expect(backend.pairAccount("x", null)).rejects.toMatchObject({ code: "invalid_input" });
  });
});
