import type { KeyState, ProviderKind } from "./backend";

export interface ProviderInfo {
  /** What the UI calls it. */
  label: string;
  /** A few words on what it is, after the label in the Add account form. */
  hint: string;
  /** The base URL a new account starts with; empty when there is no usual one. */
  defaultBaseUrl: string;
  /** An example base URL, shown as the field's placeholder. */
  example: string;
  /** Whether this version of the backend can add accounts of this kind. */
  supported: boolean;
  /** The longest a session may run from now, in minutes, if the provider has a limit. */
  maxSessionMinutes: number | null;
}

/**
 * Every provider the backend knows. A `Record` so that a kind added on the Rust side fails
 * `npm run check` until the UI knows how to name it.
 */
export const PROVIDERS: Record<ProviderKind, ProviderInfo> = {
  comfy_deploy: {
    label: "ComfyDeploy",
    hint: "cloud GPUs",
    defaultBaseUrl: "https://api.comfydeploy.com/api",
    example: "https://api.comfydeploy.com/api",
    supported: true,
    maxSessionMinutes: 24 * 60,
  },
  portholed: {
    label: "portholed",
    hint: "your own server",
    defaultBaseUrl: "",
    example: "http://gpu-box:7788/api",
    supported: true,
    maxSessionMinutes: 24 * 60,
  },
  ibm_quantum: {
    label: "IBM Quantum",
    hint: "coming soon",
    defaultBaseUrl: "",
    example: "",
    supported: false,
    maxSessionMinutes: null,
  },
  airplane: {
    label: "Airplane",
    hint: "coming soon",
    defaultBaseUrl: "",
    example: "",
    supported: false,
    maxSessionMinutes: null,
  },
};

/** The provider kinds, in the order the Add account form lists them. */
export const PROVIDER_KINDS = Object.keys(PROVIDERS) as ProviderKind[];

/** What the key badge says for each state of a key. */
export function keyStateLabel(key: KeyState): string {
  switch (key.state) {
    case "set":
      return "Key set";
    case "missing":
      return "Key missing — set it again";
    case "keychain_unavailable":
      return `Keychain unavailable: ${key.message}`;
    case "builtin":
      return "Built in";
  }
}
