// The `porthole` CLI, run beside the app by the tests that change its accounts from outside.
import { spawn } from "node:child_process";

/** Runs the `porthole` CLI (built with the scripted provider by `make e2e`) in the app's
 * environment (its config folder and keychain); resolves to its exit code and output. */
export function porthole(args, input) {
  const bin = new URL("../../target/debug/porthole", import.meta.url).pathname;
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, out }));
    child.stdin.end(input ?? "");
  });
}
