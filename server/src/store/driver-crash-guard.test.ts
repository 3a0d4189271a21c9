import { describe, expect, it } from "vitest";
import { isDriverNullSocketWrite } from "./driver-crash-guard.js";

describe("driver crash guard", () => {
  it("recognises only the driver's null-socket write", () => {
    const driver = new TypeError("Cannot read properties of null (reading 'write')");
    driver.stack = `${driver.message}\n    at Immediate.nextWrite (file:///app/node_modules/postgres/src/connection.js:255:22)`;
    expect(isDriverNullSocketWrite(driver)).toBe(true);

    const ours = new TypeError("Cannot read properties of null (reading 'write')");
    ours.stack = `${ours.message}\n    at handler (file:///app/server/src/api/task-service.ts:10:1)`;
    expect(isDriverNullSocketWrite(ours)).toBe(false);
    expect(isDriverNullSocketWrite(new Error("boom"))).toBe(false);
  });
});
