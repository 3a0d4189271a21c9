/**
 * Static analysis of a workflow definition (rule D1): every graph problem at
 * once, each as a FieldViolation that names the step and says how to fix it.
 * Pure: a definition in, violations out.
 *
 * Checked: duplicate step names; edges, fallbacks and inputs naming unknown
 * steps; self-loops, duplicate edges and cycles; steps no run can reach;
 * impossible quorums and join fields that do not apply; misused fallback
 * steps; inputs that read anything but the run input and the step's parents.
 */
import type { FieldViolation } from "./validation.js";
import type { StepDef, WorkflowDef } from "./workflow-def.js";

export function analyseWorkflow(def: WorkflowDef, prefix = "spec."): FieldViolation[] {
  const out: FieldViolation[] = [];
  const add = (field: string, description: string) => out.push({ field: prefix + field, description });
  const stepPath = (s: StepDef) => `steps[${s.index}]`;

  // Names: the first step of a name owns it; later ones are the duplicates.
  const byName = new Map<string, StepDef>();
  for (const s of def.steps) {
    if (s.name === "") continue;
    const first = byName.get(s.name);
    if (first) add(`${stepPath(s)}.name`, `step name ${q(s.name)} is already used by steps[${first.index}]: step names must be unique; rename this step`);
    else byName.set(s.name, s);
  }
  const names = [...byName.keys()];
  const unknown = (name: string) => `names step ${q(name)}, which does not exist${suggest(name, names)}`;

  // Edges: known endpoints only from here on.
  const parents = new Map<string, string[]>(names.map((n) => [n, []]));
  const children = new Map<string, string[]>(names.map((n) => [n, []]));
  const edgeIndex = new Map<string, number>();
  const selfLoops = new Set<string>();
  for (const e of def.edges) {
    const at = `edges[${e.index}]`;
    const fromOk = e.from === "" || byName.has(e.from);
    const toOk = e.to === "" || byName.has(e.to);
    if (!fromOk) add(`${at}.from_step`, unknown(e.from));
    if (!toOk) add(`${at}.to_step`, unknown(e.to));
    if (e.from === "" || e.to === "" || !fromOk || !toOk) continue;
    if (e.from === e.to) {
      add(at, `connects step ${q(e.from)} to itself, which is a cycle: a workflow must be acyclic; remove this edge`);
      selfLoops.add(e.from);
      continue;
    }
    const key = `${e.from}\u0000${e.to}`;
    const prior = edgeIndex.get(key);
    if (prior !== undefined) {
      add(at, `repeats the edge ${e.from} → ${e.to} of edges[${prior}]: keep one edge per pair of steps (combine their conditions into one)`);
      continue;
    }
    edgeIndex.set(key, e.index);
    parents.get(e.to)!.push(e.from);
    children.get(e.from)!.push(e.to);
  }

  // Fallbacks: a fallback step stands in for exactly one step and has no edges (D9).
  const fallbackOf = new Map<string, string>();
  for (const s of byName.values()) {
    if (s.onFailure.action !== "fallback") continue;
    const at = `${stepPath(s)}.on_failure.fallback_step`;
    const f = s.onFailure.fallbackStep;
    if (f === "") {
      add(at, `is required with action FALLBACK: name the step to run when ${q(s.name)} fails`);
      continue;
    }
    const target = byName.get(f);
    if (!target) {
      add(at, unknown(f));
      continue;
    }
    if (f === s.name) {
      add(at, `names ${q(s.name)} itself: a step cannot be its own fallback; name another step or use CONTINUE`);
      continue;
    }
    const taken = fallbackOf.get(f);
    if (taken !== undefined) {
      add(at, `names ${q(f)}, which is already the fallback of ${q(taken)}: a step is the fallback of at most one step; add a separate fallback step`);
      continue;
    }
    fallbackOf.set(f, s.name);
    const incoming = def.edges.filter((e) => e.to === f).map((e) => `edges[${e.index}]`);
    const outgoing = def.edges.filter((e) => e.from === f).map((e) => `edges[${e.index}]`);
    if (incoming.length > 0) {
      add(at, `names ${q(f)}, which has incoming edges (${incoming.join(", ")}): a fallback starts only when ${q(s.name)} fails; remove those edges`);
    }
    if (outgoing.length > 0) {
      add(at, `names ${q(f)}, which has outgoing edges (${outgoing.join(", ")}): a fallback's output flows along ${q(s.name)}'s edges; remove those edges`);
    }
    if (target.onFailure.action === "fallback") {
      add(`${stepPath(target)}.on_failure.action`, `step ${q(f)} is the fallback of ${q(s.name)} and cannot fall back again: use FAIL_RUN or CONTINUE`);
    }
    if (target.join.mode === "quorum") {
      add(`${stepPath(target)}.join`, `step ${q(f)} is the fallback of ${q(s.name)} and has no parents to join: remove its join`);
    }
  }

  // Cycles: every strongly connected component of more than one step.
  const inCycle = new Set<string>(selfLoops);
  for (const component of stronglyConnected(names, children)) {
    if (component.length < 2) continue;
    for (const n of component) inCycle.add(n);
    const cycle = cycleWithin(component, children);
    const edges = cycle.slice(0, -1).map((from, i) => edgeIndex.get(`${from}\u0000${cycle[i + 1]}`)!);
    add(
      `edges[${edges[edges.length - 1]}]`,
      `steps ${cycle.join(" → ")} form a cycle: a workflow must be acyclic; remove one of ${edges.map((i) => `edges[${i}]`).join(", ")}`,
    );
  }

  // Reachability: roots start with the run; edges and fallbacks lead on.
  const roots = names.filter((n) => parents.get(n)!.length === 0 && !fallbackOf.has(n));
  if (names.length > 0 && roots.length === 0) {
    add("steps", "no step can start: every step has an incoming edge or is a fallback; at least one step must have no incoming edge");
  }
  const reached = new Set<string>();
  const queue = [...roots];
  while (queue.length > 0) {
    const n = queue.pop()!;
    if (reached.has(n)) continue;
    reached.add(n);
    queue.push(...children.get(n)!);
    const s = byName.get(n)!;
    if (s.onFailure.action === "fallback" && fallbackOf.get(s.onFailure.fallbackStep) === n) queue.push(s.onFailure.fallbackStep);
  }
  for (const s of byName.values()) {
    if (reached.has(s.name) || inCycle.has(s.name)) continue;
    const via = fallbackOf.get(s.name);
    const from = via !== undefined ? [via] : parents.get(s.name)!;
    add(
      `${stepPath(s)}.name`,
      `step ${q(s.name)} is unreachable: no run can get to it from a root step (it follows ${from.map(q).join(", ") || "nothing reachable"}${
        from.some((p) => inCycle.has(p)) ? ", which are in a cycle" : ""
      }); break the cycle or add an edge from a reachable step`,
    );
  }

  // Joins (D5): a quorum must be possible with the step's parents.
  for (const s of byName.values()) {
    const at = `${stepPath(s)}.join`;
    const j = s.join;
    for (const c of j.conflicting) add(at, `${c} only applies to mode QUORUM: remove it or set mode QUORUM`);
    if (j.mode !== "quorum" || fallbackOf.has(s.name)) continue;
    const ps = parents.get(s.name)!;
    if (ps.length === 0) {
      add(at, `step ${q(s.name)} has no incoming edges, so its quorum can never be met: add edges to it or remove the join`);
      continue;
    }
    if (j.count !== 0 && j.percent !== 0) {
      add(at, "sets both quorum_count and quorum_percent: set only one");
      continue;
    }
    if (j.count === 0 && j.percent === 0) {
      add(at, `mode QUORUM needs quorum_count (1..${ps.length}) or quorum_percent (1..100)`);
      continue;
    }
    if (j.count < 0 || j.count > ps.length) {
      add(
        `${at}.quorum_count`,
        `is ${j.count}, but step ${q(s.name)} has ${ps.length} parent${ps.length === 1 ? "" : "s"} (${ps.join(", ")}), so the quorum can never be met: use 1..${ps.length} or add edges`,
      );
    }
    if (j.percent < 0 || j.percent > 100) add(`${at}.quorum_percent`, `is ${j.percent}: use 1..100 (percent of the ${ps.length} incoming edges, rounded up)`);
  }

  // Inputs (D8): the run input, or the output of one of the step's own parents.
  for (const s of byName.values()) {
    const standsFor = fallbackOf.get(s.name);
    const readable = new Set(standsFor !== undefined ? parents.get(standsFor)! : parents.get(s.name)!);
    for (const input of s.input) {
      const at = `${stepPath(s)}.input[${JSON.stringify(input.key)}]`;
      const sel = input.selector;
      if ("error" in sel) {
        add(at, sel.error);
        continue;
      }
      if (sel.source !== "step" || readable.has(sel.step)) continue;
      if (sel.step === s.name) add(at, `reads step ${q(s.name)}'s own output, which does not exist before it runs: read the run input or a parent's output`);
      else if (!byName.has(sel.step)) add(at, `reads ${unknown(sel.step).replace(/^names /, "")}`);
      else {
        const who = standsFor !== undefined ? `${q(standsFor)}, whose fallback ${q(s.name)} is` : q(s.name);
        add(
          at,
          `reads the output of step ${q(sel.step)}, which is not a parent of ${who}: add an edge ${sel.step} → ${standsFor ?? s.name}, or pass the value through a parent's output`,
        );
      }
    }
  }
  return out;
}

/** Tarjan's algorithm, iterative: components in reverse topological order. */
function stronglyConnected(nodes: string[], children: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  for (const start of nodes) {
    if (index.has(start)) continue;
    const work: { node: string; next: number }[] = [{ node: start, next: 0 }];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const kids = children.get(frame.node)!;
      if (frame.next < kids.length) {
        const child = kids[frame.next++]!;
        if (!index.has(child)) {
          index.set(child, counter);
          low.set(child, counter++);
          stack.push(child);
          onStack.add(child);
          work.push({ node: child, next: 0 });
        } else if (onStack.has(child)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(child)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let n: string;
        do {
          n = stack.pop()!;
          onStack.delete(n);
          component.push(n);
        } while (n !== frame.node);
        components.push(component);
      }
    }
  }
  return components;
}

/** One cycle through a strongly connected component, as a closed path [a, b, …, a]. */
function cycleWithin(component: string[], children: Map<string, string[]>): string[] {
  const members = new Set(component);
  const start = component.slice().sort()[0]!;
  const path = [start];
  const seenAt = new Map([[start, 0]]);
  for (let node = start; ; ) {
    const next = children.get(node)!.find((c) => members.has(c))!;
    const at = seenAt.get(next);
    path.push(next);
    if (at !== undefined) return path.slice(at);
    seenAt.set(next, path.length - 1);
    node = next;
  }
}

function q(name: string): string {
  return JSON.stringify(name);
}

/** ", did you mean "x"?" for a near miss, else the known names. */
function suggest(name: string, known: string[]): string {
  const close = known.filter((k) => editDistance(k, name) <= 2).sort((a, b) => editDistance(a, name) - editDistance(b, name));
  if (close.length > 0) return `; did you mean ${q(close[0]!)}?`;
  if (known.length === 0) return "";
  const shown = known.slice(0, 10).map(q).join(", ");
  return `; steps are ${shown}${known.length > 10 ? ", …" : ""}`;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = row;
  }
  return prev[b.length]!;
}
