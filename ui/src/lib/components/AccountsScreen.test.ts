import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import {
  BACKEND_CONTEXT,
  MOCK_DEMO_ACCOUNTS,
  MOCK_KEYCHAIN_MESSAGE,
  MOCK_REJECTED_KEY_MESSAGE,
  MockBackend,
  type MockOptions,
} from "../backend";
import AccountsScreen from "./AccountsScreen.svelte";

function renderScreen(options: MockOptions = {}) {
  const backend = new MockBackend(options);
  const result = render(AccountsScreen, { context: new Map([[BACKEND_CONTEXT, backend]]) });
  return { backend, ...result };
}

/** The row of the account with this id, once the list has loaded. */
async function rowOf(id: string): Promise<HTMLElement> {
  await screen.findByTestId("account-list");
  const row = document.querySelector<HTMLElement>(`[data-testid="account-row"][data-account-id="${id}"]`);
  if (!row) throw new Error(`no row for account ${id}`);
  return row;
}

function ids(): string[] {
  return screen.getAllByTestId("account-row").map((row) => row.dataset.accountId ?? "");
}

async function type(label: string, value: string) {
  await fireEvent.input(screen.getByLabelText(label), { target: { value } });
}

/** Opens the Add account form and fills it in (the base URL is left as the provider's default). */
async function fillAddForm(name: string, key: string) {
  await fireEvent.click(await screen.findByRole("button", { name: "Add account" }));
  await type("Name", name);
  await type("API key", key);
}

async function submitAddForm() {
  await fireEvent.submit(screen.getByRole("form", { name: "Add an account" }));
}

describe("AccountsScreen: the list", () => {
  it("shows an account added outside the window (the CLI) without being opened again", async () => {
    const { backend } = renderScreen();
    await rowOf("local");
    await backend.addAccountElsewhere({
      name: "From the CLI",
      provider: "comfy_deploy",
      base_url: "https://api.comfydeploy.com/api",
      key: "a-key-that-works",
      fields: {},
    });
    await waitFor(() =>
      expect(screen.getAllByTestId("account-row").map((r) => within(r).getByRole("heading").textContent)).toContain(
        "From the CLI",
      ),
    );
  });

  it("shows a loading state, then the built-in Local account", async () => {
    renderScreen({ delayMs: 20 });
    expect(screen.getByTestId("accounts-loading").getAttribute("aria-busy")).toBe("true");
    const local = await rowOf("local");
    expect(screen.queryByTestId("accounts-loading")).toBeNull();
    expect(within(local).getByRole("heading").textContent).toBe("Local");
    expect(within(local).getByTestId("account-provider").textContent).toBe("portholed");
    expect(within(local).getByTestId("account-base-url").textContent).toBe(
      "http://127.0.0.1:7788/api",
    );
    expect(within(local).getByTestId("key-badge").textContent?.trim()).toBe("Built in");
    expect(within(local).getByTestId("account-default").textContent).toBe("Default");
  });

  it("shows each key state with its own badge", async () => {
    renderScreen({ accounts: MOCK_DEMO_ACCOUNTS });
    await rowOf("local");
    expect(ids()).toEqual(["local", "studio-gpus", "gpu-box", "old-team"]);
    const badge = async (id: string) => within(await rowOf(id)).getByTestId("key-badge");
    expect((await badge("studio-gpus")).textContent?.trim()).toBe("Key set");
    expect((await badge("gpu-box")).textContent?.trim()).toBe("Key missing — set it again");
    expect((await badge("gpu-box")).dataset.state).toBe("missing");
    expect(within(await rowOf("studio-gpus")).getByTestId("account-provider").textContent).toBe(
      "ComfyDeploy",
    );
    expect(within(await rowOf("studio-gpus")).queryByTestId("account-default")).toBeNull();
  });

  it("shows what an account's provider tells about it, where it tells something", async () => {
    const backend = new MockBackend({ accounts: MOCK_DEMO_ACCOUNTS });
    backend.sessions.seedAccountDetails("studio-gpus", [
      { label: "QPU usage", value: "2 min of 10 min (20%)", at: null, link: null },
    ]);
    render(AccountsScreen, { context: new Map([[BACKEND_CONTEXT, backend]]) });
    const row = within(await rowOf("studio-gpus"));
    const detail = await row.findByTestId("account-detail");
    expect(detail.previousElementSibling?.textContent).toBe("QPU usage");
    expect(detail.textContent).toBe("2 min of 10 min (20%)");
    expect(within(await rowOf("local")).queryByTestId("account-details")).toBeNull();
  });

  it("shows an unusable keychain on every account but Local", async () => {
    renderScreen({ accounts: MOCK_DEMO_ACCOUNTS, keychainError: MOCK_KEYCHAIN_MESSAGE });
    const badge = within(await rowOf("studio-gpus")).getByTestId("key-badge");
    expect(badge.dataset.state).toBe("keychain_unavailable");
    expect(badge.textContent?.trim()).toBe(`Keychain unavailable: ${MOCK_KEYCHAIN_MESSAGE}`);
    expect(within(await rowOf("local")).getByTestId("key-badge").textContent?.trim()).toBe(
      "Built in",
    );
  });

  it("shows a failed listing with its code, and Retry recovers", async () => {
    const { backend } = renderScreen({ listAccountsFailWith: "io" });
    const error = await screen.findByTestId("accounts-error");
    expect(error.getAttribute("role")).toBe("alert");
    expect(error.textContent).toContain("Local file error");
    expect(error.textContent).toContain("io");
    backend.configure({});
    await fireEvent.click(within(error).getByRole("button", { name: "Retry" }));
    await rowOf("local");
  });

  it("offers neither Remove nor Set key for the Local account", async () => {
    renderScreen({ accounts: MOCK_DEMO_ACCOUNTS });
    const local = within(await rowOf("local"));
    expect(local.queryByRole("button", { name: "Remove" })).toBeNull();
    expect(local.queryByRole("button", { name: "Set key" })).toBeNull();
    expect(local.getByRole("button", { name: "Test" })).toBeTruthy();
    const other = within(await rowOf("studio-gpus"));
    expect(other.getByRole("button", { name: "Remove" })).toBeTruthy();
    expect(other.getByRole("button", { name: "Set key" })).toBeTruthy();
  });
});

describe("AccountsScreen: adding an account", () => {
  it("starts from the provider's default base URL and lists every provider with its hint", async () => {
    renderScreen();
    await fireEvent.click(await screen.findByRole("button", { name: "Add account" }));
    const url = screen.getByLabelText("Base URL") as HTMLInputElement;
    expect(url.value).toBe("https://api.comfydeploy.com/api");
    const key = screen.getByLabelText("API key") as HTMLInputElement;
    expect(key.type).toBe("password");
    expect(key.getAttribute("autocomplete")).toBe("off");
    expect(document.activeElement).toBe(screen.getByLabelText("Name"));

    const select = screen.getByLabelText("Provider") as HTMLSelectElement;
    const options = [...select.options].map((o) => [o.value, o.disabled, o.textContent?.trim()]);
    expect(options).toEqual([
      ["comfy_deploy", false, "ComfyDeploy — cloud GPUs"],
      ["portholed", false, "portholed — your own server"],
      ["ibm_quantum", false, "IBM Quantum — QPU sessions"],
      ["airplane", false, "Airplane — runbook sessions"],
    ]);

    // A portholed is paired by default; its address and key are the other way.
    await fireEvent.change(select, { target: { value: "portholed" } });
    expect(screen.queryByLabelText("Base URL")).toBeNull();
    await fireEvent.click(screen.getByLabelText("Enter address and key"));
    const portholedUrl = screen.getByLabelText("Base URL") as HTMLInputElement;
    expect(portholedUrl.value).toBe("");
    expect(portholedUrl.placeholder).toBe("http://gpu-box:7788/api");
    await fireEvent.change(select, { target: { value: "comfy_deploy" } });
    expect(portholedUrl.value).toBe("https://api.comfydeploy.com/api");

    await type("Base URL", "https://comfy.example/api");
    await fireEvent.change(select, { target: { value: "portholed" } });
    expect(portholedUrl.value).toBe("https://comfy.example/api");
  });

  it("shows progress while the key is checked, then lists the new account and clears the form", async () => {
    const { backend } = renderScreen({ delayMs: 30 });
    await fillAddForm("Studio GPUs", "cd_live_secret");
    await submitAddForm();

    const form = screen.getByRole("form", { name: "Add an account" });
    expect(form.getAttribute("aria-busy")).toBe("true");
    expect(screen.getByTestId("add-account-form-progress").textContent).toContain(
      "Checking the key with the provider…",
    );
    expect((screen.getByTestId("add-account-form-submit") as HTMLButtonElement).disabled).toBe(true);

    const row = await screen.findByText("Studio GPUs", { selector: "h3" });
    expect(screen.queryByTestId("add-account")).toBeNull();
    expect(ids()).toEqual(["local", "studio-gpus"]);
    const added = await rowOf("studio-gpus");
    expect(added.contains(row)).toBe(true);
    expect(within(added).getByTestId("key-badge").textContent?.trim()).toBe("Key set");
    expect(within(added).getByTestId("account-base-url").textContent).toBe(
      "https://api.comfydeploy.com/api",
    );
    expect(screen.getByTestId("accounts-notice").textContent).toContain("Added Studio GPUs");
    expect(document.body.innerHTML).not.toContain("cd_live_secret");
    expect(backend.accountCalls).toContain("addAccount");

    // A new form starts empty: the key is not kept anywhere.
    await fireEvent.click(screen.getByRole("button", { name: "Add account" }));
    expect((screen.getByLabelText("API key") as HTMLInputElement).value).toBe("");
    expect((screen.getByLabelText("Name") as HTMLInputElement).value).toBe("");
  });

  it("shows a refused key as `unauthorized` and keeps everything the user typed", async () => {
    renderScreen();
    await fillAddForm("Studio GPUs", "wrong");
    await type("Base URL", "https://api.comfydeploy.com/api/");
    await submitAddForm();

    const error = await screen.findByTestId("add-account-form-error");
    expect(error.getAttribute("role")).toBe("alert");
    expect(error.dataset.code).toBe("unauthorized");
    expect(error.textContent).toContain("The key was rejected");
    expect(error.textContent).toContain(MOCK_REJECTED_KEY_MESSAGE);
    expect(error.textContent).toContain("unauthorized");

    const key = screen.getByLabelText("API key") as HTMLInputElement;
    expect(key.value).toBe("wrong");
    expect((screen.getByLabelText("Name") as HTMLInputElement).value).toBe("Studio GPUs");
    expect((screen.getByLabelText("Base URL") as HTMLInputElement).value).toBe(
      "https://api.comfydeploy.com/api/",
    );
    expect(key.getAttribute("aria-invalid")).toBe("true");
    expect(key.getAttribute("aria-describedby")).toContain(error.id);
    await waitFor(() => expect(document.activeElement).toBe(key));
    expect(document.body.innerHTML).not.toContain('value="wrong"');
    expect(ids()).toEqual(["local"]);

    // Fixing the key and submitting again adds the account.
    await type("API key", "right");
    await submitAddForm();
    await rowOf("studio-gpus");
    expect(screen.queryByTestId("add-account-form-error")).toBeNull();
  });

  it("names an unreachable provider and a duplicate name with their codes", async () => {
    renderScreen({ accounts: MOCK_DEMO_ACCOUNTS });
    await fillAddForm("Box", "key");
    await type("Base URL", "http://unreachable.example:7788/api");
    await submitAddForm();
    const unreachable = await screen.findByTestId("add-account-form-error");
    expect(unreachable.dataset.code).toBe("upstream_unavailable");
    await waitFor(() => expect(document.activeElement).toBe(screen.getByLabelText("Base URL")));

    await type("Name", "studio gpus");
    await type("Base URL", "https://api.comfydeploy.com/api");
    await submitAddForm();
    await waitFor(() =>
      expect(screen.getByTestId("add-account-form-error").dataset.code).toBe("invalid_input"),
    );
    expect(screen.getByTestId("add-account-form-error").textContent).toContain("exists already");
  });

  it("Escape cancels the form without adding anything", async () => {
    const { backend } = renderScreen();
    await fillAddForm("Nope", "secret");
    await fireEvent.keyDown(screen.getByLabelText("API key"), { key: "Escape" });
    expect(screen.queryByTestId("add-account")).toBeNull();
    expect(backend.accountCalls).not.toContain("addAccount");
    await waitFor(() =>
      expect(document.activeElement).toBe(screen.getByRole("button", { name: "Add account" })),
    );
  });
});

describe("AccountsScreen: account actions", () => {
  it("removes an account only after a confirmation that says the key is deleted", async () => {
    const { backend } = renderScreen({ accounts: MOCK_DEMO_ACCOUNTS });
    const row = within(await rowOf("studio-gpus"));
    await fireEvent.click(row.getByRole("button", { name: "Remove" }));

    const confirm = screen.getByRole("form", { name: "Remove Studio GPUs" });
    expect(confirm.textContent).toContain("API key is deleted from the OS keychain");
    expect(document.activeElement?.textContent).toBe("Cancel");
    expect(backend.accountCalls).not.toContain("removeAccount studio-gpus");

    await fireEvent.click(within(confirm).getByRole("button", { name: "Cancel" }));
    expect(screen.queryByRole("form", { name: "Remove Studio GPUs" })).toBeNull();
    expect(ids()).toContain("studio-gpus");

    await fireEvent.click(row.getByRole("button", { name: "Remove" }));
    await fireEvent.click(screen.getByRole("button", { name: "Remove account" }));
    await waitFor(() => expect(ids()).toEqual(["local", "gpu-box", "old-team"]));
    expect(backend.accountCalls).toContain("removeAccount studio-gpus");
    expect(screen.getByTestId("accounts-notice").textContent).toContain("Removed Studio GPUs");
    await waitFor(() => expect(document.activeElement?.textContent).toBe("Accounts"));
  });

  it("tests a key: Checking…, then Key works or the coded reason", async () => {
    renderScreen({ accounts: MOCK_DEMO_ACCOUNTS, delayMs: 20 });
    const good = within(await rowOf("studio-gpus"));
    await fireEvent.click(good.getByRole("button", { name: "Test" }));
    expect(good.getByTestId("account-status").textContent?.trim()).toBe("Checking…");
    await waitFor(() => expect(good.getByTestId("account-status").textContent?.trim()).toBe("Key works"));

    const revoked = within(await rowOf("old-team"));
    await fireEvent.click(revoked.getByRole("button", { name: "Test" }));
    const error = await revoked.findByTestId("account-error");
    expect(error.dataset.code).toBe("unauthorized");
    expect(error.textContent).toContain(MOCK_REJECTED_KEY_MESSAGE);

    const missing = within(await rowOf("gpu-box"));
    await fireEvent.click(missing.getByRole("button", { name: "Test" }));
    expect((await missing.findByTestId("account-error")).textContent).toContain("No key is stored");
  });

  it("sets a missing key, keeping a refused one in the field", async () => {
    renderScreen({ accounts: MOCK_DEMO_ACCOUNTS });
    const row = within(await rowOf("gpu-box"));
    await fireEvent.click(row.getByRole("button", { name: "Set key" }));
    const field = row.getByLabelText("New API key") as HTMLInputElement;
    expect(field.type).toBe("password");
    expect(document.activeElement).toBe(field);

    await fireEvent.input(field, { target: { value: "bad-key" } });
    await fireEvent.submit(row.getByRole("form", { name: "Set the API key of gpu-box" }));
    expect((await row.findByTestId("set-key-form-error")).dataset.code).toBe("unauthorized");
    expect(field.value).toBe("bad-key");

    await fireEvent.input(field, { target: { value: "good-key" } });
    await fireEvent.submit(row.getByRole("form", { name: "Set the API key of gpu-box" }));
    await waitFor(() => expect(row.getByTestId("key-badge").textContent?.trim()).toBe("Key set"));
    expect(row.queryByLabelText("New API key")).toBeNull();
    await waitFor(() =>
      expect(row.getByTestId("account-status").textContent).toContain("Key saved"),
    );
  });

  it("renames inline, refusing a name that is taken", async () => {
    renderScreen({ accounts: MOCK_DEMO_ACCOUNTS });
    const row = within(await rowOf("studio-gpus"));
    await fireEvent.click(row.getByRole("button", { name: "Rename" }));
    const field = row.getByLabelText("Name") as HTMLInputElement;
    expect(field.value).toBe("Studio GPUs");

    await fireEvent.input(field, { target: { value: "Local" } });
    await fireEvent.submit(row.getByRole("form", { name: "Rename Studio GPUs" }));
    expect((await row.findByTestId("rename-form-error")).dataset.code).toBe("invalid_input");

    await fireEvent.input(field, { target: { value: "Render farm" } });
    await fireEvent.submit(row.getByRole("form", { name: "Rename Studio GPUs" }));
    await waitFor(() => expect(row.getByRole("heading").textContent).toBe("Render farm"));
    expect(row.queryByRole("form")).toBeNull();
    await waitFor(() => expect(document.activeElement?.textContent).toBe("Rename"));
  });

  it("moves the Default marker to the account made default", async () => {
    renderScreen({ accounts: MOCK_DEMO_ACCOUNTS });
    const studio = within(await rowOf("studio-gpus"));
    await fireEvent.click(studio.getByRole("button", { name: "Make default" }));
    await waitFor(() => expect(studio.queryByTestId("account-default")).not.toBeNull());
    expect(within(await rowOf("local")).queryByTestId("account-default")).toBeNull();
    expect(studio.queryByRole("button", { name: "Make default" })).toBeNull();
    expect(screen.getAllByTestId("account-default")).toHaveLength(1);
  });
});
