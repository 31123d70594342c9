import { expect, type Locator, type Page, test } from "@playwright/test";
import { collectErrors, tabTo } from "./helpers";

/** Opens the Accounts screen from the header, with the keyboard only. */
async function openAccounts(page: Page, query = ""): Promise<void> {
  await page.goto(`/${query}`);
  const accounts = page.getByRole("navigation", { name: "Screens" }).getByRole("button", {
    name: "Accounts",
  });
  await tabTo(page, accounts);
  await page.keyboard.press("Enter");
  await expect(accounts).toHaveAttribute("aria-current", "page");
  await expect(page.getByTestId("account-list")).toBeVisible();
}

function row(page: Page, id: string): Locator {
  return page.locator(`[data-testid="account-row"][data-account-id="${id}"]`);
}

test("keyboard: the header switches to Accounts, which lists the built-in Local account", async ({
  page,
}) => {
  const errors = collectErrors(page);
  await openAccounts(page);

  const sessions = page.getByRole("button", { name: "Sessions" });
  await expect(sessions).not.toHaveAttribute("aria-current", "page");
  await expect(page.getByRole("heading", { name: "Accounts", level: 2 })).toBeVisible();
  await expect(page.getByTestId("session-list")).toHaveCount(0);

  const local = row(page, "local");
  await expect(local.getByTestId("account-name")).toHaveText("Local");
  await expect(local.getByTestId("key-badge")).toHaveText("Built in");
  await expect(local.getByTestId("account-default")).toHaveText("Default");
  await expect(local.getByRole("button", { name: "Remove" })).toHaveCount(0);

  await sessions.focus();
  await page.keyboard.press("Space");
  await expect(sessions).toHaveAttribute("aria-current", "page");
  await expect(page.getByTestId("session-list-empty")).toBeVisible();
  expect(errors).toEqual([]);
});

test("keyboard: add an account, with progress while its key is checked", async ({ page }) => {
  const errors = collectErrors(page);
  await openAccounts(page, "?mock-delay=600");

  const open = page.getByRole("button", { name: "Add account" });
  await tabTo(page, open);
  await page.keyboard.press("Enter");

  // Focus starts in the Name field; the base URL comes from the provider.
  await expect(page.getByLabel("Name")).toBeFocused();
  await page.keyboard.type("Studio GPUs");
  await expect(page.getByLabel("Base URL")).toHaveValue("https://api.comfydeploy.com/api");
  const key = page.getByLabel("API key");
  await expect(key).toHaveAttribute("type", "password");
  await tabTo(page, key);
  await page.keyboard.type("cd_live_secret");
  await page.keyboard.press("Enter");

  const form = page.getByRole("form", { name: "Add an account" });
  await expect(form).toHaveAttribute("aria-busy", "true");
  await expect(page.getByTestId("add-account-form-progress")).toHaveText(
    "Checking the key with the provider…",
  );
  await expect(page.getByTestId("add-account-form-submit")).toBeDisabled();

  const added = row(page, "studio-gpus");
  await expect(added.getByTestId("account-name")).toHaveText("Studio GPUs");
  await expect(added.getByTestId("key-badge")).toHaveText("Key set");
  await expect(form).toHaveCount(0);
  await expect(page.getByTestId("accounts-notice")).toContainText("Added Studio GPUs");
  await expect(open).toBeFocused();
  expect(await page.content()).not.toContain("cd_live_secret");
  expect(errors).toEqual([]);
});

test("a wrong key is refused with its code, and what was typed stays to be fixed", async ({
  page,
}) => {
  await openAccounts(page);
  await page.getByRole("button", { name: "Add account" }).click();
  await page.getByLabel("Name").fill("Studio GPUs");
  await page.getByLabel("API key").fill("wrong");
  await page.getByLabel("API key").press("Enter");

  const error = page.getByTestId("add-account-form-error");
  await expect(error).toHaveAttribute("role", "alert");
  await expect(error).toContainText("The key was rejected");
  await expect(error).toContainText(
    "The provider rejected the API key (401): Invalid or expired token",
  );
  await expect(error.locator("code")).toHaveText("unauthorized");
  await expect(page.getByLabel("Name")).toHaveValue("Studio GPUs");
  await expect(page.getByLabel("API key")).toHaveValue("wrong");
  await expect(page.getByLabel("API key")).toBeFocused();
  await expect(page.getByLabel("API key")).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByTestId("account-row")).toHaveCount(1);

  await page.keyboard.press("ControlOrMeta+a");
  await page.keyboard.type("right");
  await page.keyboard.press("Enter");
  await expect(row(page, "studio-gpus")).toBeVisible();
  await expect(error).toHaveCount(0);
});

test("Escape cancels the Add account form", async ({ page }) => {
  await openAccounts(page);
  await page.getByRole("button", { name: "Add account" }).click();
  await page.getByLabel("Name").fill("Never mind");
  await page.keyboard.press("Escape");
  await expect(page.getByTestId("add-account")).toHaveCount(0);
  await expect(page.getByTestId("account-row")).toHaveCount(1);
  await expect(page.getByRole("button", { name: "Add account" })).toBeFocused();
});

test("remove an account after a confirmation naming what happens to its key", async ({ page }) => {
  await openAccounts(page, "?mock-accounts=demo");
  const studio = row(page, "studio-gpus");
  await studio.getByRole("button", { name: "Remove" }).click();

  const confirm = page.getByRole("form", { name: "Remove Studio GPUs" });
  await expect(confirm).toContainText("Its API key is deleted from the OS keychain");
  await expect(confirm.getByRole("button", { name: "Cancel" })).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(confirm).toHaveCount(0);
  await expect(studio).toBeVisible();

  await studio.getByRole("button", { name: "Remove" }).click();
  await confirm.getByRole("button", { name: "Remove account" }).click();
  await expect(studio).toHaveCount(0);
  await expect(page.getByTestId("accounts-notice")).toContainText("Removed Studio GPUs");
  await expect(page.getByTestId("account-row")).toHaveCount(3);
});

test("Test checks a key and shows the coded reason when it no longer works", async ({ page }) => {
  await openAccounts(page, "?mock-accounts=demo&mock-delay=300");
  const studio = row(page, "studio-gpus");
  await studio.getByRole("button", { name: "Test" }).click();
  await expect(studio.getByTestId("account-status")).toHaveText("Checking…");
  await expect(studio.getByTestId("account-status")).toHaveText("Key works");

  const old = row(page, "old-team");
  await old.getByRole("button", { name: "Test" }).click();
  await expect(old.getByTestId("account-error").locator("code")).toHaveText("unauthorized");
});

test("an unusable keychain shows on every account but Local", async ({ page }) => {
  await openAccounts(page, "?mock-keychain=keychain_unavailable&mock-accounts=demo");
  await expect(row(page, "studio-gpus").getByTestId("key-badge")).toHaveText(
    "Keychain unavailable: No Secret Service provider is running on the session bus.",
  );
  await expect(row(page, "gpu-box").getByTestId("key-badge")).toContainText(
    "Keychain unavailable",
  );
  await expect(row(page, "local").getByTestId("key-badge")).toHaveText("Built in");
  await expect(row(page, "gpu-box").getByTestId("key-badge")).toHaveAttribute(
    "data-state",
    "keychain_unavailable",
  );
});

test("keyboard: a pairing a link offered opens on Accounts, to name and pair", async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto("/?mock-pairing-offered=1");

  const accounts = page.getByRole("navigation", { name: "Screens" }).getByRole("button", {
    name: "Accounts",
  });
  await expect(accounts).toHaveAttribute("aria-current", "page");
  const form = page.getByRole("form", { name: "Pair with a server" });
  await expect(page.getByTestId("pair-offer-address")).toHaveText("https://gpu-box.lan:7788/api");
  await expect(page.getByTestId("pair-offer-fingerprint")).toHaveAttribute("title", /^sha256:[0-9a-f]{64}$/);
  const name = form.getByLabel("Name");
  await expect(name).toBeFocused();
  await expect(name).toHaveValue("gpu-box.lan");
  await page.keyboard.press("Enter");

  await expect(row(page, "gpu-box-lan").getByTestId("account-name")).toHaveText("gpu-box.lan");
  await expect(form).toHaveCount(0);
  await expect(page.getByTestId("accounts-notice")).toContainText("Paired with gpu-box.lan");
  expect(errors).toEqual([]);
});

test("keyboard: a pasted pairing string shows where it leads, read by the backend, then pairs", async ({
  page,
}) => {
  const errors = collectErrors(page);
  // Every backend answer takes a while: the preview comes when the read answers.
  await openAccounts(page, "?mock-delay=300");
  await page.getByRole("button", { name: "Add account" }).click();
  await page.getByLabel("Provider").selectOption("portholed");
  const body = `https://render-box:7788/api\nsha256:${"ab".repeat(32)}\ne2e-token-1`;
  const text = `porthole-pair:v1:${Buffer.from(body).toString("base64url")}`;

  const field = page.getByLabel("Pairing string", { exact: true });
  await field.focus();
  await page.keyboard.insertText(`${text}!`);
  await expect(page.getByTestId("add-account-pairing-why")).toContainText(
    "That is not a pairing string: it is cut or altered.",
  );
  await page.keyboard.press("Backspace");
  await expect(page.getByTestId("add-account-pairing-why")).toHaveCount(0);
  await expect(page.getByTestId("add-account-pairing-preview")).toContainText(
    "Pairs with https://render-box:7788/api",
  );
  await expect(page.getByLabel("Name")).toHaveValue("render-box");
  await page.keyboard.press("Enter");

  await expect(row(page, "render-box").getByTestId("account-name")).toHaveText("render-box");
  await expect(page.getByTestId("accounts-notice")).toContainText("Paired with render-box");
  expect(await page.content()).not.toContain("e2e-token-1");
  expect(errors).toEqual([]);
});
