#!/usr/bin/env node
// `npx baton-conformance --worker "<command>"`: the suite ships TypeScript
// source, so register tsx's loader and hand over to the CLI.
import { register } from "tsx/esm/api";

register();
await import("../src/cli.ts");
