import { describe, expect, it } from "vitest";
import { looksLikePairing, pairingName, pairsWith, shortFingerprint } from "./pairing";
import { PROVIDERS } from "./providers";

const FP = `sha256:${"0123456789abcdef".repeat(4)}`;

describe("pairing strings, as the UI knows them", () => {
  it("are recognised by how they begin where a key or an address was expected", () => {
    expect(looksLikePairing(" porthole-pair:v1:aHR0cHM6Ly94")).toBe(true);
    expect(looksLikePairing("porthole://pair?code=x")).toBe(true);
    expect(looksLikePairing("porthole-pair:v2:aHR0cHM6Ly94")).toBe(false);
    expect(looksLikePairing("eyJhbGciOi.key")).toBe(false);
    expect(looksLikePairing("https://gpu-box:7788/api")).toBe(false);
  });

  it("are a portholed's: its descriptor keeps the certificate fingerprint", () => {
    expect(pairsWith(PROVIDERS.portholed)).toBe(true);
    expect(pairsWith(PROVIDERS.comfy_deploy)).toBe(false);
  });

  it("name the account after the host, and shorten the fingerprint for the eye", () => {
    expect(pairingName("https://gpu-box.lan:7788/api")).toBe("gpu-box.lan");
    expect(pairingName(`https://${"a".repeat(70)}:7788/api`)).toBe("a".repeat(64));
    expect(pairingName("not a url")).toBe("");
    expect(shortFingerprint(FP)).toBe("sha256:01234567…89abcdef");
    expect(shortFingerprint("sha256:12")).toBe("sha256:12");
  });
});
