/**
 * The protocol's numbered rules, read from the .proto comments (the normative
 * spec). docs/PROTOCOL.md is rendered from them, and conformance cases cite them
 * by id, so a rule exists in exactly one place.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

export interface Rule {
  /** e.g. "L1" */
  id: string;
  /** The rule text, joined from its comment lines. */
  text: string;
  /** The .proto file that states it. */
  file: string;
}

const RULE_START = /^\s*\/\/\s*([A-Z]\d+):\s*(.*)$/;
const CONTINUATION = /^\s*\/\/\s{2,}(\S.*)$/;

export function parseRules(source: string, file: string): Rule[] {
  const rules: Rule[] = [];
  let current: Rule | undefined;
  for (const line of source.split("\n")) {
    const start = RULE_START.exec(line);
    if (start) {
      current = { id: start[1]!, text: start[2]!.trim(), file };
      rules.push(current);
      continue;
    }
    const more = current && CONTINUATION.exec(line);
    if (current && more) current.text += ` ${more[1]!.trim()}`;
    else current = undefined;
  }
  return rules;
}

export async function readRules(protoDir: string): Promise<Rule[]> {
  const files = (await readdir(protoDir)).filter((f) => f.endsWith(".proto")).sort();
  const all: Rule[] = [];
  for (const f of files) all.push(...parseRules(await readFile(join(protoDir, f), "utf8"), f));
  const seen = new Map<string, Rule>();
  for (const r of all) {
    const prior = seen.get(r.id);
    if (prior) throw new Error(`rule ${r.id} is stated twice: ${prior.file} and ${r.file}`);
    seen.set(r.id, r);
  }
  return all;
}

/** What each rule prefix is about, in the order PROTOCOL.md presents them. */
export const RULE_GROUPS: { prefix: string; title: string }[] = [
  { prefix: "C", title: "Agent contract" },
  { prefix: "V", title: "Error reasons" },
  { prefix: "S", title: "Every TaskService call" },
  { prefix: "T", title: "Task lifecycle" },
  { prefix: "I", title: "Idempotent creation" },
  { prefix: "L", title: "Leases and fencing" },
  { prefix: "W", title: "Unary workers" },
  { prefix: "H", title: "Hello and Welcome" },
  { prefix: "K", title: "Slots and credits" },
  { prefix: "B", title: "Heartbeats" },
  { prefix: "E", title: "Lease extension" },
  { prefix: "R", title: "Results and acks" },
  { prefix: "X", title: "Cancellation" },
  { prefix: "G", title: "GoAway and drain" },
  { prefix: "N", title: "Reconnection" },
  { prefix: "F", title: "Listen fallback" },
  { prefix: "D", title: "Workflows" },
];

export function renderProtocolDoc(rules: Rule[]): string {
  const keyword = (t: string) => t.replace(/\b(MUST NOT|MUST|SHOULD NOT|SHOULD|MAY)\b/g, "**$1**");
  const out = [
    "# The Baton protocol: numbered rules",
    "",
    "<!-- Generated from the comments in proto/baton/v1/*.proto by `npm run protocol-doc`; do not edit. -->",
    "",
    "These are the rules every Baton server and worker follows, as stated in the",
    "`.proto` files (which stay the source). Conformance cases cite them by id.",
    `There are ${rules.length} rules.`,
    "",
  ];
  for (const group of RULE_GROUPS) {
    const members = rules.filter((r) => r.id.startsWith(group.prefix) && /^\d+$/.test(r.id.slice(group.prefix.length)));
    if (members.length === 0) continue;
    members.sort((a, b) => Number(a.id.slice(1)) - Number(b.id.slice(1)));
    out.push(`## ${group.title}`, "");
    for (const r of members) out.push(`- **${r.id}** — ${keyword(r.text)} _(${r.file})_`);
    out.push("");
  }
  return out.join("\n");
}
