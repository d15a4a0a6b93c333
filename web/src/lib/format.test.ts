import { describe, expect, it } from "vitest";
import { formatDate, formatDateTime, formatMoney } from "./format";

describe("formatMoney", () => {
  it("reads integer minor units per currency", () => {
    expect(formatMoney(1355, "usd")).toBe("$13.55");
    expect(formatMoney(-677, "usd")).toBe("-$6.77");
    expect(formatMoney(1500, "jpy")).toBe("¥1,500");
    expect(formatMoney(1000, "eur")).toBe("€10.00");
  });
  it("formats unix seconds as UTC dates", () => {
    expect(formatDate(1_767_225_600)).toBe("Jan 1, 2026");
    expect(formatDateTime(1_767_225_600 + 23 * 3600)).toBe("Jan 1, 2026, 11:00 PM UTC");
  });
});
