import { defineConfig } from "vitest/config";

// Pure Worker modules (the job state machine) tested in plain Node: no workerd, no bindings.
export default defineConfig({
  test: {
    name: "unit",
    root: import.meta.dirname,
    include: ["**/*.test.ts"],
    environment: "node",
  },
});
