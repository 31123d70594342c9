import { describe, expect, it } from "vitest";
import { providerNamesOutsideBackend, tauriImportsOutsideBackend } from "./boundary";
import { PROVIDER_KINDS } from "./providers";

// Every source file of the UI, as text, keyed by its path from the package root ("/src/...").
const sources = import.meta.glob<string>(["/src/**/*.{ts,js,svelte}", "!**/*.test.ts"], {
  query: "?raw",
  import: "default",
  eager: true,
});

describe("import boundary", () => {
  it("scans the UI sources", () => {
    expect(Object.keys(sources)).toContain("/src/App.svelte");
    expect(Object.keys(sources)).toContain("/src/lib/backend/bindings.ts");
  });

  it("allows @tauri-apps imports only under src/lib/backend/", () => {
    expect(tauriImportsOutsideBackend(sources)).toEqual([]);
  });

  it("catches every form of import outside the backend folder", () => {
    const found = tauriImportsOutsideBackend({
      "/src/a.ts": 'import { invoke } from "@tauri-apps/api/core";',
      "/src/b.svelte": "<script>import '@tauri-apps/plugin-shell';</script>",
      "/src/c.ts": "const m = await import('@tauri-apps/api/event');",
      "/src/d.ts": 'export * from "@tauri-apps/api/window";',
      "/src/e.ts": 'const x = "talks about @tauri-apps/api in a string";',
      "/src/lib/backend/tauri.ts": 'import { invoke } from "@tauri-apps/api/core";',
    });
    expect(found).toEqual(["/src/a.ts", "/src/b.svelte", "/src/c.ts", "/src/d.ts"]);
  });

  it("names no provider outside the backend folder: the UI renders from the descriptors", () => {
    expect(providerNamesOutsideBackend(sources, PROVIDER_KINDS)).toEqual([]);
  });

  it("catches a provider named in a component, in any quotes", () => {
    const found = providerNamesOutsideBackend(
      {
        "/src/lib/components/A.svelte": '{#if provider === "portholed"}',
        "/src/lib/b.ts": "const k = 'comfy_deploy';",
        "/src/lib/c.ts": "Add a portholed server (prose is fine)",
        "/src/lib/backend/providers.ts": '"airplane": {}',
      },
      PROVIDER_KINDS,
    );
    expect(found).toEqual(["/src/lib/b.ts", "/src/lib/components/A.svelte"]);
  });
});
