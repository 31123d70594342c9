// The mock's pairing: a stand-in for the portholed servers that pairing strings name (porthole-
// providers `pair`: a token is good once), for the pairing a `porthole://pair` link offers (the
// app's `AppState::offer_pairing`), and for reading a pairing string as porthole-local
// `Pairing::parse` does (`read_pairing`), with the Rust side's messages. The UI reads none itself.
import { checkReachable, type MockAccounts } from "./mock-accounts";
import { PAIRING_LINK_PREFIX, PAIRING_PREFIX, TLS_FINGERPRINT_FIELD } from "./pairing";
import { type AccountView, BackendError, type PairingOffered } from "./types";

/** What a pairing string carries. */
export interface PairingParts {
  /** `https://HOST:PORT/api`. */
  base_url: string;
  /** `sha256:` and 64 lowercase hex digits. */
  fingerprint: string;
  /** The one-time token: never shown, never logged. */
  token: string;
}

/** Where the mock's pairing strings lead unless told otherwise. */
export const MOCK_PAIRING_BASE_URL = "https://gpu-box.lan:7788/api";

/** The certificate fingerprint the mock's pairing strings carry unless told otherwise. */
export const MOCK_PAIRING_FINGERPRINT =
  "sha256:3f7a9c1e5b2d4086a1c3e5f7092b4d6f8a0c2e4f6a8b0d2f4e6a8c0b2d4f6e8a";

/** What a server answers to a pairing string used already, or older than ten minutes. */
export const MOCK_PAIRING_REFUSED_MESSAGE =
  "The server refused the pairing string: it was used already or is more than ten minutes old. " +
  "Run `portholed pair` there again for a new one.";

/** What `pair_account` answers when no pairing is offered and none is pasted. */
export const MOCK_NO_PAIRING_MESSAGE =
  "No pairing is waiting: paste the string `portholed pair` printed.";

let tokens = 0;

/** A pairing string as `portholed pair` prints it, a fresh token each time (tests, the demo). */
export function mockPairingString(parts: Partial<PairingParts> = {}): string {
  tokens += 1;
  return encodePairing({
    base_url: MOCK_PAIRING_BASE_URL,
    fingerprint: MOCK_PAIRING_FINGERPRINT,
    token: `mock-token-${tokens}`,
    ...parts,
  });
}

/** The pairing string of `parts`, as porthole-local `Pairing::encode` writes it. */
export function encodePairing(parts: PairingParts): string {
  const bytes = new TextEncoder().encode(`${parts.base_url}\n${parts.fingerprint}\n${parts.token}`);
  const b64 = btoa(String.fromCharCode(...bytes));
  return PAIRING_PREFIX + b64.replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** The fingerprint as `sha256:` and 64 lowercase hex digits, from the spellings Rust's
 * `Fingerprint::parse` accepts (with or without the prefix, either case, `:` between bytes);
 * null when it is not one. */
function normalFingerprint(text: string): string | null {
  const trimmed = text.trim();
  const bare = trimmed.startsWith("sha256:") || trimmed.startsWith("SHA256:") ? trimmed.slice(7) : trimmed;
  const hex = bare.replaceAll(":", "");
  return /^[0-9a-fA-F]{64}$/.test(hex) ? `sha256:${hex.toLowerCase()}` : null;
}

function decodeBase64Url(text: string): string | null {
  const bare = text.replace(/=+$/, "");
  if (!/^[A-Za-z0-9_-]*$/.test(bare) || bare.length % 4 === 1) return null;
  const b64 = bare.replaceAll("-", "+").replaceAll("_", "/");
  try {
    const binary = atob(b64.padEnd(Math.ceil(b64.length / 4) * 4, "="));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

/** Reads a pairing string or link as pasted (surrounding space and quotes ignored), refusing as
 * porthole-local `Pairing::parse` does, in its words. Never echoes what it was given: it holds a
 * token. */
export function readPairing(text: string): PairingParts {
  const refuse = (why: string) =>
    new BackendError(
      "invalid_input",
      `That is not a pairing string: ${why}. Run \`portholed pair\` on the server and ` +
        "paste the whole line it prints (porthole-pair:v1:…), or open its porthole://pair link.",
    );
  const trimmed = text.trim().replace(/^["']+|["']+$/g, "");
  const code = trimmed.startsWith(PAIRING_LINK_PREFIX)
    ? trimmed.slice(PAIRING_LINK_PREFIX.length).split("&")[0]
    : trimmed;
  if (!code.startsWith(PAIRING_PREFIX)) throw refuse("it does not start with porthole-pair:v1:");
  const body = decodeBase64Url(code.slice(PAIRING_PREFIX.length));
  // As Rust's `str::lines`: one final line break ends the last line rather than starting one.
  const lines = body?.replace(/\r?\n$/, "").split(/\r?\n/);
  if (!lines || lines.length !== 3) throw refuse("it is cut or altered");
  const [base_url, rawFingerprint, token] = lines;
  if (!base_url.startsWith("https://")) throw refuse("its server address is not https");
  if (token.trim() === "") throw refuse("it carries no token");
  const fingerprint = normalFingerprint(rawFingerprint);
  if (!fingerprint) throw refuse("its fingerprint is cut");
  return { base_url, fingerprint, token };
}

/** Where `parts` leads, as the Rust side tells the window (`PairingOffered::of`): no token. */
function offerOf(parts: PairingParts): PairingOffered {
  return { base_url: parts.base_url, fingerprint: parts.fingerprint };
}

/** What a mock server answers as its token is redeemed: its certificate is not the one in the
 * string when its host says "mismatch"; it refuses a token it has seen. */
function redeem(parts: PairingParts, used: Set<string>): void {
  checkReachable(parts.base_url);
  if (parts.base_url.includes("mismatch")) {
    const host = new URL(parts.base_url).host;
    throw new BackendError(
      "certificate_mismatch",
      `${host} presented a certificate other than the one this account was paired with ` +
        `(paired ${parts.fingerprint.slice(7, 15)}…, presented 0badc0de…), so nothing was ` +
        "sent to it. Another server may be answering " +
        "at that address. If the server was reinstalled or its certificate replaced, run " +
        "`portholed pair` there and pair again.",
    );
  }
  if (used.has(parts.token)) throw new BackendError("unauthorized", MOCK_PAIRING_REFUSED_MESSAGE);
  used.add(parts.token);
}

export class MockPairing {
  readonly #accounts: MockAccounts;
  /** The tokens the mock servers have redeemed: each works once. */
  readonly #used = new Set<string>();
  #offered: PairingParts | null = null;
  #listeners = new Set<(offer: PairingOffered) => void>();

  constructor(accounts: MockAccounts) {
    this.#accounts = accounts;
  }

  /** As a `porthole://pair` link does: keeps its pairing (a bad one is refused, and nothing
   * offered) and tells the window where it leads. */
  offer(link: string): void {
    this.#offered = readPairing(link);
    const offer = this.offered();
    if (offer) for (const listener of this.#listeners) listener(offer);
  }

  offered(): PairingOffered | null {
    return this.#offered && offerOf(this.#offered);
  }

  /** Where a pasted pairing string leads (`read_pairing`); its token is not spent. */
  read(pairing: string): PairingOffered {
    return offerOf(readPairing(pairing));
  }

  dismiss(): void {
    this.#offered = null;
  }

  subscribe(listener: (offer: PairingOffered) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Adds the portholed `pairing` names (the offered one when null) as `name`, its fingerprint
   * kept in the account's fields; the offer is forgotten once an account was added. */
  pair(name: string, pairing: string | null): AccountView {
    const parts = pairing === null ? this.#offered : readPairing(pairing);
    if (!parts) throw new BackendError("invalid_input", MOCK_NO_PAIRING_MESSAGE);
    // The name and address first: a string is spent when redeemed.
    this.#accounts.checkNew(name, parts.base_url);
    redeem(parts, this.#used);
    const added = this.#accounts.add({
      name,
      provider: "portholed",
      base_url: parts.base_url,
      key: `paired-${parts.token}`,
      fields: { [TLS_FINGERPRINT_FIELD]: parts.fingerprint },
    });
    this.#offered = null;
    return added;
  }
}
