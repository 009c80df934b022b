import type { StepName } from '../shared/migration';

/**
 * What the Web UI's timeline says for each activity (its summary, release 0.3 on): the runbook's steps, numbered as
 * docs/architecture.md numbers them, with the instance, address and ENI they act on. One table per workflow; the
 * workflows only name the step.
 */

/** What a label may name; whatever is not known yet reads as a generic phrase. */
export interface StepFacts {
  instanceId: string;
  publicIp?: string;
  networkInterfaceId?: string;
  vSwitchId?: string;
  snatIp?: string;
  script?: string;
}

/** A step beyond the progress steps: the parts of step 1, and the roll-forward. */
export type RunbookStep =
  StepName | 'switchToPostPaid' | 'switchToPayByTraffic' | 'checkConversion' | 'rollForward';

interface StepWords {
  /** The runbook's number; none for a step between two (preparing the guest) or beside them (rolling forward). */
  n?: number;
  does: (f: StepFacts) => string;
  /** What its compensation does. */
  undoes?: (f: StepFacts) => string;
}

type StepTable = Partial<Record<RunbookStep, StepWords>>;

const eip = (f: StepFacts) => (f.publicIp ? `EIP ${f.publicIp}` : 'the EIP');
const eni = (f: StepFacts) => (f.networkInterfaceId ? `ENI ${f.networkInterfaceId}` : 'the new ENI');

export const MIGRATION_STEPS: StepTable = {
  preflight: { n: 0, does: (f) => `Preflight ${f.instanceId}: read-only checks, nothing changes` },
  switchToPostPaid: {
    n: 1,
    does: (f) => `Switch ${f.instanceId} to pay-as-you-go (a subscription instance cannot convert its IP)`,
  },
  switchToPayByTraffic: {
    n: 1,
    does: (f) =>
      `Bill the bandwidth of ${f.instanceId} by traffic (a subscription instance billed by fixed bandwidth cannot convert its IP)`,
  },
  convertToEip: {
    n: 1,
    does: (f) => `Convert the NAT public IP ${f.publicIp ?? ''} of ${f.instanceId} to an EIP (irreversible)`,
  },
  checkConversion: {
    n: 1,
    does: (f) =>
      `Look whether ${f.publicIp ?? 'the public IP'} became an EIP (the conversion's answer was lost)`,
  },
  createEni: {
    n: 2,
    does: (f) => `Create a secondary ENI for ${f.instanceId}${f.vSwitchId ? ` in ${f.vSwitchId}` : ''}`,
    undoes: (f) =>
      `delete ${f.networkInterfaceId ? `ENI ${f.networkInterfaceId}` : 'the ENI this migration created'}`,
  },
  attachEni: {
    n: 3,
    does: (f) => `Attach ${eni(f)} to ${f.instanceId}`,
    undoes: (f) => `detach ${eni(f)} from ${f.instanceId}`,
  },
  prepareGuest: {
    does: (f) => `Before 4: prepare the guest of ${f.instanceId} for its new NIC (script ${f.script ?? ''})`,
  },
  unassociateEip: {
    n: 4,
    does: (f) => `Unbind ${eip(f)} from ${f.instanceId} (no public address until step 5)`,
    undoes: (f) => `bind ${eip(f)} back to ${f.instanceId}`,
  },
  associateEipToEni: {
    n: 5,
    does: (f) => `Bind ${eip(f)} to ${eni(f)} (NAT mode)`,
    undoes: (f) => `unbind ${eip(f)} from ${eni(f)}`,
  },
  verify: {
    n: 6,
    does: (f) =>
      `Verify: SSH on ${f.publicIp ?? 'the EIP'} reaches ${f.instanceId} (same host key), egress leaves through ${f.snatIp ? `SNAT IP ${f.snatIp}` : 'the SNAT IP'}`,
  },
  rollForward: { does: (f) => `Roll forward: bind ${eip(f)} to ${eni(f)} and keep it there` },
};

export const REVERT_STEPS: StepTable = {
  preflight: {
    n: 0,
    does: (f) => `Preflight the revert of ${f.instanceId}: read-only checks, nothing changes`,
  },
  unassociateEipFromEni: {
    n: 1,
    does: (f) => `Unbind ${eip(f)} from ${eni(f)} (no public address until step 2)`,
    undoes: (f) => `bind ${eip(f)} back to ${eni(f)}`,
  },
  associateEipToInstance: {
    n: 2,
    does: (f) => `Bind ${eip(f)} back to ${f.instanceId}`,
    undoes: (f) => `unbind ${eip(f)} from ${f.instanceId}`,
  },
  verify: {
    n: 3,
    does: (f) =>
      `Verify: SSH on ${f.publicIp ?? 'the EIP'} reaches ${f.instanceId} again (same host key), egress leaves through it`,
  },
  detachEni: { n: 4, does: (f) => `Detach ${eni(f)} from ${f.instanceId}` },
  deleteEni: { n: 5, does: (f) => `Delete ${eni(f)}` },
  rollForward: { does: (f) => `Roll forward: keep ${eip(f)} on ${f.instanceId}` },
};

/** The summaries of one workflow run: its table, and the facts as they are when each activity is scheduled. */
export class StepLabels {
  constructor(
    private readonly table: StepTable,
    private readonly facts: () => StepFacts,
  ) {}

  /** "5. Bind EIP 47.96.1.2 to ENI eni-… (NAT mode)". */
  does(step: RunbookStep, extra: Partial<StepFacts> = {}): string {
    const words = this.words(step);
    const text = words.does({ ...this.facts(), ...extra });
    return words.n === undefined ? text : `${words.n}. ${text}`;
  }

  /** "Undo 3: detach ENI eni-… from i-…", with the round after the first ("(round 2)"). */
  undoes(step: RunbookStep, round = 1): string {
    const words = this.words(step);
    const text = (words.undoes ?? words.does)(this.facts());
    return `Undo ${words.n ?? step}: ${text}${roundOf(round)}`;
  }

  /** "Roll forward: bind EIP … to ENI … and keep it there", with the round after the first. */
  rollsForward(round = 1): string {
    return `${this.words('rollForward').does(this.facts())}${roundOf(round)}`;
  }

  // A step missing from the table reads as its name rather than failing the workflow task over a label.
  private words(step: RunbookStep): StepWords {
    return this.table[step] ?? { does: () => step };
  }
}

function roundOf(round: number): string {
  return round > 1 ? ` (round ${round})` : '';
}
