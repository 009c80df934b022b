import { CloudError } from '../errors';
import { runGuestCommand } from './guest';
import type { Region } from './region';

/**
 * Cloud Assistant (ECS 2014-05-26 RunCommand / DescribeInvocations / DescribeInvocationResults /
 * DescribeCloudAssistantStatus): the agent in each guest runs a shell script as root and reports its exit code and
 * output. An invocation on an instance is Pending while the command is delivered (the first half of `commandMs`),
 * Running for the second half, then Success (exit 0) or Failed (ExitCodeNonzero) [doc]. The script runs in the same
 * emulated guest shell as SSH (guest.ts), so a set-up script configures the secondary NIC exactly as it would over SSH.
 */

/** The agent in an instance: installed and sending heartbeats, installed but silent, or absent. */
export type CloudAssistantAgent = 'running' | 'stopped' | 'not-installed';

/** Per-instance states of an invocation [doc: DescribeInvocations InvokeInstance.InvocationStatus]. */
export type InvocationStatus = 'Pending' | 'Running' | 'Success' | 'Failed' | 'Aborted' | 'Timeout';

export interface InvocationRecord {
  instanceId: string;
  status: InvocationStatus;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  exitCode?: number;
  /** stdout then stderr, as the agent captures them (plain text; the API encodes it). */
  output: string;
  errorCode: string;
  errorInfo: string;
}

export interface Invocation {
  invokeId: string;
  commandId: string;
  name: string;
  type: string;
  /** The script as run (custom parameters already replaced). */
  content: string;
  timeoutSeconds: number;
  username: string;
  createdAt: number;
  records: InvocationRecord[];
}

export interface RunCommandInput {
  type: string;
  content: string;
  instanceIds: string[];
  name: string;
  timeoutSeconds: number;
  username: string;
}

/** Finished states: the invocation will not change any more. */
export const FINAL_STATES: ReadonlySet<InvocationStatus> = new Set([
  'Success',
  'Failed',
  'Aborted',
  'Timeout',
]);

/** The ErrorInfo texts the API documents for each ErrorCode [doc]. */
const ERROR_INFO: Record<string, string> = {
  ClientNotRunning: 'the aliyun service is not running on the instance',
  InstanceNotRunning: 'the instance is not running when create task',
  ExitCodeNonzero: 'the command execution exit code is not zero',
  ExecutionTimeout: 'the command execution has been timeout',
};

export class CloudAssistant {
  readonly invocations = new Map<string, Invocation>();

  constructor(private readonly r: Region) {
    r.settlers.push((now) => this.settle(now));
  }

  agentOf(instanceId: string): CloudAssistantAgent {
    return this.r.instances.get(instanceId)?.cloudAssistant ?? 'not-installed';
  }

  /**
   * RunCommand: checked before anything runs [doc: RunCommand error codes]. An instance without the agent cannot take
   * a command (InvalidInstance.NotMatch, 403); an instance whose agent is installed but silent takes it, and the
   * invocation is Aborted with ClientNotRunning once delivery gives up.
   */
  run(input: RunCommandInput): Invocation {
    const r = this.r;
    r.settle();
    if (input.type !== 'RunShellScript') throw CloudError.of('InvalidCmdType.NotFound', input.type);
    if (input.instanceIds.length === 0) throw CloudError.of('MissingParameter', 'InstanceId.1');
    if (input.instanceIds.length > 100) throw CloudError.of('InstanceIds.ExceedLimit');
    for (const id of input.instanceIds) {
      const inst = r.instances.get(id);
      if (!inst) throw CloudError.of('InvalidInstance.NotFound', id);
      if (inst.cloudAssistant === 'not-installed') throw CloudError.of('InvalidInstance.NotMatch', id);
    }
    const now = r.now();
    const inv: Invocation = {
      invokeId: r.ids.next('t'),
      commandId: r.ids.next('c'),
      name: input.name,
      type: input.type,
      content: input.content,
      timeoutSeconds: input.timeoutSeconds,
      username: input.username,
      createdAt: now,
      records: input.instanceIds.map((instanceId) => ({
        instanceId,
        status: 'Pending',
        createdAt: now,
        output: '',
        errorCode: '',
        errorInfo: '',
      })),
    };
    this.invocations.set(inv.invokeId, inv);
    return inv;
  }

  get(invokeId: string): Invocation | undefined {
    this.r.settle();
    return this.invocations.get(invokeId);
  }

  all(): Invocation[] {
    this.r.settle();
    return [...this.invocations.values()];
  }

  /** The overall status of an invocation, from its instances' [doc: DescribeInvocations InvocationStatus]. */
  static overall(inv: Invocation): string {
    const states = inv.records.map((x) => x.status);
    if (states.some((s) => s === 'Pending')) return 'Pending';
    if (states.some((s) => s === 'Running')) return 'Running';
    if (states.every((s) => s === 'Success')) return 'Success';
    if (states.some((s) => s === 'Success')) return 'PartialFailed';
    return 'Failed';
  }

  /** The script runs inside a settle, and the guest shell settles first: this one must not start again. */
  private settling = false;

  private settle(now: number): void {
    if (this.settling) return;
    this.settling = true;
    try {
      this.settleAt(now);
    } finally {
      this.settling = false;
    }
  }

  private settleAt(now: number): void {
    const half = this.r.timings.commandMs / 2;
    for (const inv of this.invocations.values()) {
      for (const rec of inv.records) {
        if (FINAL_STATES.has(rec.status)) continue;
        const inst = this.r.instances.get(rec.instanceId);
        if (rec.status === 'Pending' && now >= rec.createdAt + half) {
          if (!inst || inst.status !== 'Running') {
            this.fail(rec, 'Aborted', 'InstanceNotRunning', rec.createdAt + half);
            continue;
          }
          if (inst.cloudAssistant !== 'running') {
            this.fail(rec, 'Aborted', 'ClientNotRunning', rec.createdAt + half);
            continue;
          }
          rec.status = 'Running';
          rec.startedAt = rec.createdAt + half;
        }
        if (rec.status === 'Running' && now >= rec.startedAt! + half) {
          // The script runs when its result is due: what it does to the guest shows from then on.
          const out = runGuestCommand(this.r, rec.instanceId, inv.content, inv.username);
          rec.output = out.stdout + out.stderr;
          rec.exitCode = out.exitCode;
          rec.finishedAt = rec.startedAt! + half;
          if (half * 2 > inv.timeoutSeconds * 1000)
            this.fail(rec, 'Timeout', 'ExecutionTimeout', rec.finishedAt);
          else if (out.exitCode === 0) rec.status = 'Success';
          else this.fail(rec, 'Failed', 'ExitCodeNonzero', rec.finishedAt);
        }
      }
    }
  }

  private fail(rec: InvocationRecord, status: InvocationStatus, code: string, at: number): void {
    rec.status = status;
    rec.errorCode = code;
    rec.errorInfo = ERROR_INFO[code] ?? '';
    rec.finishedAt = at;
  }
}
