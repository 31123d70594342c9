import { describe, expect, it } from "vitest";
import { tauriImportsOutsideBackend } from "./boundary";

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
});
