import { afterAll, beforeAll, vi } from "vitest";

/*
 * Webhook receivers for worker tests. The receiver is the boundary, not the code under
 * test: outbound fetches to https://receiver.kiln-test.example/… are answered here, in
 * order, from a scripted list of statuses (a thrown string means a network failure; past
 * the script's end, 200). Everything else a test touches stays real: D1, the Queue
 * consumer, the JobDO, the signing library.
 */
export interface ReceivedRequest {
  headers: Record<string, string>;
  body: string;
}
export interface Receiver {
  url: string;
  script: (number | string)[];
  received: ReceivedRequest[];
}

const RECEIVER_ORIGIN = "https://receiver.kiln-test.example/";
const receivers = new Map<string, Receiver>();

/** A receiver at a URL of its own, answering `script` in order. */
export function receiver(...script: (number | string)[]): Receiver {
  const r: Receiver = { url: `${RECEIVER_ORIGIN}${crypto.randomUUID()}`, script, received: [] };
  receivers.set(r.url, r);
  return r;
}

/** Routes the test file's receiver URLs to their scripts for its duration; other fetches pass through. */
export function useReceivers(): void {
  const realFetch = globalThis.fetch;
  beforeAll(() => {
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      const r = receivers.get(request.url);
      if (!r) return realFetch(input, init);
      r.received.push({ headers: Object.fromEntries(request.headers), body: await request.text() });
      await new Promise((resolve) => setTimeout(resolve, 5));
      const step = r.script[Math.min(r.received.length, r.script.length) - 1] ?? 200;
      if (typeof step === "string") throw new TypeError(step);
      return new Response(step === 204 ? null : step < 300 ? "ok" : "nope", { status: step });
    });
  });
  afterAll(() => {
    vi.restoreAllMocks();
  });
}
