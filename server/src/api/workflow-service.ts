/**
 * WorkflowService: validates each request (S1, and the static analysis D1 for
 * definitions), calls engine/workflow-runs.ts, and answers with the resource
 * and its agent contract (C1). No rules live here.
 */
import { create, toJson, type JsonObject } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { RunState, WorkflowSpecSchema, type Run, type Workflow } from "../../../gen/ts/baton/v1/workflow_pb.js";
import {
  ApproveStepResponseSchema,
  CancelRunResponseSchema,
  DeleteWorkflowResponseSchema,
  GetRunResponseSchema,
  GetWorkflowResponseSchema,
  ListRunsResponseSchema,
  ListWorkflowsResponseSchema,
  PutWorkflowResponseSchema,
  RejectStepResponseSchema,
  StartRunRequestSchema,
  StartRunResponseSchema,
  WorkflowService,
} from "../../../gen/ts/baton/v1/workflow_service_pb.js";
import { DEFAULT_NAMESPACE, limits } from "../core/defaults.js";
import { invalidArgument } from "../core/errors.js";
import { decodePageToken, encodePageToken } from "../core/page-token.js";
import { requestHash } from "../core/request-hash.js";
import { Violations } from "../core/validation.js";
import { analyseWorkflow } from "../core/workflow-analysis.js";
import { runContract, runStateNameOf, workflowAction, workflowContract, workflowListContract } from "../core/workflow-contract.js";
import { checkMetadata, checkName, workflowDefFromSpec } from "../core/workflow-def.js";
import type { RunStateName } from "../core/workflow-plan.js";
import { workflowFromYaml } from "../core/workflow-yaml.js";
import type { Engine } from "../engine/engine.js";
import type { WatchHub } from "../engine/watch-hub.js";
import {
  cancelRun,
  decideStep,
  deleteWorkflow,
  getRun,
  getRunSteps,
  getWorkflow,
  listRuns,
  listWorkflows,
  putWorkflow,
  startRun,
} from "../engine/workflow-runs.js";
import type { RunRow } from "../core/workflow-rows.js";
import { runFromRow, workflowFromRow } from "./workflow-message.js";
import { watchRun } from "./workflow-watch.js";
import { callEngine } from "./call-engine.js";

type Method = keyof typeof WorkflowService.method;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function check(v: Violations, method: Method, what = "send the request again with the listed fields fixed"): void {
  if (!v.empty) throw invalidArgument(v.list, workflowAction(method, what));
}

export function checkRunId(v: Violations, field: string, id: string): void {
  if (id === "") v.add(field, "is required: the run id returned by StartRun");
  else if (!UUID.test(id)) v.add(field, `must be a run id (a UUID); got ${JSON.stringify(id.slice(0, 64))}`);
}

/** PutWorkflow's request: the definition from the message or the YAML, with every problem found (D1). */
function definitionOf(req: { definition: { case: "workflow"; value: Workflow } | { case: "yaml"; value: string } | { case: undefined } }, v: Violations) {
  let workflow: Workflow | undefined;
  let prefix = "workflow.";
  let locate = (_field: string) => "";
  if (req.definition.case === "workflow") workflow = req.definition.value;
  else if (req.definition.case === "yaml") {
    prefix = "yaml.";
    const parsed = workflowFromYaml(req.definition.value, prefix);
    for (const x of parsed.violations) v.add(x.field, x.description);
    workflow = parsed.workflow;
    locate = parsed.locate;
  } else v.add("definition", "is required: set workflow (a Workflow message) or yaml (the same as YAML)");
  if (!workflow) return undefined;
  const found = new Violations();
  const { namespace, name } = checkMetadata(workflow, found, prefix);
  const def = workflowDefFromSpec(workflow.spec, found, `${prefix}spec.`);
  for (const x of analyseWorkflow(def, `${prefix}spec.`)) found.add(x.field, x.description);
  for (const x of found.list) v.add(x.field, `${x.description}${locate(x.field)}`);
  return { workflow, namespace: namespace || DEFAULT_NAMESPACE, name };
}

async function runWithSteps(engine: Engine, row: RunRow): Promise<Run> {
  return runFromRow(row, { steps: await getRunSteps(engine, row.id) });
}

export function createWorkflowService(engine: Engine, hub: WatchHub): ServiceImpl<typeof WorkflowService> {
  return {
    async putWorkflow(req) {
      const v = new Violations();
      const d = definitionOf(req, v);
      check(v, "putWorkflow", "fix every listed problem and put the workflow again; nothing was stored");
      const { workflow, namespace, name } = d!;
      const spec = toJson(WorkflowSpecSchema, workflow.spec!) as JsonObject;
      const outcome = await putWorkflow(engine, {
        namespace,
        name,
        labels: { ...workflow.metadata!.labels },
        spec,
        expectedVersion: workflow.metadata!.resourceVersion,
        validateOnly: req.validateOnly,
      });
      const stored = workflowFromRow(outcome.row);
      return create(PutWorkflowResponseSchema, {
        workflow: stored,
        created: outcome.created,
        changed: outcome.changed,
        contract: workflowContract(
          stored,
          req.validateOnly ? "valid: nothing was stored (validate_only)"
          : outcome.changed ? `stored as resource_version ${stored.metadata!.resourceVersion}`
          : "unchanged: the stored definition is the same",
        ),
      });
    },

    async getWorkflow(req) {
      const v = new Violations();
      v.namespace("namespace", req.namespace, limits.namespaceMaxChars);
      checkName(v, "name", req.name, "workflow");
      check(v, "getWorkflow");
      const wf = workflowFromRow(await getWorkflow(engine, req.namespace || DEFAULT_NAMESPACE, req.name));
      return create(GetWorkflowResponseSchema, { workflow: wf, contract: workflowContract(wf) });
    },

    async listWorkflows(req) {
      const v = new Violations();
      v.namespace("namespace", req.namespace, limits.namespaceMaxChars);
      const pageSize = req.pageSize === 0 ? limits.pageSizeDefault : req.pageSize;
      v.intRange("page_size", pageSize, 1, limits.pageSizeMax);
      const namespace = req.namespace || DEFAULT_NAMESPACE;
      const filterHash = requestHash(["workflows", namespace]).slice(0, 16);
      let after: string | null = null;
      if (req.pageToken !== "") {
        const cursor = decodePageToken(req.pageToken);
        if (!cursor || cursor.filterHash !== filterHash) v.add("page_token", "is not a token from ListWorkflows for this namespace: pass next_page_token unchanged");
        else after = cursor.afterId;
      }
      check(v, "listWorkflows");
      const rows = await listWorkflows(engine, namespace, after, pageSize + 1);
      const page = rows.slice(0, pageSize);
      const last = page[page.length - 1];
      const nextPageToken = rows.length > pageSize && last ? encodePageToken({ afterId: last.name, filterHash }) : "";
      return create(ListWorkflowsResponseSchema, {
        workflows: page.map(workflowFromRow),
        nextPageToken,
        contract: workflowListContract(
          [
            ...(nextPageToken ? [workflowAction("listWorkflows", "fetch the next page with page_token = next_page_token")] : []),
            workflowAction("startRun", "start a run of one of them"),
            workflowAction("putWorkflow", "create or change a workflow"),
          ],
          nextPageToken ? "more workflows: page on" : "this is the last page",
        ),
      });
    },

    async deleteWorkflow(req) {
      const v = new Violations();
      v.namespace("namespace", req.namespace, limits.namespaceMaxChars);
      checkName(v, "name", req.name, "workflow");
      if (req.resourceVersion !== "" && !/^\d{1,19}$/.test(req.resourceVersion)) v.add("resource_version", "must be a resource_version from the workflow's metadata");
      check(v, "deleteWorkflow");
      const wf = workflowFromRow(await deleteWorkflow(engine, req.namespace || DEFAULT_NAMESPACE, req.name, req.resourceVersion));
      return create(DeleteWorkflowResponseSchema, {
        workflow: wf,
        contract: workflowListContract(
          [workflowAction("putWorkflow", "create it again"), workflowAction("listRuns", "follow its runs, which go on (D3)")],
          `deleted workflow ${wf.metadata!.name}; runs already started go on`,
        ),
      });
    },

    async startRun(req) {
      const v = new Violations();
      v.namespace("namespace", req.namespace, limits.namespaceMaxChars);
      checkName(v, "workflow", req.workflow, "workflow");
      const input = v.jsonObject("input", req.input, limits.jsonMaxBytes, limits.jsonMaxDepth);
      v.maxChars("idempotency_key", req.idempotencyKey, limits.idempotencyKeyMaxChars);
      v.labels("labels", req.labels, limits.labelsMax, limits.labelKeyMaxChars, limits.labelValueMaxChars);
      if (req.workflowVersion !== "" && !/^\d{1,19}$/.test(req.workflowVersion)) v.add("workflow_version", "must be a resource_version from the workflow's metadata");
      v.maxChars("trace_id", req.traceId, limits.traceIdMaxChars);
      check(v, "startRun");
      const namespace = req.namespace || DEFAULT_NAMESPACE;
      const outcome = await startRun(engine, {
        namespace,
        workflow: req.workflow,
        input,
        idempotencyKey: req.idempotencyKey === "" ? null : req.idempotencyKey,
        labels: { ...req.labels },
        workflowVersion: req.workflowVersion,
        traceId: req.traceId,
        requestHash: requestHash(toJson(StartRunRequestSchema, { ...req, namespace })),
      });
      const run = await runWithSteps(engine, outcome.row);
      return create(StartRunResponseSchema, { run, created: outcome.created, contract: runContract(run) });
    },

    async getRun(req) {
      const v = new Violations();
      checkRunId(v, "id", req.id);
      check(v, "getRun");
      const detail = await getRun(engine, req.id);
      const run = runFromRow(detail.run, { ...detail, spec: true });
      return create(GetRunResponseSchema, { run, contract: runContract(run) });
    },

    async listRuns(req) {
      const v = new Violations();
      v.namespace("namespace", req.namespace, limits.namespaceMaxChars);
      if (req.workflow !== "") checkName(v, "workflow", req.workflow, "workflow");
      const states: RunStateName[] = [];
      req.states.forEach((s, i) => {
        const name = runStateNameOf[s];
        if (name) states.push(name as RunStateName);
        else v.add(`states[${i}]`, `must be one of RUNNING, SUCCEEDED, FAILED, CANCELLED, TIMED_OUT; got ${RunState[s] ?? s}`);
      });
      const pageSize = req.pageSize === 0 ? limits.pageSizeDefault : req.pageSize;
      v.intRange("page_size", pageSize, 1, limits.pageSizeMax);
      const namespace = req.namespace || DEFAULT_NAMESPACE;
      const filterHash = requestHash(["runs", namespace, req.workflow, [...states].sort()]).slice(0, 16);
      let afterId: string | null = null;
      if (req.pageToken !== "") {
        const cursor = decodePageToken(req.pageToken);
        if (!cursor || !UUID.test(cursor.afterId)) v.add("page_token", "is not a token from ListRuns: pass next_page_token unchanged, or leave it empty");
        else if (cursor.filterHash !== filterHash) v.add("page_token", "was made for other filters: keep namespace, workflow and states the same while paging");
        else afterId = cursor.afterId;
      }
      check(v, "listRuns");
      const rows = await listRuns(engine, { namespace, workflow: req.workflow, states, afterId, limit: pageSize + 1 });
      const page = rows.slice(0, pageSize);
      const last = page[page.length - 1];
      const nextPageToken = rows.length > pageSize && last ? encodePageToken({ afterId: last.id, filterHash }) : "";
      return create(ListRunsResponseSchema, {
        runs: page.map((r) => runFromRow(r)),
        nextPageToken,
        contract: workflowListContract(
          [
            ...(nextPageToken ? [workflowAction("listRuns", "fetch the next page with page_token = next_page_token")] : []),
            workflowAction("getRun", "read one run with its steps"),
          ],
          nextPageToken ? "more runs match: page on" : "this is the last page",
        ),
      });
    },

    async cancelRun(req) {
      const v = new Violations();
      checkRunId(v, "id", req.id);
      v.maxChars("reason", req.reason, limits.reasonMaxChars);
      check(v, "cancelRun");
      const run = await runWithSteps(engine, await cancelRun(engine, req.id, req.reason));
      return create(CancelRunResponseSchema, { run, contract: runContract(run) });
    },

    async approveStep(req) {
      const v = new Violations();
      checkRunId(v, "run_id", req.runId);
      checkName(v, "step", req.step, "step");
      v.maxChars("approver", req.approver, limits.nameMaxChars);
      v.maxChars("comment", req.comment, limits.reasonMaxChars);
      check(v, "approveStep");
      const run = await runWithSteps(engine, await decideStep(engine, req.runId, req.step, { approve: true, by: req.approver, comment: req.comment }));
      return create(ApproveStepResponseSchema, { run, contract: runContract(run) });
    },

    async rejectStep(req) {
      const v = new Violations();
      checkRunId(v, "run_id", req.runId);
      checkName(v, "step", req.step, "step");
      v.maxChars("approver", req.approver, limits.nameMaxChars);
      v.maxChars("reason", req.reason, limits.reasonMaxChars);
      check(v, "rejectStep");
      const run = await runWithSteps(engine, await decideStep(engine, req.runId, req.step, { approve: false, by: req.approver, reason: req.reason }));
      return create(RejectStepResponseSchema, { run, contract: runContract(run) });
    },

    watchRun(req, ctx) {
      return watchRun(callEngine(engine, ctx), hub, req, ctx.signal, ctx.responseHeader);
    },
  };
}
