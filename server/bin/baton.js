#!/usr/bin/env node
// The `baton` command (package.json "bin"): runs server/src/main.ts as it is,
// compiled on load by tsx (a runtime dependency), so there is no build step
// between a clone and `npx baton --help`.
import { register } from "tsx/esm/api";

register();
await import("../src/main.ts");
