import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "e2e",
    root: import.meta.dirname,
    include: ["**/*.test.ts"],
    environment: "node",
    // Each file starts the whole stack; two at once would fight over 2 cores.
    fileParallelism: false,
    // After the worker and encoder projects, not beside them: the fault tests time
    // leases and cancels, which a machine busy with other suites would skew.
    sequence: { groupOrder: 1 },
    globalSetup: ["./generate-client.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
