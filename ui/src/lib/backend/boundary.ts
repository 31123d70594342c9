/** Matches an import, re-export, dynamic import or require of a `@tauri-apps/*` module. */
const TAURI_IMPORT =
  /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)["'`]@tauri-apps\//;

/** The only folder allowed to import `@tauri-apps/*` (docs/ARCHITECTURE.md, rules). */
export const BACKEND_DIR = "/src/lib/backend/";

/** The files, among `sources` (path → text), that import `@tauri-apps/*` outside the backend folder. */
export function tauriImportsOutsideBackend(sources: Record<string, string>): string[] {
  return Object.entries(sources)
    .filter(([path, text]) => !path.startsWith(BACKEND_DIR) && TAURI_IMPORT.test(text))
    .map(([path]) => path)
    .sort();
}

/** A provider kind written as a string literal (`"comfy_deploy"`, `'portholed'`, …). */
function providerLiteral(kinds: string[]): RegExp {
  return new RegExp(`["'\`](?:${kinds.join("|")})["'\`]`);
}

/** Test fixtures (sessions of some provider) may name one. */
const TEST_SUPPORT_DIR = "/src/test/";

/** The files, among `sources`, outside the backend folder (where the generated descriptors live)
 * and the test fixtures that name a provider kind: components, stores and helpers render from
 * the descriptors, so a new provider needs no change there. */
export function providerNamesOutsideBackend(sources: Record<string, string>, kinds: string[]): string[] {
  const literal = providerLiteral(kinds);
  return Object.entries(sources)
    .filter(([path]) => !path.startsWith(BACKEND_DIR) && !path.startsWith(TEST_SUPPORT_DIR))
    .filter(([, text]) => literal.test(text))
    .map(([path]) => path)
    .sort();
}
