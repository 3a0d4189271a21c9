/** Named queries on baton_workflows, the stored definitions (migrations/003_workflows.sql). */
import type { JsonObject } from "@bufbuild/protobuf";
import type { Queryable } from "./database.js";
import type { WorkflowRow } from "../core/workflow-rows.js";

// ---- workflows ------------------------------------------------------------------

/** WorkflowGet */
export async function workflowGet(sql: Queryable, namespace: string, name: string, forUpdate = false): Promise<WorkflowRow | undefined> {
  const rows =
    forUpdate ?
      await sql<WorkflowRow[]>`SELECT * FROM baton_workflows WHERE namespace = ${namespace} AND name = ${name} FOR UPDATE`
    : await sql<WorkflowRow[]>`SELECT * FROM baton_workflows WHERE namespace = ${namespace} AND name = ${name}`;
  return rows[0];
}

/** WorkflowInsert: nothing when the name exists (a concurrent create won). */
export async function workflowInsert(
  sql: Queryable,
  w: { namespace: string; name: string; labels: Record<string, string>; spec: JsonObject; specHash: string },
): Promise<WorkflowRow | undefined> {
  const rows = await sql<WorkflowRow[]>`
    INSERT INTO baton_workflows (namespace, name, resource_version, labels, spec, spec_hash, created_at, updated_at)
    VALUES (${w.namespace}, ${w.name}, nextval('baton_workflow_version'), ${sql.json(w.labels)}, ${sql.json(w.spec as never)},
      ${w.specHash}, now(), now())
    ON CONFLICT (namespace, name) DO NOTHING
    RETURNING *`;
  return rows[0];
}

/** WorkflowUpdate: a new version of a row the caller has locked. */
export async function workflowUpdate(
  sql: Queryable,
  w: { namespace: string; name: string; labels: Record<string, string>; spec: JsonObject; specHash: string },
): Promise<WorkflowRow> {
  const rows = await sql<WorkflowRow[]>`
    UPDATE baton_workflows SET resource_version = nextval('baton_workflow_version'), labels = ${sql.json(w.labels)},
      spec = ${sql.json(w.spec as never)}, spec_hash = ${w.specHash}, updated_at = now()
    WHERE namespace = ${w.namespace} AND name = ${w.name}
    RETURNING *`;
  return rows[0]!;
}

/** WorkflowDelete */
export async function workflowDelete(sql: Queryable, namespace: string, name: string): Promise<WorkflowRow | undefined> {
  const rows = await sql<WorkflowRow[]>`DELETE FROM baton_workflows WHERE namespace = ${namespace} AND name = ${name} RETURNING *`;
  return rows[0];
}

/** WorkflowList: by name, keyset-paginated. */
export async function workflowList(sql: Queryable, namespace: string, afterName: string | null, limit: number): Promise<WorkflowRow[]> {
  return sql<WorkflowRow[]>`
    SELECT * FROM baton_workflows
    WHERE namespace = ${namespace} AND (${afterName}::text IS NULL OR name > ${afterName}::text)
    ORDER BY name
    LIMIT ${limit}`;
}
