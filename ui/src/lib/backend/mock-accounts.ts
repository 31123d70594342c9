// The mock's accounts: an in-memory stand-in for `accounts.json`, the keychain and the providers,
// following the Rust rules (porthole-core `AccountStore`, porthole-providers `Accounts`).
import {
  type Account,
  type AccountChanges,
  type AccountView,
  BackendError,
  type KeyState,
  LOCAL_ACCOUNT_ID,
  type NewAccount,
} from "./types";
import { PROVIDERS } from "./providers";

/** A mock account, and what its keychain entry holds: a working key, none, or a revoked one. */
export interface MockAccountSeed {
  account: Account;
  key: "set" | "missing" | "revoked";
}

export const MOCK_LOCAL_ACCOUNT: Account = {
  id: LOCAL_ACCOUNT_ID,
  name: "Local",
  provider: "portholed",
  base_url: "http://127.0.0.1:7788/api",
  fields: {},
};

/** Accounts for `?mock-accounts=demo`: one that works, one without its key, one revoked. */
export const MOCK_DEMO_ACCOUNTS: MockAccountSeed[] = [
  {
    account: {
      id: "studio-gpus",
      name: "Studio GPUs",
      provider: "comfy_deploy",
      base_url: "https://api.comfydeploy.com/api",
      fields: {},
    },
    key: "set",
  },
  {
    account: {
      id: "gpu-box",
      name: "gpu-box",
      provider: "portholed",
      base_url: "http://gpu-box:7788/api",
      fields: {},
    },
    key: "missing",
  },
  {
    account: {
      id: "old-team",
      name: "Old team",
      provider: "comfy_deploy",
      base_url: "https://api.comfydeploy.com/api",
      fields: {},
    },
    key: "revoked",
  },
];

/** What a provider answers to a key that does not work. */
export const MOCK_REJECTED_KEY_MESSAGE =
  "The provider rejected the API key (401): Invalid or expired token";

function invalid(message: string): BackendError {
  return new BackendError("invalid_input", message);
}

/** A key the mock providers refuse: "wrong", or anything starting with "bad". */
export function isRejectedKey(key: string): boolean {
  const k = key.trim();
  return k === "wrong" || k.startsWith("bad");
}

/** What reaching a provider at `baseUrl` answers: refused when it names an "unreachable" host. */
export function checkReachable(baseUrl: string): void {
  if (baseUrl.includes("unreachable")) {
    throw new BackendError(
      "upstream_unavailable",
      `Cannot reach ${baseUrl}: connection refused. Check the address and your network.`,
    );
  }
}

function sameName(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

function validName(name: string): string {
  const trimmed = name.trim();
  if (trimmed === "") throw invalid("Give the account a name.");
  if ([...trimmed].length > 64 || /[\u0000-\u001f\u007f]/.test(trimmed)) {
    throw invalid("An account name is at most 64 characters, without control characters.");
  }
  return trimmed;
}

function validBaseUrl(url: string): string {
  const trimmed = url.trim().replace(/\/+$/, "");
  const ok =
    /^https?:\/\//.test(trimmed) && trimmed.length > "https://".length && !/\s/.test(trimmed);
  if (!ok) throw invalid(`"${trimmed}" is not a base URL: it must start with http:// or https://.`);
  return trimmed;
}

/** A readable id from the name (`my-gpus`), with a number added if taken. */
function uniqueId(taken: string[], name: string): string {
  let base = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
  if (base === "" || base === LOCAL_ACCOUNT_ID) base = "account";
  let id = base;
  for (let n = 2; taken.includes(id); n++) id = `${base}-${n}`;
  return id;
}

export class MockAccounts {
  #accounts: MockAccountSeed[];
  #defaultId: string;
  /** When set, the keychain cannot be used, for this reason. */
  keychainError: string | undefined;

  constructor(seeds: MockAccountSeed[] = [], defaultId = LOCAL_ACCOUNT_ID) {
    this.#accounts = [
      { account: structuredClone(MOCK_LOCAL_ACCOUNT), key: "set" },
      ...structuredClone(seeds).filter((s) => s.account.id !== LOCAL_ACCOUNT_ID),
    ];
    this.#defaultId = defaultId;
  }

  list(): AccountView[] {
    return this.#accounts.map((entry) => this.#view(entry));
  }

  /** The name and base URL a new account would have, trimmed; throws what Rust's
   * `AccountStore::check_new` answers (a bad or taken name, a bad URL). */
  checkNew(name: string, baseUrl: string): { name: string; baseUrl: string } {
    const valid = { name: validName(name), baseUrl: validBaseUrl(baseUrl) };
    if (this.#find(valid.name)) {
      throw invalid(`An account named "${valid.name}" exists already. Choose another name.`);
    }
    return valid;
  }

  add(input: NewAccount): AccountView {
    if (input.key.trim() === "") throw invalid("Paste the account's API key.");
    const { name, baseUrl } = this.checkNew(input.name, input.base_url);
    const account: Account = {
      id: uniqueId(
        this.#accounts.map((e) => e.account.id),
        name,
      ),
      name,
      provider: input.provider,
      base_url: baseUrl,
      fields: { ...(input.fields ?? {}) },
    };
    this.#checkKey(account, input.key);
    this.#checkKeychain();
    const entry: MockAccountSeed = { account, key: "set" };
    this.#accounts.push(entry);
    return this.#view(entry);
  }

  setKey(id: string, key: string): AccountView {
    const entry = this.#get(id);
    if (entry.account.id === LOCAL_ACCOUNT_ID) {
      throw invalid("The Local account's key is managed by portholed itself.");
    }
    if (key.trim() === "") throw invalid("Paste the account's API key.");
    this.#checkKey(entry.account, key);
    this.#checkKeychain();
    entry.key = "set";
    return this.#view(entry);
  }

  edit(id: string, changes: AccountChanges): AccountView {
    const name = changes.name === undefined ? undefined : validName(changes.name);
    const baseUrl = changes.baseUrl === undefined ? undefined : validBaseUrl(changes.baseUrl);
    const entry = this.#get(id);
    if (
      name !== undefined &&
      this.#accounts.some((e) => e !== entry && sameName(e.account.name, name))
    ) {
      throw invalid(`An account named "${name}" exists already. Choose another name.`);
    }
    if (name !== undefined) entry.account.name = name;
    if (baseUrl !== undefined) entry.account.base_url = baseUrl;
    return this.#view(entry);
  }

  remove(id: string): void {
    const entry = this.#get(id);
    if (entry.account.id === LOCAL_ACCOUNT_ID) {
      throw invalid("The Local account is built in and cannot be removed.");
    }
    this.#checkKeychain();
    this.#accounts = this.#accounts.filter((e) => e !== entry);
    if (this.#defaultId === entry.account.id) this.#defaultId = LOCAL_ACCOUNT_ID;
  }

  test(id: string): void {
    const entry = this.#get(id);
    if (entry.account.id === LOCAL_ACCOUNT_ID) return;
    this.#checkSupported(entry.account);
    this.#checkKeychain();
    if (entry.key === "missing") {
      const name = entry.account.name;
      throw new BackendError(
        "unauthorized",
        `No key is stored for ${name}. Set it again with \`porthole accounts add\` or in the ` +
          `Accounts screen (account "${name}").`,
      );
    }
    checkReachable(entry.account.base_url);
    if (entry.key === "revoked") throw new BackendError("unauthorized", MOCK_REJECTED_KEY_MESSAGE);
  }

  setDefault(id: string): AccountView {
    const entry = this.#get(id);
    this.#defaultId = entry.account.id;
    return this.#view(entry);
  }

  #view(entry: MockAccountSeed): AccountView {
    const { account } = entry;
    let key: KeyState;
    if (account.id === LOCAL_ACCOUNT_ID) key = { state: "builtin" };
    else if (this.keychainError !== undefined) {
      key = { state: "keychain_unavailable", message: this.keychainError };
    } else key = { state: entry.key === "missing" ? "missing" : "set" };
    return { account: structuredClone(account), key, is_default: account.id === this.#defaultId };
  }

  #find(idOrName: string): MockAccountSeed | undefined {
    return (
      this.#accounts.find((e) => e.account.id === idOrName) ??
      this.#accounts.find((e) => sameName(e.account.name, idOrName))
    );
  }

  #get(idOrName: string): MockAccountSeed {
    const entry = this.#find(idOrName);
    if (!entry) {
      throw invalid(`There is no account "${idOrName}". \`porthole accounts list\` shows them.`);
    }
    return entry;
  }

  #checkKeychain(): void {
    if (this.keychainError !== undefined) {
      throw new BackendError("keychain_unavailable", this.keychainError);
    }
  }

  #checkSupported(account: Account): void {
    const { supported, label } = PROVIDERS[account.provider];
    if (!supported) throw invalid(`${label} accounts are not supported by this version of Porthole yet.`);
  }

  /** What the provider says to `key`, like the cheap authenticated call Rust makes. */
  #checkKey(account: Account, key: string): void {
    this.#checkSupported(account);
    checkReachable(account.base_url);
    if (isRejectedKey(key)) throw new BackendError("unauthorized", MOCK_REJECTED_KEY_MESSAGE);
  }
}
