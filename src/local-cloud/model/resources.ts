/**
 * The region's resources as the model keeps them. Field names follow the API (camelCase of the wire names) so the
 * serializers in api/ stay obvious; times are epoch milliseconds.
 */

export type InstanceStatus = 'Pending' | 'Starting' | 'Running' | 'Stopping' | 'Stopped';
export type ChargeType = 'PrePaid' | 'PostPaid';
export type InternetChargeType = 'PayByTraffic' | 'PayByBandwidth';
export type EniStatus = 'Available' | 'Attaching' | 'InUse' | 'Detaching' | 'Deleting';
export type EipStatus = 'Available' | 'Associating' | 'InUse' | 'Unassociating';
export type EipInstanceType = 'EcsInstance' | 'NetworkInterface' | 'Nat';
export type EipMode = 'NAT' | 'BINDED' | 'MULTI_BINDED';

/** A status change that completes on its own at `at` (settled lazily on the next read or write). */
export interface Pending<S extends string> {
  to: S;
  at: number;
}

export interface Tag {
  key: string;
  value: string;
}

export interface Vpc {
  vpcId: string;
  vpcName: string;
  cidrBlock: string;
  vRouterId: string;
  /** The system route table; every vSwitch without a custom one uses it. */
  routeTableId: string;
  creationTime: number;
}

/** A route table's entry, as DescribeRouteEntryList shows it (one next hop per entry here). */
export interface RouteEntry {
  routeEntryId: string;
  destinationCidrBlock: string;
  nextHopType: string;
  nextHopId: string;
}

export interface RouteTable {
  routeTableId: string;
  vpcId: string;
  routeTableType: 'System' | 'Custom';
  routeEntries: RouteEntry[];
  creationTime: number;
}

export interface VSwitch {
  vSwitchId: string;
  vpcId: string;
  zoneId: string;
  cidrBlock: string;
  vSwitchName: string;
  /** Its route table: the VPC's system one unless a custom one is associated. */
  routeTableId: string;
  creationTime: number;
}

export interface SecurityGroup {
  securityGroupId: string;
  securityGroupName: string;
  vpcId: string;
  creationTime: number;
}

export interface NatGateway {
  natGatewayId: string;
  name: string;
  vpcId: string;
  vSwitchId: string;
  zoneId: string;
  spec: string;
  snatTableId: string;
  forwardTableId: string;
  privateIpAddress: string;
  eniInstanceId: string;
  creationTime: number;
}

export interface SnatEntry {
  snatEntryId: string;
  snatTableId: string;
  natGatewayId: string;
  snatIp: string;
  sourceVSwitchId?: string;
  sourceCIDR?: string;
  snatEntryName: string;
}

export interface Instance {
  instanceId: string;
  instanceName: string;
  hostName: string;
  zoneId: string;
  vpcId: string;
  vSwitchId: string;
  instanceType: string;
  imageId: string;
  status: InstanceStatus;
  instanceChargeType: ChargeType;
  internetChargeType: InternetChargeType;
  internetMaxBandwidthOut: number;
  internetMaxBandwidthIn: number;
  /** The static ("NAT") public IP, until ConvertNatPublicIpToEip turns it into an EIP. */
  publicIpAddress?: string;
  /** A Stopped instance's stop mode; StopCharging (economical mode) has released the static public IP. */
  stoppedMode?: 'KeepCharging' | 'StopCharging';
  primaryNetworkInterfaceId: string;
  securityGroupIds: string[];
  creationTime: number;
  startTime: number;
  /** PrePaid expiry; undefined for PostPaid (the API then shows 2099-12-31T15:59Z). */
  expiredTime?: number;
  autoReleaseTime?: number;
  /** A scheduled configuration change (e.g. a renewal with a new spec) is waiting: ConvertNatPublicIpToEip refuses. */
  pendingConfigurationChange: boolean;
  tags: Tag[];
  /** The Cloud Assistant agent in the guest (RunCommand runs scripts through it). */
  cloudAssistant: 'running' | 'stopped' | 'not-installed';
}

export interface NetworkInterface {
  networkInterfaceId: string;
  type: 'Primary' | 'Secondary';
  status: EniStatus;
  pending?: Pending<EniStatus | 'Deleted'>;
  /** The instance it is attached to (set from Attaching until Detaching completes). */
  instanceId?: string;
  deviceIndex?: number;
  vpcId: string;
  vSwitchId: string;
  zoneId: string;
  primaryIpAddress: string;
  secondaryIpAddresses: string[];
  macAddress: string;
  networkInterfaceName: string;
  description: string;
  securityGroupIds: string[];
  deleteOnRelease: boolean;
  creationTime: number;
  /** Describe* calls do not see the ENI before this time (eventual consistency; admin behaviour describeLagMs). */
  visibleAt: number;
  tags: Tag[];
  /** The guest OS answers traffic arriving on this NIC (policy routing set up); primary NICs always do. */
  guestConfigured: boolean;
  /** A stuck detach or delete: no transition runs until the call is re-issued (`reissuesLeft` more times). */
  stuck?: { reissuesLeft: number };
}

export interface EipBinding {
  instanceId: string;
  instanceType: EipInstanceType;
  /** For NetworkInterface: the ENI private IP it maps to (NAT mode). */
  privateIpAddress?: string;
  mode: EipMode;
}

export interface EipAddress {
  allocationId: string;
  ipAddress: string;
  status: EipStatus;
  pending?: Pending<EipStatus>;
  binding?: EipBinding;
  bandwidth: number;
  internetChargeType: InternetChargeType;
  chargeType: ChargeType;
  name: string;
  description: string;
  allocationTime: number;
  /** DescribeEipAddresses does not list it before this time (an EIP made by ConvertNatPublicIpToEip shows up late). */
  visibleAt: number;
  tags: Tag[];
}
