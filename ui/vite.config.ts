import { defineConfig } from "vitest/config";
import { svelte } from "@sveltejs/vite-plugin-svelte";
import { svelteTesting } from "@testing-library/svelte/vite";

// The same policy as tauri.conf.json, so the web build is tested under the CSP the app runs with.
const CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; " +
  "connect-src ipc: http://ipc.localhost";

export default defineConfig(({ mode }) => ({
  plugins: [svelte(), svelteTesting()],
  // Tauri expects a fixed dev port and prints its own output.
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  preview: { headers: { "Content-Security-Policy": CSP } },
  build: {
    // `--mode mock` is the web build with the mock backend, served to Playwright.
    outDir: mode === "mock" ? "dist-web" : "dist",
    emptyOutDir: true,
    target: "es2022",
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts"],
  },
}));
