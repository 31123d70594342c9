// The providers this build has, as the Rust side describes them (`porthole_core::descriptor`).
// The generated constant (`backend/providers.ts`) is there at once, so nothing waits for it; the
// backend's own list replaces it once loaded, and may hold more (a test build's scripted
// provider, which the generated file never names). Components read it from the context the app
// sets, or, in tests that set none, the generated one.
import { getContext, setContext } from "svelte";
import type { Backend, ProviderDescriptor, ProviderKind } from "../backend";
import { PROVIDER_KINDS, PROVIDERS } from "../backend/providers";

/** The context key the app sets its catalog under (tests set their own). */
export const PROVIDER_CATALOG_CONTEXT = Symbol("providers");

export class ProviderCatalog {
  #list: ProviderDescriptor[] = $state(PROVIDER_KINDS.map((kind) => PROVIDERS[kind]));

  /** Every provider, in the order the Add account form lists them. */
  get all(): ProviderDescriptor[] {
    return this.#list;
  }

  /** By kind, for the forms that index them. */
  get byKind(): Record<ProviderKind, ProviderDescriptor> {
    return Object.fromEntries(this.#list.map((d) => [d.kind, d])) as Record<ProviderKind, ProviderDescriptor>;
  }

  get kinds(): ProviderKind[] {
    return this.#list.map((d) => d.kind);
  }

  /** The descriptor of `kind`. A kind neither list has (an account written by a newer version)
   * reads as its name, with nothing offered. */
  get(kind: string): ProviderDescriptor {
    return this.#list.find((d) => d.kind === kind) ?? unknownProvider(kind);
  }

  /** Takes the backend's list; on failure the generated one stays. */
  async load(backend: Backend): Promise<void> {
    try {
      const list = await backend.providerDescriptors();
      if (list.length > 0) this.#list = list;
    } catch {
      // The generated list is the same facts for every provider this UI was built with.
    }
  }
}

function unknownProvider(kind: string): ProviderDescriptor {
  return {
    kind: kind as ProviderKind,
    label: kind,
    hint: "",
    default_base_url: null,
    example_base_url: null,
    supported: false,
    lifetime: { default_minutes: 15, choices: [], max_minutes: null },
    extend_steps: [],
    launch: { template_required: false, modes: [], takes_parameters: false, resource_named: false },
    account_fields: [],
    actions: { stop: "Stop", cancel: null, web_ui: false, logs: false, jobs: false, prompts: false },
    runs_to_completion: false,
    test_only: false,
  };
}

const GENERATED = new ProviderCatalog();

/** Makes `catalog` the one the app's components read. */
export function setProviderCatalog(catalog: ProviderCatalog): void {
  setContext(PROVIDER_CATALOG_CONTEXT, catalog);
}

/** The catalog the app set, else the generated one. Call it while a component initialises. */
export function providerCatalog(): ProviderCatalog {
  return getContext<ProviderCatalog | undefined>(PROVIDER_CATALOG_CONTEXT) ?? GENERATED;
}
