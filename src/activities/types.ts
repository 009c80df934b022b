/**
 * Inputs and results of the activities. The workflow imports these as types only. Nothing here carries a secret:
 * credentials and SSH keys stay inside the worker's cloud and SSH clients.
 */
import type { VpcShared } from '../cloud/vpc';

export type { VpcShared };
import type { FleetSelection } from '../shared/fleet';
import type { PreflightCheck } from '../shared/migration';

/** How the guest is set up for its new NIC after step 3: a script through Cloud Assistant, over SSH, or not at all. */
export type GuestSetup = 'cloud-assistant' | 'ssh' | 'none';

export interface PreflightInput {
  /** Must be the region this worker's cloud clients serve. */
  regionId: string;
  instanceId: string;
  vSwitchId?: string;
  securityGroupId?: string;
  primaryIpAddress?: string;
  /** Verification over SSH is on: the instance must be Running and reachable on its public address now. */
  verify: boolean;
  allowChargeTypeChange: boolean;
  /** A PrePaid instance billed by fixed bandwidth may switch its bandwidth to pay-by-traffic. Absent: no. */
  allowPayByTraffic?: boolean;
  /** Name of the guest script run over SSH to show the egress before the move. Default EGRESS_CHECK_SCRIPT_DEFAULT. */
  egressCheckScript?: string;
  /** Name of the guest script step 4 will run: checked now, so an unknown name is refused before anything changes. */
  guestPrepareScript?: string;
  /** How the guest is set up for its new NIC; `cloud-assistant` checks the agent and picks the script now. Absent: SSH or none, as before. */
  guestSetup?: GuestSetup;
  /** A batch's one reading of the VPC's vSwitches and NAT gateways, used instead of reading them again. */
  vpcShared?: VpcShared;
}

/** What preflight found and what the migration will do, every field read from the cloud. */
export interface MigrationPlan {
  instanceId: string;
  vpcId: string;
  zoneId: string;
  instanceStatus: string;
  /** The instance's primary private IP. */
  privateIp: string;
  /** The address that moves: the NAT public IP, or the EIP already bound to the instance. */
  publicIp: string;
  /** Known when the instance already has an EIP: step 1 is skipped. */
  allocationId?: string;
  /** Step 1 is needed: the address is still a NAT public IP. */
  convert: boolean;
  /** A PrePaid instance that the caller allowed to switch to PostPaid before converting. */
  switchToPostPaid: boolean;
  /**
   * A PrePaid instance whose bandwidth is billed by fixed bandwidth, which the caller allowed to switch to
   * pay-by-traffic (ModifyInstanceNetworkSpec) before converting. Absent in plans of older releases.
   */
  switchToPayByTraffic?: boolean;
  vSwitchId: string;
  securityGroupId: string;
  /** Every group the new ENI joins: all the instance's groups, or the one `securityGroupId` input names. */
  securityGroupIds?: string[];
  primaryIpAddress?: string;
  natGatewayId: string;
  /** The SNAT entry's address(es): after the move, outbound traffic must leave from one of these. */
  snatIps: string[];
  /** Recorded on the public address before the move; verification expects the same key on the EIP. */
  hostKeyFingerprint?: string;
  /** With `guestSetup: cloud-assistant`: the guest script Cloud Assistant runs after step 3 (named, or by OS). */
  guestSetupScript?: string;
}

export interface PreflightResult {
  ok: boolean;
  /**
   * The instance's EIP is on a NAT-mode ENI already (a previous run finished the move): nothing to do. Preflight
   * reports it without failing a check; a workflow of a release before 0.5 refuses it.
   */
  alreadyMigrated?: { publicIp: string; networkInterfaceId: string; allocationId?: string };
  checks: PreflightCheck[];
  /** Complete when `ok`; as far as it got otherwise. */
  plan: Partial<MigrationPlan>;
}

/**
 * Inputs of the activities that send a ClientToken carry its seed: the workflow's firstExecutionRunId, which a
 * Temporal reset keeps (a reset replays the steps in a new run; with tokens from the run id, step 2 would create a
 * second ENI) and a new migration of the same instance does not (it must not get the deleted ENI back).
 */
export interface TokenSeeded {
  /** Absent in inputs scheduled before this field existed: the activity's run id is used then. */
  tokenSeed?: string;
}

export interface NetworkInterfaceRef {
  networkInterfaceId: string;
  instanceId: string;
}

export interface CreateNetworkInterfaceInput extends TokenSeeded {
  instanceId: string;
  vSwitchId: string;
  /** The first of `securityGroupIds` (inputs from before that field carry only this one). */
  securityGroupId: string;
  /** Every group the ENI joins: the instance's own, or the one asked for. Absent in older inputs. */
  securityGroupIds?: string[];
  primaryIpAddress?: string;
}

export interface DeleteNetworkInterfaceInput {
  /** Unknown when step 2 never returned (its answer was lost, it failed or was cancelled after the cloud acted). */
  networkInterfaceId?: string;
  /**
   * Step 2's input: with it, an unknown id is learned by sending step 2's CreateNetworkInterface again. Absent when
   * the id is known without it (the way back deletes an ENI it found), and in inputs of releases before it existed.
   */
  create?: CreateNetworkInterfaceInput;
  /** ClientToken seed, when `create` does not carry it. */
  tokenSeed?: string;
}

/** Inputs of the EIP moves. The fields after the first release's are optional: older inputs still run. */
interface EipMove extends TokenSeeded {
  /**
   * Keeps this call's ClientTokens apart from those of the same move made before (a rollback round, a roll-forward):
   * a token the cloud already answered would only get that old answer back.
   */
  tokenScope?: string;
  /**
   * In a rollback: the EIP found InUse here instead (an operator fixed it by hand) counts as done, since it has a
   * home; the result's `endedOn` names it. An instance id or an ENI id.
   */
  orHomeOn?: string;
}

export interface EipOnInstance extends EipMove {
  allocationId: string;
  instanceId: string;
}

export interface EipOnEni extends EipMove {
  allocationId: string;
  networkInterfaceId: string;
  /** The ENI's primary private IP, which the EIP maps to (NAT mode). */
  privateIpAddress: string;
}

export interface GuestScriptInput {
  /** The public address to SSH to. */
  address: string;
  /** Name of a guest script of the worker's registry (never shell text). */
  script: string;
  /** The host key recorded in preflight: the connection is refused before authenticating if it differs. */
  hostKeyFingerprint?: string;
}

export interface VerifyInput {
  /** The EIP's address, now on the secondary ENI. */
  address: string;
  hostKeyFingerprint: string;
  snatIps: string[];
  timeoutSeconds: number;
  /** Name of the guest script whose answer (an IPv4 address) must be one of `snatIps`. Default EGRESS_CHECK_SCRIPT_DEFAULT. */
  egressCheckScript?: string;
}

export interface RevertPreflightInput {
  /** Must be the region this worker's cloud clients serve. */
  regionId: string;
  instanceId: string;
  /** SSH on the EIP must work now, and again once it is back on the instance. */
  verify: boolean;
  /** Name of the egress check (default EGRESS_CHECK_SCRIPT_DEFAULT). */
  egressCheckScript?: string;
}

/** What the way back will move, every field read from the cloud. */
export interface RevertPlan {
  instanceId: string;
  instanceStatus: string;
  vpcId?: string;
  /** The secondary ENI this project created, carrying the EIP. */
  networkInterfaceId: string;
  eniPrivateIp: string;
  allocationId: string;
  publicIp: string;
  /** Recorded on the EIP before the move; verification expects the same key after it. */
  hostKeyFingerprint?: string;
}

export interface RevertPreflightResult {
  ok: boolean;
  checks: PreflightCheck[];
  plan: Partial<RevertPlan>;
}

/** What a batch (migrateFleet) discovers: the VPC and which of its instances to consider. */
export interface DiscoverFleetInput {
  regionId: string;
  vpcId: string;
  select?: FleetSelection;
}

/**
 * One instance as discovery found it: `nat-public-ip` or `eip` (a migration moves it), `already-migrated` (its EIP is
 * on a secondary ENI), `no-public-address` (nothing to move), `not-in-selection` (an id asked for that the VPC and
 * filters do not have).
 */
export interface DiscoveredInstance {
  instanceId: string;
  instanceName?: string;
  zoneId?: string;
  vSwitchId?: string;
  found: 'nat-public-ip' | 'eip' | 'already-migrated' | 'no-public-address' | 'not-in-selection';
  publicIp?: string;
  networkInterfaceId?: string;
  detail: string;
}

export interface DiscoverFleetResult {
  instances: DiscoveredInstance[];
  vpcShared: VpcShared;
}

/** The guest step through Cloud Assistant, after step 3: the script runs in the instance as root. */
export interface CloudAssistantSetupInput {
  instanceId: string;
  /** Name of a guest script of the worker's registry (never shell text). */
  script: string;
  /** The new ENI: its NIC's device, address and vSwitch fill the script's custom parameters where it takes them. */
  networkInterfaceId: string;
  timeoutSeconds?: number;
}

/** What the guest step's script did, for the report. */
export interface GuestSetupResult {
  via: 'cloud-assistant';
  script: string;
  invokeId: string;
  /** Cloud Assistant's InvocationStatus: Success here (anything else fails the step). */
  status: string;
  exitCode: number;
  /** The first 300 characters of its output. */
  output: string;
}
