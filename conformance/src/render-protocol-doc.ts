// npm run protocol-doc: writes docs/PROTOCOL.md from the .proto rules.
import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { readRules, renderProtocolDoc } from "./rules.js";

const root = resolve(import.meta.dirname, "../..");
const rules = await readRules(resolve(root, "proto/baton/v1"));
await writeFile(resolve(root, "docs/PROTOCOL.md"), renderProtocolDoc(rules));
console.log(`docs/PROTOCOL.md: ${rules.length} rules`);
