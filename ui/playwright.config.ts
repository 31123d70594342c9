import { defineConfig, devices } from "@playwright/test";

// Browsers cannot be downloaded here: Debian's Chromium runs the suite against the web build
// (`vite build --mode mock`, mock backend), served by `vite preview` with the app's CSP.
const PORT = 4179;
const BASE_URL = `http://127.0.0.1:${PORT}`;

export default defineConfig({
  testDir: "./e2e-web",
  workers: 1,
  fullyParallel: false,
  retries: 0,
  reporter: "list",
  timeout: 30_000,
  use: {
    baseURL: BASE_URL,
    trace: "off",
  },
  projects: [
    {
      name: "chromium",
      use: {
        ...devices["Desktop Chrome"],
        launchOptions: {
          executablePath: "/usr/bin/chromium",
          args: [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
          ],
        },
      },
    },
  ],
  webServer: {
    // Build first, so `npm run test:e2e` never serves a stale or missing dist-web.
    command: `npx vite build --mode mock --logLevel warn && npx vite preview --mode mock --host 127.0.0.1 --port ${PORT} --strictPort`,
    url: BASE_URL,
    reuseExistingServer: false,
    timeout: 180_000,
  },
});
