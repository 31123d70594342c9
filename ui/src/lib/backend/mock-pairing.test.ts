import { describe, expect, it } from "vitest";
import {
  MOCK_NO_PAIRING_MESSAGE,
  MOCK_PAIRING_BASE_URL,
  MOCK_PAIRING_FINGERPRINT,
  MOCK_PAIRING_REFUSED_MESSAGE,
  MockBackend,
  mockOptionsFromQuery,
  mockPairingString,
} from "./mock";
import { encodePairing, readPairing } from "./mock-pairing";
import { BackendError, type PairingOffered } from "./types";

const FP = `sha256:${"0123456789abcdef".repeat(4)}`;
const PARTS = { base_url: "https://192.0.2.7:7788/api", fingerprint: FP, token: "tok-123" };

/** A string built by hand from its body, as `portholed pair` would (base64url, no padding). */
function handmade(body: string): string {
  // ASCII only here, so `btoa` takes it as it is.
  const b64 = btoa(body).replace(/=+$/, "").replaceAll("+", "-").replaceAll("/", "_");
  return `porthole-pair:v1:${b64}`;
}

/** Why `text` is no pairing string, from the message the mock throws, as Rust's. */
function why(text: string): string {
  try {
    readPairing(text);
  } catch (error) {
    expect(error).toBeInstanceOf(BackendError);
    expect(error).toMatchObject({ code: "invalid_input" });
    const message = (error as BackendError).message;
    expect(message).toMatch(
      /\. Run `portholed pair` on the server and paste the whole line it prints \(porthole-pair:v1:…\), or open its porthole:\/\/pair link\.$/,
    );
    expect(message).not.toContain("tok-123");
    return message.replace(/^That is not a pairing string: /, "").replace(/\. Run `portholed pair`.*$/, "");
  }
  throw new Error(`${text} read as a pairing string`);
}

describe("the mock's pairing strings (as porthole-local `Pairing` reads them)", () => {
  it("read back from the string and from its link, pasted with space and quotes", () => {
    const text = encodePairing(PARTS);
    expect(text).toBe(handmade(`${PARTS.base_url}\n${FP}\n${PARTS.token}`));
    expect(readPairing(text)).toEqual(PARTS);
    expect(readPairing(`porthole://pair?code=${text}&from=mail`)).toEqual(PARTS);
    expect(readPairing(`  "${text}"\n`)).toEqual(PARTS);
    // A trailing line break ends the token's line; the fingerprint reads in other spellings.
    const colons = FP.slice(7).toUpperCase().match(/../g)!.join(":");
    expect(readPairing(handmade(`${PARTS.base_url}\n${colons}\ntok-123\n`))).toEqual(PARTS);
  });

  it("are refused with why, as the Rust side words it, never echoing the token", () => {
    const good = encodePairing(PARTS);
    const cases: [string, string][] = [
      ["hello", "it does not start with porthole-pair:v1:"],
      [good.replace("v1", "v2"), "it does not start with porthole-pair:v1:"],
      [good.slice(0, -12), "it is cut or altered"],
      [`${good}!`, "it is cut or altered"],
      [handmade(`${PARTS.base_url}\n${FP}`), "it is cut or altered"],
      [handmade(`http://x/api\n${FP}\ntok-123`), "its server address is not https"],
      [handmade(`https://x/api\n${FP}\n  `), "it carries no token"],
      [handmade("https://x/api\nsha256:00\ntok-123"), "its fingerprint is cut"],
    ];
    for (const [text, reason] of cases) expect(why(text), text).toBe(reason);
  });
});

describe("MockBackend pairing", () => {
  it("adds the portholed a string names, with its fingerprint, and refuses the string once used", async () => {
    const mock = new MockBackend();
    const text = mockPairingString();
    const view = await mock.pairAccount("Box", text);
    expect(view).toMatchObject({
      account: {
        id: "box",
        name: "Box",
        provider: "portholed",
        base_url: MOCK_PAIRING_BASE_URL,
        fields: { tls_fingerprint: MOCK_PAIRING_FINGERPRINT },
      },
      key: { state: "set" },
    });
    await expect(mock.pairAccount("Box 2", `porthole://pair?code=${text}`)).rejects.toMatchObject({
      code: "unauthorized",
      message: MOCK_PAIRING_REFUSED_MESSAGE,
    });
    expect((await mock.listAccounts()).map((v) => v.account.id)).toEqual(["local", "box"]);
    expect(mock.accountCalls).toEqual(["pairAccount", "pairAccount", "listAccounts"]);
  });

  it("refuses what is no pairing string, and a taken name before spending the string", async () => {
    const mock = new MockBackend();
    const error = await mock.pairAccount("Box", "cd_live_key").catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "invalid_input" });
    expect((error as Error).message).toMatch(
      /^That is not a pairing string: it does not start with porthole-pair:v1:\. Run `portholed pair` on the server and paste the whole line it prints/,
    );
    const text = mockPairingString();
    await expect(mock.pairAccount("Local", text)).rejects.toMatchObject({ code: "invalid_input" });
    await expect(mock.pairAccount("Box", text)).resolves.toMatchObject({ account: { id: "box" } });
  });

  it("says when the server cannot be reached or presents another certificate", async () => {
    const mock = new MockBackend();
    await expect(
      mock.pairAccount("A", mockPairingString({ base_url: "https://unreachable:7788/api" })),
    ).rejects.toMatchObject({ code: "upstream_unavailable" });
    await expect(
      mock.pairAccount("B", mockPairingString({ base_url: "https://mismatch:7788/api" })),
    ).rejects.toMatchObject({ code: "certificate_mismatch" });
    expect(await mock.listAccounts()).toHaveLength(1);
  });

  it("tells where a string leads without spending its token, or why it is none", async () => {
    const mock = new MockBackend();
    const text = mockPairingString({ base_url: "https://render-box:7788/api" });
    const offer = { base_url: "https://render-box:7788/api", fingerprint: MOCK_PAIRING_FINGERPRINT };
    await expect(mock.readPairing(text)).resolves.toEqual(offer);
    await expect(mock.readPairing(`porthole://pair?code=${text}`)).resolves.toEqual(offer);
    // Not even the token: only where it leads.
    expect(Object.keys(await mock.readPairing(text))).toEqual(["base_url", "fingerprint"]);
    const error = await mock.readPairing(text.slice(0, 40)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect(error).toMatchObject({
      code: "invalid_input",
      message: expect.stringMatching(/^That is not a pairing string: it is cut or altered\. Run/),
    });
    expect((error as Error).message).not.toContain(text.slice(17, 40));
    // Read twice, still good once; the string itself is never recorded.
    await expect(mock.pairAccount("Box", text)).resolves.toMatchObject({ account: { id: "box" } });
    expect(mock.accountCalls).toEqual(["readPairing", "readPairing", "readPairing", "readPairing", "pairAccount"]);
  });

  it("keeps what a link offers until it is paired with or dismissed, telling listeners", async () => {
    const mock = new MockBackend();
    const seen: PairingOffered[] = [];
    const stop = mock.onPairingOffered((offer) => seen.push(offer));
    expect(await mock.offeredPairing()).toBeNull();
    await expect(mock.pairAccount("Box", null)).rejects.toMatchObject({
      code: "invalid_input",
      message: MOCK_NO_PAIRING_MESSAGE,
    });
    expect(() => mock.offerPairing("porthole://pair?code=nonsense")).toThrow(/not a pairing string/);
    expect(seen).toEqual([]);

    mock.offerPairing(`porthole://pair?code=${mockPairingString()}`);
    const offer = { base_url: MOCK_PAIRING_BASE_URL, fingerprint: MOCK_PAIRING_FINGERPRINT };
    expect(seen).toEqual([offer]);
    expect(await mock.offeredPairing()).toEqual(offer);
    await mock.dismissOfferedPairing();
    expect(await mock.offeredPairing()).toBeNull();

    mock.offerPairing(mockPairingString());
    await mock.pairAccount("Box", null);
    expect(await mock.offeredPairing()).toBeNull();
    expect(mock.accountCalls).toEqual(["pairAccount offered", "dismissOfferedPairing", "pairAccount offered"]);
    stop();
    mock.offerPairing(mockPairingString());
    expect(seen).toHaveLength(2);
  });

  it("starts with a pairing offered from the web build's query string", async () => {
    const options = mockOptionsFromQuery("?mock-pairing-offered=1");
    expect(options.offeredPairing).toMatch(/^porthole:\/\/pair\?code=porthole-pair:v1:/);
    expect(await new MockBackend(options).offeredPairing()).toEqual({
      base_url: MOCK_PAIRING_BASE_URL,
      fingerprint: MOCK_PAIRING_FINGERPRINT,
    });
  });
});
