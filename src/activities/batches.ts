import { Context } from '@temporalio/activity';

/**
 * Batches of a VPC that are running now, other than the one asking, by their search attributes. A batch started by hand has a workflow id of its
 * own per VPC, so Temporal refuses a second one by itself; a scheduled run gets a timestamped id, so each batch also
 * looks here before it starts anything.
 */
export async function runningBatchesOf(input: {
  regionId: string;
  vpcId: string;
}): Promise<{ batchIds: string[] }> {
  const quote = (s: string) => `'${s.replace(/['\\]/g, '')}'`;
  const query =
    `WorkflowType = 'migrateFleet' AND ExecutionStatus = 'Running' AND ` +
    `VpcId = ${quote(input.vpcId)} AND RegionId = ${quote(input.regionId)}`;
  // The batch asking is running too: leave it out here, so the answer in its history is the same on replay.
  const self = Context.current().info.workflowExecution;
  const batchIds: string[] = [];
  // Reads have a heartbeat timeout (src/workflows/activity-options.ts): a long listing shows it is alive, page by page.
  for await (const w of Context.current().client.workflow.list({ query })) {
    Context.current().heartbeat();
    if (w.workflowId !== self?.workflowId || w.runId !== self?.runId) batchIds.push(w.workflowId);
  }
  return { batchIds };
}
