import type Ecs from '@alicloud/ecs20140526';
import * as $Ecs from '@alicloud/ecs20140526';
import { callApi } from './call';

/**
 * Cloud Assistant, the ECS agent that runs a script in the guest as root (what Alibaba's own OOS template uses to set
 * up a new ENI's NIC): is the agent there, run a shell script, read its result. Part of the ECS API (2014-05-26).
 */

/** The agent on one instance: `running` means a heartbeat within the last 2 minutes (DescribeCloudAssistantStatus). */
export interface CloudAssistantAgent {
  installed: boolean;
  running: boolean;
  version?: string;
}

/** One instance's result of an invocation (DescribeInvocationResults). */
export interface InvocationResult {
  /** Pending | Running | Success | Failed | Aborted | Timeout | Error | Invalid | Cancelled | Terminated ... */
  status: string;
  exitCode?: number;
  /** The script's output (stdout and stderr), decoded. */
  output: string;
  /** Why it failed to be sent or run (ClientNotRunning, ExitCodeNonzero, ExecutionTimeout...), empty when it ran. */
  errorCode: string;
  errorInfo: string;
}

export interface RunShellScriptRequest {
  instanceId: string;
  name: string;
  script: string;
  /** Values of the script's `{{name}}` custom parameters; none: the script is sent as it is. */
  parameters?: Record<string, string>;
  timeoutSeconds: number;
  /** Idempotency: a RunCommand repeated with the same token (a retry after a lost response) runs nothing new. */
  clientToken: string;
}

export interface CloudAssistantCalls {
  /** The agent on the instance, or undefined when the instance is unknown. */
  cloudAssistantAgent(instanceId: string): Promise<CloudAssistantAgent | undefined>;
  /** RunCommand (RunShellScript, Base64, run once as root, not kept): the invocation's id. */
  runShellScript(request: RunShellScriptRequest): Promise<{ invokeId: string }>;
  /** The instance's result of the invocation, or undefined when the cloud lists none (yet). */
  invocationResult(invokeId: string, instanceId: string): Promise<InvocationResult | undefined>;
}

export function cloudAssistantCalls(client: Ecs, regionId: string): CloudAssistantCalls {
  return {
    async cloudAssistantAgent(instanceId) {
      const res = await callApi('DescribeCloudAssistantStatus', () =>
        client.describeCloudAssistantStatus(
          new $Ecs.DescribeCloudAssistantStatusRequest({ regionId, instanceId: [instanceId] }),
        ),
      );
      const found = res.body?.instanceCloudAssistantStatusSet?.instanceCloudAssistantStatus?.find(
        (s) => s.instanceId === instanceId,
      );
      if (!found) return undefined;
      return {
        installed: !!found.cloudAssistantVersion,
        running: String(found.cloudAssistantStatus).toLowerCase() === 'true',
        version: found.cloudAssistantVersion || undefined,
      };
    },

    async runShellScript(r) {
      const res = await callApi('RunCommand', () =>
        client.runCommand(
          new $Ecs.RunCommandRequest({
            regionId,
            type: 'RunShellScript',
            // Base64 keeps quotes and newlines intact on the way.
            commandContent: Buffer.from(r.script, 'utf8').toString('base64'),
            contentEncoding: 'Base64',
            instanceId: [r.instanceId],
            name: r.name,
            timeout: r.timeoutSeconds,
            keepCommand: false,
            clientToken: r.clientToken,
            ...(r.parameters ? { enableParameter: true, parameters: r.parameters } : {}),
          }),
        ),
      );
      const invokeId = res.body?.invokeId;
      if (!invokeId) throw new Error('RunCommand answered without an InvokeId');
      return { invokeId };
    },

    async invocationResult(invokeId, instanceId) {
      const res = await callApi('DescribeInvocationResults', () =>
        client.describeInvocationResults(
          new $Ecs.DescribeInvocationResultsRequest({
            regionId,
            invokeId,
            instanceId,
            contentEncoding: 'PlainText',
          }),
        ),
      );
      const found = res.body?.invocation?.invocationResults?.invocationResult?.find(
        (x) => x.instanceId === instanceId,
      );
      if (!found) return undefined;
      return {
        status: found.invocationStatus ?? '',
        exitCode: found.exitCode,
        output: found.output ?? '',
        errorCode: found.errorCode ?? '',
        errorInfo: found.errorInfo ?? '',
      };
    },
  };
}
