import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { BUILTIN_IMAGES, BUILTIN_INSTANCE_TYPES } from './catalog';
import { IdFactory } from './ids';
import { cidrContains, cidrWithin, isIpv4, isUsableInVSwitch, parseCidr } from './ipv4';

/*
 * The region a local cloud starts with. JSON shape (every id is given explicitly so resources can refer to each other;
 * fields marked ? are optional):
 *
 * {
 *   "regionId": "cn-hangzhou",
 *   "vpcs": [{
 *     "vpcId": "vpc-bp1…", "vpcName"?: "prod", "cidrBlock": "192.168.0.0/16",
 *     "vSwitches": [{ "vSwitchId": "vsw-bp1…", "zoneId": "cn-hangzhou-i", "cidrBlock": "192.168.1.0/24", "vSwitchName"?: "…",
 *                     "routeTableId"?: "vtb-bp1…" }],          // one of routeTables; default the VPC's system route table
 *     "routeTables"?: [{ "routeTableId": "vtb-bp1…",               // custom route tables (the system one is implicit and
 *                        "routeEntries": [{ "destinationCidrBlock": "0.0.0.0/0",   // sends 0.0.0.0/0 to the VPC's first
 *                                           "nextHopType": "NatGateway", "nextHopId": "ngw-bp1…" }] }],   // NAT gateway)
 *     "securityGroups": [{ "securityGroupId": "sg-bp1…", "securityGroupName"?: "…" }],
 *     "natGateways"?: [{
 *       "natGatewayId": "ngw-bp1…", "name"?: "…", "spec"?: "Small", "vSwitchId": "vsw-bp1…",
 *       "snatTableId": "stb-bp1…",
 *       "eips": [{ "allocationId": "eip-bp1…", "ipAddress": "47.96.180.23", "bandwidth"?: 100 }],   // bound to the NAT gateway
 *       "snatEntries": [{ "snatEntryId": "snat-bp1…", "snatIp": "47.96.180.23",                    // one of the gateway's EIPs
 *                         "sourceVSwitchId"?: "vsw-bp1…", "sourceCIDR"?: "192.168.1.0/24", "snatEntryName"?: "…" }]
 *     }]
 *   }],
 *   "instanceTypes"?: [{ "instanceTypeId": "ecs.x.large", "instanceTypeFamily": "ecs.x", "cpuCoreCount": 2,
 *                        "memorySize": 8, "eniQuantity": 1, "eniPrivateIpAddressQuantity": 6 }],   // added to the built-in ones
 *   "images"?: [{ "imageId": "…", "osName": "…", "osType": "linux", "secondaryNicSetup": "auto" | "manual" }],
 *   "instances": [{
 *     "instanceId": "i-bp1…", "instanceName"?: "web-01", "hostName"?: "…",
 *     "vSwitchId": "vsw-bp1…", "securityGroupIds": ["sg-bp1…"],
 *     "instanceType": "ecs.g7.large", "imageId": "aliyun_3_x64_20G_alibase_20240819.vhd",
 *     "status"?: "Running" | "Stopped" | "Starting" | "Stopping" | "Pending",   // default Running; stays put
 *     "instanceChargeType"?: "PostPaid" | "PrePaid",                  // default PostPaid
 *     "expiredTime"?: "2030-01-01T00:00Z", "expiresInHours"?: 12,      // PrePaid only; default 30 days after start
 *     "autoReleaseTime"?: "2030-01-01T00:00:00Z",
 *     "internetChargeType"?: "PayByTraffic" | "PayByBandwidth",       // default PayByTraffic
 *     "internetMaxBandwidthOut"?: 5,                                   // Mbit/s; default 5, 0 if there is no public IP
 *     "publicIpAddress"?: "203.0.113.10",                              // the static ("NAT") public IP; omit for none
 *     "privateIpAddress"?: "192.168.1.10", "primaryNetworkInterfaceId"?: "eni-bp1…",
 *     "tags"?: [{ "key": "env", "value": "prod" }],
 *     "cloudAssistant"?: "running" | "stopped" | "not-installed",     // the agent; default running
 *     "startTime"?: "2018-03-01T00:00Z",                               // last start; default 30 days before the cloud's
 *     "pendingConfigurationChange"?: true                              // a scheduled change (ConvertNatPublicIpToEip refuses)
 *   }],
 *   "eips"?: [{ "allocationId": "eip-bp1…", "ipAddress": "47.96.1.2", "bandwidth"?: 5 }],  // unbound (Available) EIPs
 *   "quotas"?: { "maxEnis"?: 1000,   // secondary ENIs per account in the region (MaxEniCountExceeded past it)
 *                "maxEips"?: 20 }    // EIPs per account in the region (MaxEIPQuotaExceeded on Convert past it)
 * }
 * An instance may also carry "stoppedMode"?: "KeepCharging" | "StopCharging" (Stopped only; StopCharging, the
 * economical mode, PostPaid only): a StopCharging instance has released its static public IP, so it shows none.
 */

const id = (prefix: string) =>
  z
    .string()
    .regex(
      new RegExp(`^${prefix}-[a-z0-9]{4,40}$`),
      `must look like ${prefix}-bp1… (lowercase letters and digits)`,
    );
const cidr = z.string().refine((s) => !!parseCidr(s), 'must be an IPv4 CIDR block such as 192.168.0.0/16');
const ipv4 = z.string().refine(isIpv4, 'must be an IPv4 address');
const tag = z.object({ key: z.string().min(1), value: z.string() }).strict();

const eipSchema = z
  .object({ allocationId: id('eip'), ipAddress: ipv4, bandwidth: z.number().int().positive().optional() })
  .strict();

const topologySchema = z
  .object({
    regionId: z.string().regex(/^[a-z]+-[a-z0-9-]+$/, 'must be a region id such as cn-hangzhou'),
    vpcs: z
      .array(
        z
          .object({
            vpcId: id('vpc'),
            vpcName: z.string().optional(),
            cidrBlock: cidr,
            vSwitches: z
              .array(
                z
                  .object({
                    vSwitchId: id('vsw'),
                    zoneId: z.string().min(1),
                    cidrBlock: cidr,
                    vSwitchName: z.string().optional(),
                    routeTableId: id('vtb').optional(),
                  })
                  .strict(),
              )
              .min(1),
            securityGroups: z
              .array(
                z.object({ securityGroupId: id('sg'), securityGroupName: z.string().optional() }).strict(),
              )
              .min(1),
            natGateways: z
              .array(
                z
                  .object({
                    natGatewayId: id('ngw'),
                    name: z.string().optional(),
                    spec: z.string().optional(),
                    vSwitchId: id('vsw'),
                    snatTableId: id('stb'),
                    eips: z.array(eipSchema).min(1),
                    snatEntries: z.array(
                      z
                        .object({
                          snatEntryId: id('snat'),
                          snatIp: ipv4,
                          sourceVSwitchId: id('vsw').optional(),
                          sourceCIDR: cidr.optional(),
                          snatEntryName: z.string().optional(),
                        })
                        .strict(),
                    ),
                  })
                  .strict(),
              )
              .optional(),
            routeTables: z
              .array(
                z
                  .object({
                    routeTableId: id('vtb'),
                    routeEntries: z.array(
                      z
                        .object({
                          destinationCidrBlock: cidr,
                          nextHopType: z.enum(['NatGateway', 'Instance', 'NetworkInterface', 'HaVip']),
                          nextHopId: z.string().min(1),
                        })
                        .strict(),
                    ),
                  })
                  .strict(),
              )
              .optional(),
          })
          .strict(),
      )
      .min(1),
    instanceTypes: z
      .array(
        z
          .object({
            instanceTypeId: z.string().regex(/^ecs\./, 'must start with ecs.'),
            instanceTypeFamily: z.string(),
            cpuCoreCount: z.number().int().positive(),
            memorySize: z.number().positive(),
            eniQuantity: z.number().int().min(1),
            eniPrivateIpAddressQuantity: z.number().int().min(1),
          })
          .strict(),
      )
      .optional(),
    images: z
      .array(
        z
          .object({
            imageId: z.string().min(1),
            osName: z.string(),
            osType: z.enum(['linux', 'windows']),
            secondaryNicSetup: z.enum(['auto', 'manual']),
          })
          .strict(),
      )
      .optional(),
    instances: z.array(
      z
        .object({
          instanceId: id('i'),
          instanceName: z.string().optional(),
          hostName: z.string().optional(),
          vSwitchId: id('vsw'),
          securityGroupIds: z.array(id('sg')).min(1),
          instanceType: z.string(),
          imageId: z.string(),
          status: z.enum(['Running', 'Stopped', 'Pending', 'Starting', 'Stopping']).optional(),
          instanceChargeType: z.enum(['PostPaid', 'PrePaid']).optional(),
          expiredTime: z
            .string()
            .refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO 8601 time')
            .optional(),
          expiresInHours: z.number().positive().optional(),
          autoReleaseTime: z
            .string()
            .refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO 8601 time')
            .optional(),
          internetChargeType: z.enum(['PayByTraffic', 'PayByBandwidth']).optional(),
          internetMaxBandwidthOut: z.number().int().min(0).optional(),
          publicIpAddress: ipv4.optional(),
          privateIpAddress: ipv4.optional(),
          primaryNetworkInterfaceId: id('eni').optional(),
          tags: z.array(tag).optional(),
          cloudAssistant: z.enum(['running', 'stopped', 'not-installed']).optional(),
          stoppedMode: z.enum(['KeepCharging', 'StopCharging']).optional(),
          startTime: z
            .string()
            .refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO 8601 time')
            .optional(),
          pendingConfigurationChange: z.boolean().optional(),
        })
        .strict(),
    ),
    eips: z.array(eipSchema).optional(),
    quotas: z
      .object({ maxEnis: z.number().int().min(0).optional(), maxEips: z.number().int().min(0).optional() })
      .strict()
      .optional(),
  })
  .strict();

export type Topology = z.infer<typeof topologySchema>;
export type TopologyVpc = Topology['vpcs'][number];
export type TopologyInstance = Topology['instances'][number];

/** Thrown for an invalid topology; the message names the offending field, e.g. `instances[2].vSwitchId`. */
export class TopologyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TopologyError';
  }
}

function pathOf(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>(
    (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)),
    '',
  );
}

/** Validates a parsed topology (shape and cross-references) and returns it typed. */
export function validateTopology(value: unknown, source = 'topology'): Topology {
  const parsed = topologySchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = pathOf(issue.path) || '(root)';
    throw new TopologyError(`${source}: ${field}: ${issue.message}`);
  }
  const t = parsed.data;
  const fail = (field: string, msg: string): never => {
    throw new TopologyError(`${source}: ${field}: ${msg}`);
  };

  const ids = new Set<string>();
  const unique = (value: string, field: string) => {
    if (ids.has(value)) fail(field, `duplicate id ${value}`);
    ids.add(value);
  };
  const vSwitchVpc = new Map<string, TopologyVpc['vSwitches'][number] & { vpcId: string }>();
  const sgVpc = new Map<string, string>();
  const publicIps = new Set<string>();
  const publicIp = (ip: string, field: string) => {
    if (publicIps.has(ip)) fail(field, `public address ${ip} is used twice`);
    if (
      ip.startsWith('127.') ||
      cidrContains('10.0.0.0/8', ip) ||
      cidrContains('172.16.0.0/12', ip) ||
      cidrContains('192.168.0.0/16', ip)
    )
      fail(field, `${ip} is not a public address`);
    publicIps.add(ip);
  };

  t.vpcs.forEach((vpc, v) => {
    const at = `vpcs[${v}]`;
    unique(vpc.vpcId, `${at}.vpcId`);
    vpc.vSwitches.forEach((vsw, s) => {
      unique(vsw.vSwitchId, `${at}.vSwitches[${s}].vSwitchId`);
      if (!vsw.zoneId.startsWith(t.regionId))
        fail(`${at}.vSwitches[${s}].zoneId`, `${vsw.zoneId} is not a zone of ${t.regionId}`);
      if (!cidrWithin(vsw.cidrBlock, vpc.cidrBlock))
        fail(
          `${at}.vSwitches[${s}].cidrBlock`,
          `${vsw.cidrBlock} is not inside the VPC block ${vpc.cidrBlock}`,
        );
      vSwitchVpc.set(vsw.vSwitchId, { ...vsw, vpcId: vpc.vpcId });
    });
    const tables = new Set<string>();
    (vpc.routeTables ?? []).forEach((rt, n) => {
      const at2 = `${at}.routeTables[${n}]`;
      unique(rt.routeTableId, `${at2}.routeTableId`);
      tables.add(rt.routeTableId);
      rt.routeEntries.forEach((e, i) => {
        if (
          e.nextHopType === 'NatGateway' &&
          !(vpc.natGateways ?? []).some((g) => g.natGatewayId === e.nextHopId)
        )
          fail(`${at2}.routeEntries[${i}].nextHopId`, `no NAT gateway ${e.nextHopId} in ${vpc.vpcId}`);
      });
    });
    vpc.vSwitches.forEach((vsw, s) => {
      if (vsw.routeTableId && !tables.has(vsw.routeTableId))
        fail(`${at}.vSwitches[${s}].routeTableId`, `no route table ${vsw.routeTableId} in ${at}.routeTables`);
    });
    vpc.securityGroups.forEach((sg, g) => {
      unique(sg.securityGroupId, `${at}.securityGroups[${g}].securityGroupId`);
      sgVpc.set(sg.securityGroupId, vpc.vpcId);
    });
    (vpc.natGateways ?? []).forEach((ngw, n) => {
      const nat = `${at}.natGateways[${n}]`;
      unique(ngw.natGatewayId, `${nat}.natGatewayId`);
      unique(ngw.snatTableId, `${nat}.snatTableId`);
      if (!vpc.vSwitches.some((s) => s.vSwitchId === ngw.vSwitchId))
        fail(`${nat}.vSwitchId`, `no vSwitch ${ngw.vSwitchId} in ${vpc.vpcId}`);
      ngw.eips.forEach((e, i) => {
        unique(e.allocationId, `${nat}.eips[${i}].allocationId`);
        publicIp(e.ipAddress, `${nat}.eips[${i}].ipAddress`);
      });
      ngw.snatEntries.forEach((e, i) => {
        const f = `${nat}.snatEntries[${i}]`;
        unique(e.snatEntryId, `${f}.snatEntryId`);
        if (!ngw.eips.some((x) => x.ipAddress === e.snatIp))
          fail(`${f}.snatIp`, `${e.snatIp} is not an EIP of ${ngw.natGatewayId}`);
        if (!e.sourceVSwitchId === !e.sourceCIDR)
          fail(f, 'give exactly one of sourceVSwitchId and sourceCIDR');
        if (e.sourceVSwitchId && !vpc.vSwitches.some((s) => s.vSwitchId === e.sourceVSwitchId))
          fail(`${f}.sourceVSwitchId`, `no vSwitch ${e.sourceVSwitchId} in ${vpc.vpcId}`);
        if (e.sourceCIDR && !cidrWithin(e.sourceCIDR, vpc.cidrBlock))
          fail(`${f}.sourceCIDR`, `${e.sourceCIDR} is not inside the VPC block ${vpc.cidrBlock}`);
      });
    });
  });

  const types = new Set([...BUILTIN_INSTANCE_TYPES, ...(t.instanceTypes ?? [])].map((x) => x.instanceTypeId));
  const images = new Set([...BUILTIN_IMAGES, ...(t.images ?? [])].map((x) => x.imageId));
  const privateIps = new Set<string>();
  t.instances.forEach((inst, i) => {
    const at = `instances[${i}]`;
    unique(inst.instanceId, `${at}.instanceId`);
    if (inst.primaryNetworkInterfaceId)
      unique(inst.primaryNetworkInterfaceId, `${at}.primaryNetworkInterfaceId`);
    const vsw =
      vSwitchVpc.get(inst.vSwitchId) ??
      fail(`${at}.vSwitchId`, `no vSwitch ${inst.vSwitchId} in the topology`);
    inst.securityGroupIds.forEach((sg, g) => {
      const vpcId =
        sgVpc.get(sg) ?? fail(`${at}.securityGroupIds[${g}]`, `no security group ${sg} in the topology`);
      if (vpcId !== vsw.vpcId)
        fail(`${at}.securityGroupIds[${g}]`, `${sg} is in ${vpcId}, the instance is in ${vsw.vpcId}`);
    });
    if (!types.has(inst.instanceType))
      fail(`${at}.instanceType`, `unknown instance type ${inst.instanceType} (add it to instanceTypes)`);
    if (!images.has(inst.imageId)) fail(`${at}.imageId`, `unknown image ${inst.imageId} (add it to images)`);
    if (inst.privateIpAddress) {
      if (!isUsableInVSwitch(vsw.cidrBlock, inst.privateIpAddress))
        fail(
          `${at}.privateIpAddress`,
          `${inst.privateIpAddress} is not a usable address of ${vsw.cidrBlock}`,
        );
      if (privateIps.has(inst.privateIpAddress))
        fail(`${at}.privateIpAddress`, `${inst.privateIpAddress} is used twice`);
      privateIps.add(inst.privateIpAddress);
    }
    if (inst.publicIpAddress) publicIp(inst.publicIpAddress, `${at}.publicIpAddress`);
    if (inst.publicIpAddress && inst.internetMaxBandwidthOut === 0)
      fail(`${at}.internetMaxBandwidthOut`, 'an instance with a public IP needs a bandwidth above 0');
    if ((inst.expiredTime || inst.expiresInHours) && inst.instanceChargeType !== 'PrePaid')
      fail(`${at}.expiredTime`, 'only PrePaid instances expire');
    if (inst.stoppedMode && inst.status !== 'Stopped')
      fail(`${at}.stoppedMode`, 'only a Stopped instance has a stop mode (set status to Stopped)');
    if (inst.stoppedMode === 'StopCharging' && inst.instanceChargeType === 'PrePaid')
      fail(
        `${at}.stoppedMode`,
        'economical mode (StopCharging) is for pay-as-you-go (PostPaid) instances only',
      );
    if (inst.expiredTime && inst.expiresInHours)
      fail(`${at}.expiresInHours`, 'give expiredTime or expiresInHours, not both');
  });
  (t.eips ?? []).forEach((e, i) => {
    unique(e.allocationId, `eips[${i}].allocationId`);
    publicIp(e.ipAddress, `eips[${i}].ipAddress`);
  });
  return t;
}

/** Reads and validates a topology JSON file. */
export function loadTopology(file: string): Topology {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new TopologyError(`${file}: cannot read the topology file: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new TopologyError(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  return validateTopology(json, file);
}

/** Documentation-range public addresses (RFC 5737): they look public and route nowhere real. */
function demoPublicIp(n: number): string {
  const ranges = ['203.0.113', '198.51.100', '192.0.2'];
  const range = ranges[Math.floor(n / 240)];
  if (!range)
    throw new TopologyError(
      `the demo topology has public addresses for at most ${ranges.length * 240} instances`,
    );
  return `${range}.${10 + (n % 240)}`;
}

/**
 * The demo region: one VPC (192.168.0.0/16) over two zones, a vSwitch per zone, one security group, an Enhanced
 * internet NAT gateway whose SNAT entries cover both vSwitches, and `instances` Running pay-as-you-go instances
 * (pay-by-traffic, 5 Mbit/s) spread over the zones, each with a static public IP from 203.0.113.0/24.
 */
export function defaultTopology(opts: { instances: number; regionId?: string }): Topology {
  const regionId = opts.regionId ?? 'cn-hangzhou';
  if (!Number.isInteger(opts.instances) || opts.instances < 0)
    throw new TopologyError('instances: must be a whole number ≥ 0');
  const ids = new IdFactory(`topology:${regionId}`);
  const vpcId = ids.next('vpc');
  const zones = [`${regionId}-i`, `${regionId}-j`];
  const vSwitches = zones.map((zoneId, z) => ({
    vSwitchId: ids.next('vsw'),
    zoneId,
    cidrBlock: `192.168.${z + 1}.0/24`,
    vSwitchName: `demo-${zoneId}`,
  }));
  const securityGroupId = ids.next('sg');
  const snatIp = '47.96.180.23';
  const instances: TopologyInstance[] = [];
  for (let n = 0; n < opts.instances; n++) {
    const vsw = vSwitches[n % vSwitches.length];
    instances.push({
      instanceId: ids.next('i'),
      instanceName: `web-${String(n + 1).padStart(2, '0')}`,
      vSwitchId: vsw.vSwitchId,
      securityGroupIds: [securityGroupId],
      instanceType: 'ecs.g7.large',
      imageId: 'aliyun_3_x64_20G_alibase_20240819.vhd',
      status: 'Running',
      instanceChargeType: 'PostPaid',
      internetChargeType: 'PayByTraffic',
      internetMaxBandwidthOut: 5,
      publicIpAddress: demoPublicIp(n),
      tags: [{ key: 'app', value: 'web' }],
    });
  }
  return validateTopology({
    regionId,
    // The demo account's EIP quota is raised for its fleet (Alibaba Cloud's default, 20, would stop a larger rehearsal).
    quotas: { maxEips: Math.max(20, opts.instances + 20) },
    vpcs: [
      {
        vpcId,
        vpcName: 'demo-vpc',
        cidrBlock: '192.168.0.0/16',
        vSwitches,
        securityGroups: [{ securityGroupId, securityGroupName: 'demo-sg' }],
        natGateways: [
          {
            natGatewayId: ids.next('ngw'),
            name: 'demo-nat',
            spec: 'Small',
            vSwitchId: vSwitches[0].vSwitchId,
            snatTableId: ids.next('stb'),
            eips: [{ allocationId: ids.next('eip'), ipAddress: snatIp, bandwidth: 100 }],
            snatEntries: vSwitches.map((v) => ({
              snatEntryId: ids.next('snat'),
              snatIp,
              sourceVSwitchId: v.vSwitchId,
              snatEntryName: `snat-${v.zoneId}`,
            })),
          },
        ],
      },
    ],
    instances,
  });
}
