// Command-line tools the surface tests drive: grpcurl (installed on demand) and curl.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");

/** The pinned grpcurl, built with `go install` into the repo's gitignored .tools/bin. */
export const GRPCURL_VERSION = "v1.9.4";
export const GRPCURL = join(ROOT, ".tools/bin/grpcurl");

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program without a shell; resolves with its exit code (never rejects on a non-zero exit). */
export function run(file: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 30_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== "number") return reject(err);
      resolve({ code: err ? (err.code as unknown as number) : 0, stdout, stderr });
    });
  });
}

/**
 * Installs grpcurl unless the binary in .tools/bin was already built from the
 * pinned version (`go version -m` records the module version). Never fetches a
 * Go toolchain (GOTOOLCHAIN=local); fetches modules from the Go module proxy.
 */
export async function ensureGrpcurl(): Promise<string> {
  if (existsSync(GRPCURL)) {
    const info = await run("go", ["version", "-m", GRPCURL]);
    if (new RegExp(`\\smod\\s+github.com/fullstorydev/grpcurl\\s+${GRPCURL_VERSION.replace(/\./g, "\\.")}\\s`).test(info.stdout)) return GRPCURL;
  }
  const install = await run("go", ["install", `github.com/fullstorydev/grpcurl/cmd/grpcurl@${GRPCURL_VERSION}`], {
    env: { ...process.env, GOTOOLCHAIN: "local", GOBIN: join(ROOT, ".tools/bin") },
    timeoutMs: 540_000,
  });
  if (install.code !== 0) throw new Error(`go install grpcurl@${GRPCURL_VERSION} failed:\n${install.stderr}`);
  return GRPCURL;
}

/** Splits grpcurl's output, pretty-printed JSON objects one after another, into values. */
export function parseJsonStream(text: string): unknown[] {
  const out: unknown[] = [];
  let start = -1;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{") {
      if (depth++ === 0) start = i;
    } else if (c === "}" && --depth === 0) out.push(JSON.parse(text.slice(start, i + 1)));
  }
  return out;
}
