import { describe, expect, it } from "vitest";
import { type DimensionValues, closedFraction, compareStyles } from "../../encoder/style/compare";
import { styleDimensions } from "../../encoder/style/style-json";

/** Pure: the comparison of source, template and output measures. */

const values = (over: Partial<DimensionValues>): DimensionValues => ({
  temperature: 0,
  tint: 0,
  saturation: 0,
  contrast: 0,
  integrated_loudness: -23,
  aspect_ratio: 16 / 9,
  frame_rate: 25,
  cut_frequency: 12,
  zoom_usage: 0,
  ...over,
});

describe("closedFraction", () => {
  it("is the share of the source → template gap the output covered", () => {
    expect(closedFraction("temperature", 0, 50, 40)).toBe(0.8);
    expect(closedFraction("integrated_loudness", -30, -10, -11)).toBe(0.95);
    expect(closedFraction("saturation", 10, -30, 10)).toBe(0);
  });

  it("goes above 1 past the target and below 0 away from it", () => {
    expect(closedFraction("saturation", 0, 20, 30)).toBe(1.5);
    expect(closedFraction("saturation", 0, 20, -10)).toBe(-0.5);
  });

  it("without a gap: 1 when the output stayed on the value, 0 when rendering opened a gap", () => {
    expect(closedFraction("frame_rate", 30, 30, 30)).toBe(1);
    expect(closedFraction("temperature", 5, 5.5, 5.2)).toBe(1);
    expect(closedFraction("temperature", 5, 5, 20)).toBe(0);
  });

  it("is null when a value is missing", () => {
    expect(closedFraction("integrated_loudness", null, -10, -11)).toBeNull();
    expect(closedFraction("integrated_loudness", -30, null, -11)).toBeNull();
    expect(closedFraction("integrated_loudness", -30, -10, null)).toBeNull();
  });
});

describe("compareStyles", () => {
  it("reports every dimension in order with its three values", () => {
    const rows = compareStyles(values({}), values({ aspect_ratio: 9 / 16, frame_rate: 30, temperature: 60 }), values({ aspect_ratio: 9 / 16, frame_rate: 30, temperature: 45 }));
    expect(rows.map((r) => r.dimension)).toEqual([...styleDimensions]);
    expect(rows.find((r) => r.dimension === "aspect_ratio")).toEqual({ dimension: "aspect_ratio", source: 16 / 9, template: 9 / 16, output: 9 / 16, closed_fraction: 1 });
    expect(rows.find((r) => r.dimension === "temperature")?.closed_fraction).toBe(0.75);
    expect(rows.find((r) => r.dimension === "cut_frequency")?.closed_fraction).toBe(1);
  });
});
