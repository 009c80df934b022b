import type { ActionHandler, Params } from '../contracts';
import { CloudError } from '../errors';
import { CloudAssistant, type Invocation, type InvocationRecord } from '../model/cloud-assistant';
import { checkRegion, cloudOf, idempotent, isoSeconds, tooMany } from './common';

/** Cloud Assistant: DescribeCloudAssistantStatus, RunCommand, DescribeInvocations, DescribeInvocationResults. */

const describeCloudAssistantStatus: ActionHandler = (model, params) => {
  const cloud = cloudOf(model);
  checkRegion(cloud, params);
  const ids = params.list('InstanceId');
  tooMany(params, 'InstanceId', ids, 50);
  const r = cloud.region;
  r.settle();
  // Unknown ids simply match nothing, as with the other Describe* filters.
  const instances = ids.length
    ? ids.flatMap((id) => (r.instances.has(id) ? [r.instances.get(id)!] : []))
    : [...r.instances.values()];
  return {
    TotalCount: instances.length,
    PageNumber: 1,
    PageSize: Math.max(instances.length, 10),
    InstanceCloudAssistantStatusSet: {
      InstanceCloudAssistantStatus: instances.map((inst) => {
        const invocations = cloud.cloudAssistant
          .all()
          .filter((i) => i.records.some((x) => x.instanceId === inst.instanceId));
        const installed = inst.cloudAssistant !== 'not-installed';
        return {
          InstanceId: inst.instanceId,
          // "true": a heartbeat within 2 minutes [sdk]; an agent not installed sends none either.
          CloudAssistantStatus: inst.cloudAssistant === 'running' ? 'true' : 'false',
          CloudAssistantVersion: installed ? '2.2.3.857' : '',
          OSType: 'Linux',
          ActiveTaskCount: invocations.filter((i) =>
            ['Pending', 'Running'].includes(CloudAssistant.overall(i)),
          ).length,
          InvocationCount: invocations.length,
          LastInvokedTime: isoSeconds(invocations.at(-1)?.createdAt),
          LastHeartbeatTime: inst.cloudAssistant === 'running' ? isoSeconds(r.now()) : '',
          SupportSessionManager: installed,
        };
      }),
    },
  };
};

/** CommandContent: plain text unless ContentEncoding is Base64 (case-insensitive; anything else is plain) [sdk]. */
function commandContent(params: Params): string {
  const raw = params.str('CommandContent', true)!;
  if ((params.str('ContentEncoding') ?? '').toLowerCase() !== 'base64') return raw;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(raw.trim()))
    throw CloudError.of(
      'InvalidParameter',
      'CommandContent',
      'It is not valid Base64 (ContentEncoding=Base64).',
    );
  return Buffer.from(raw, 'base64').toString('utf8');
}

/** EnableParameter=true: `{{name}}` in the script takes the value given in Parameters (a JSON object) [sdk]. */
function withParameters(content: string, params: Params): string {
  if (!params.bool('EnableParameter', false)) return content;
  let values: Record<string, unknown> = {};
  const raw = params.str('Parameters');
  if (raw) {
    try {
      values = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      throw CloudError.of('InvalidParameter', 'Parameters', 'It must be a JSON object.');
    }
  }
  return content.replace(/\{\{\s*([A-Za-z0-9_-]+)\s*\}\}/g, (all, name: string) => {
    const key = Object.keys(values).find((k) => k.toLowerCase() === name.toLowerCase());
    if (key === undefined)
      throw CloudError.of('InvalidParameter', 'Parameters', `The custom parameter "${name}" has no value.`);
    return String(values[key]);
  });
}

const runCommand: ActionHandler = (model, params) => {
  const cloud = cloudOf(model);
  checkRegion(cloud, params);
  const content = withParameters(commandContent(params), params);
  const timeout = params.int('Timeout', 60)!;
  if (timeout < 10 || timeout > 86400)
    throw CloudError.of('InvalidParameter', 'Timeout', 'It must be from 10 to 86400 seconds.');
  // ClientToken [sdk: RunCommandRequest.ClientToken]: a repeated request answers the first invocation, run once.
  return idempotent(cloud, 'RunCommand', params, () => {
    const inv = cloud.cloudAssistant.run({
      type: params.str('Type', true)!,
      content,
      instanceIds: params.list('InstanceId'),
      name: params.str('Name') ?? '',
      timeoutSeconds: timeout,
      username: params.str('Username') || 'root',
    });
    return { CommandId: inv.commandId, InvokeId: inv.invokeId };
  });
};

/** Output as the API returns it: Base64 unless ContentEncoding=PlainText [sdk]. */
function encodeOutput(text: string, params: Params): string {
  return (params.str('ContentEncoding') ?? '').toLowerCase() === 'plaintext'
    ? text
    : Buffer.from(text, 'utf8').toString('base64');
}

function matching(
  model: Parameters<ActionHandler>[0],
  params: Params,
): Array<{ inv: Invocation; rec: InvocationRecord }> {
  const cloud = cloudOf(model);
  checkRegion(cloud, params);
  const invokeId = params.str('InvokeId');
  const commandId = params.str('CommandId');
  const instanceId = params.str('InstanceId');
  return cloud.cloudAssistant
    .all()
    .filter((i) => (!invokeId || i.invokeId === invokeId) && (!commandId || i.commandId === commandId))
    .flatMap((inv) =>
      inv.records.filter((rec) => !instanceId || rec.instanceId === instanceId).map((rec) => ({ inv, rec })),
    );
}

const describeInvocationResults: ActionHandler = (model, params) => {
  const wanted = params.str('InvokeRecordStatus');
  const rows = matching(model, params).filter(({ rec }) => !wanted || recordStatus(rec) === wanted);
  return {
    Invocation: {
      TotalCount: rows.length,
      PageNumber: 1,
      PageSize: Math.max(rows.length, 10),
      InvocationResults: {
        InvocationResult: rows.map(({ inv, rec }) => ({
          CommandId: inv.commandId,
          InvokeId: inv.invokeId,
          InstanceId: rec.instanceId,
          InvocationStatus: rec.status,
          InvokeRecordStatus: recordStatus(rec),
          ExitCode: rec.exitCode ?? 0,
          Output: encodeOutput(rec.output, params),
          Dropped: 0,
          ErrorCode: rec.errorCode,
          ErrorInfo: rec.errorInfo,
          StartTime: isoSeconds(rec.startedAt),
          FinishedTime: isoSeconds(rec.finishedAt),
          StopTime: '',
          Repeats: rec.finishedAt === undefined ? 0 : 1,
          Username: inv.username,
          Tags: { Tag: [] },
        })),
      },
    },
  };
};

const describeInvocations: ActionHandler = (model, params) => {
  const rows = matching(model, params);
  const invocations = [...new Set(rows.map((x) => x.inv))];
  const includeOutput = params.bool('IncludeOutput', false);
  return {
    TotalCount: invocations.length,
    PageNumber: 1,
    PageSize: Math.max(invocations.length, 10),
    Invocations: {
      Invocation: invocations.map((inv) => ({
        InvokeId: inv.invokeId,
        CommandId: inv.commandId,
        CommandName: inv.name,
        CommandType: inv.type,
        CommandContent: Buffer.from(inv.content, 'utf8').toString('base64'),
        CreationTime: isoSeconds(inv.createdAt),
        InvocationStatus: CloudAssistant.overall(inv),
        InvokeStatus: ['Pending', 'Running'].includes(CloudAssistant.overall(inv)) ? 'Running' : 'Finished',
        RepeatMode: 'Once',
        Timed: false,
        Timeout: inv.timeoutSeconds,
        Username: inv.username,
        WorkingDir: '',
        Parameters: '{}',
        Tags: { Tag: [] },
        InvokeInstances: {
          InvokeInstance: inv.records.map((rec) => ({
            InstanceId: rec.instanceId,
            InvocationStatus: rec.status,
            InstanceInvokeStatus: recordStatus(rec),
            ExitCode: rec.exitCode ?? 0,
            Output: includeOutput ? encodeOutput(rec.output, params) : '',
            Dropped: 0,
            ErrorCode: rec.errorCode,
            ErrorInfo: rec.errorInfo,
            CreationTime: isoSeconds(rec.createdAt),
            StartTime: isoSeconds(rec.startedAt),
            FinishTime: isoSeconds(rec.finishedAt),
            UpdateTime: isoSeconds(rec.finishedAt ?? rec.startedAt ?? rec.createdAt),
            StopTime: '',
            Repeats: rec.finishedAt === undefined ? 0 : 1,
            Timed: false,
          })),
        },
      })),
    },
  };
};

/** The older, coarser per-instance state (InvokeRecordStatus): Running, Finished, Failed or Stopped [doc]. */
function recordStatus(rec: InvocationRecord): string {
  if (rec.status === 'Pending' || rec.status === 'Running') return 'Running';
  return rec.status === 'Success' ? 'Finished' : 'Failed';
}

export const ECS_CLOUD_ASSISTANT_ACTIONS: Record<string, ActionHandler> = {
  DescribeCloudAssistantStatus: describeCloudAssistantStatus,
  RunCommand: runCommand,
  DescribeInvocations: describeInvocations,
  DescribeInvocationResults: describeInvocationResults,
};
