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
