/**
 * `baton workflow put FILE.yaml --server URL`: sends a YAML workflow definition
 * to PutWorkflow (the server parses, validates and analyses it, D1) and prints
 * the outcome, or every problem with its line. Exit code 0 on success, 1 when
 * the definition was refused, 2 when the server could not be reached.
 */
import { readFile } from "node:fs/promises";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import type { Command } from "commander";
import { ErrorDetailSchema } from "../../../gen/ts/baton/v1/contract_pb.js";
import { WorkflowService } from "../../../gen/ts/baton/v1/workflow_service_pb.js";

export interface PutOptions {
  server: string;
  validateOnly?: boolean;
}

export interface Output {
  write(text: string): unknown;
}

export async function putWorkflowFile(file: string, o: PutOptions, out: Output = process.stdout, err: Output = process.stderr): Promise<number> {
  let yaml: string;
  try {
    yaml = await readFile(file, "utf8");
  } catch (e) {
    err.write(`error: cannot read ${file}: ${(e as Error).message}\n`);
    return 2;
  }
  const client = createClient(WorkflowService, createConnectTransport({ baseUrl: o.server, httpVersion: "1.1" }));
  try {
    const res = await client.putWorkflow({ definition: { case: "yaml", value: yaml }, validateOnly: o.validateOnly ?? false });
    const md = res.workflow!.metadata!;
    const what =
      o.validateOnly ? "is valid (validate only: nothing stored)"
      : !res.changed ? `is unchanged at resource_version ${md.resourceVersion}`
      : `${res.created ? "created" : "updated"} at resource_version ${md.resourceVersion}`;
    out.write(`workflow ${md.namespace}/${md.name} ${what}\n`);
    return 0;
  } catch (e) {
    const ce = ConnectError.from(e);
    const detail = ce.findDetails(ErrorDetailSchema)[0];
    if (!detail || ce.code === Code.Unavailable || ce.code === Code.Unimplemented) {
      err.write(`error: ${o.server}: ${ce.message}\n`);
      return 2;
    }
    err.write(`error: ${detail.reason}: ${detail.fieldViolations.length > 0 ? `${file} was refused; nothing was stored` : detail.message}\n`);
    for (const v of detail.fieldViolations) err.write(`  ${v.field}: ${v.description}\n`);
    if (detail.contract?.recovery?.guidance) err.write(`${detail.contract.recovery.guidance}\n`);
    return 1;
  }
}

/** Adds `baton workflow put` to the CLI. */
export function addWorkflowCommands(program: Command): void {
  const workflow = program.command("workflow").description("manage workflow definitions on a Baton server");
  workflow
    .command("put <file>")
    .description("store a workflow definition from a YAML file (analysed first; nothing is stored when it has problems)")
    .option("--server <url>", "the Baton server", process.env.BATON_URL ?? "http://127.0.0.1:7233")
    .option("--validate-only", "analyse and report, store nothing")
    .action(async (file: string, o: PutOptions) => {
      process.exitCode = await putWorkflowFile(file, o);
    });
}
