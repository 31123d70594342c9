// What the UI knows of pairing strings (`porthole-pair:v1:…`, or a `porthole://pair?code=…`
// link), besides what the backend tells: only how one begins, to send one pasted where a key or
// an address goes to pairing instead. Reading one (where it leads, or why it is none) is the Rust
// side's (`Backend.readPairing`, porthole-local `Pairing::parse`); the mock imitates it in
// `mock-pairing.ts`.

import type { ProviderDescriptor } from "./types";

/** How a pairing string begins (porthole-local `pairing::PREFIX`). */
export const PAIRING_PREFIX = "porthole-pair:v1:";
/** How a pairing link begins, before its string (porthole-local `pairing::LINK_PREFIX`). */
export const PAIRING_LINK_PREFIX = "porthole://pair?code=";

/** The account setting that keeps a paired server's certificate fingerprint (porthole-core
 * `TLS_FINGERPRINT_FIELD`). */
export const TLS_FINGERPRINT_FIELD = "tls_fingerprint";

/** Whether accounts of `provider` can be added by pairing: its descriptor keeps a paired
 * server's certificate among its settings (a portholed's does). */
export function pairsWith(provider: ProviderDescriptor): boolean {
  return provider.account_fields.some((field) => field.key === TLS_FINGERPRINT_FIELD);
}

/** Whether `text` looks like a pairing string or link (porthole-local `Pairing::looks_like`): what
 * a field that takes a key or an address sends to pairing instead. */
export function looksLikePairing(text: string): boolean {
  const trimmed = text.trim();
  return trimmed.startsWith(PAIRING_PREFIX) || trimmed.startsWith(PAIRING_LINK_PREFIX);
}

/** A fingerprint shortened for the eye: its first and last 8 hex digits (`sha256:ab12cd34…`). */
export function shortFingerprint(fingerprint: string): string {
  const hex = fingerprint.startsWith("sha256:") ? fingerprint.slice(7) : fingerprint;
  return hex.length <= 16 ? fingerprint : `sha256:${hex.slice(0, 8)}…${hex.slice(-8)}`;
}

/** A name for the account a pairing adds: the host of its base URL (`gpu-box`), at most 64
 * characters; "" when the address does not read. */
export function pairingName(baseUrl: string): string {
  try {
    return [...new URL(baseUrl).hostname].slice(0, 64).join("");
  } catch {
    return "";
  }
}
