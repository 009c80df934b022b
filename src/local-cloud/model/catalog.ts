/**
 * Built-in instance types and images, so a topology only has to name them. Figures for the instance types are the
 * ones DescribeInstanceTypes reports in cn-hangzhou (EniQuantity counts the primary ENI).
 */

export interface InstanceTypeSpec {
  instanceTypeId: string;
  instanceTypeFamily: string;
  cpuCoreCount: number;
  memorySize: number; // GiB, as DescribeInstanceTypes reports it
  eniQuantity: number;
  eniPrivateIpAddressQuantity: number;
}

/**
 * How the guest OS brings up a secondary NIC. `auto`: the image configures it as soon as the ENI is attached
 * (Alibaba Cloud Linux 3 ships multi-nic-util). `manual`: traffic arriving on the secondary ENI is only answered
 * after `systemctl restart eni.service` is run in the guest (the documented step for images without it).
 */
export type SecondaryNicSetup = 'auto' | 'manual';

export interface ImageSpec {
  imageId: string;
  osName: string;
  osType: 'linux' | 'windows';
  secondaryNicSetup: SecondaryNicSetup;
}

export const BUILTIN_INSTANCE_TYPES: readonly InstanceTypeSpec[] = [
  {
    instanceTypeId: 'ecs.g7.large',
    instanceTypeFamily: 'ecs.g7',
    cpuCoreCount: 2,
    memorySize: 8,
    eniQuantity: 3,
    eniPrivateIpAddressQuantity: 6,
  },
  {
    instanceTypeId: 'ecs.g7.xlarge',
    instanceTypeFamily: 'ecs.g7',
    cpuCoreCount: 4,
    memorySize: 16,
    eniQuantity: 4,
    eniPrivateIpAddressQuantity: 15,
  },
  {
    instanceTypeId: 'ecs.c7.large',
    instanceTypeFamily: 'ecs.c7',
    cpuCoreCount: 2,
    memorySize: 4,
    eniQuantity: 3,
    eniPrivateIpAddressQuantity: 6,
  },
  {
    instanceTypeId: 'ecs.t6-c1m2.large',
    instanceTypeFamily: 'ecs.t6',
    cpuCoreCount: 2,
    memorySize: 4,
    eniQuantity: 2,
    eniPrivateIpAddressQuantity: 2,
  },
  {
    instanceTypeId: 'ecs.t5-lc1m1.small',
    instanceTypeFamily: 'ecs.t5',
    cpuCoreCount: 1,
    memorySize: 1,
    eniQuantity: 1,
    eniPrivateIpAddressQuantity: 1,
  },
];

export const BUILTIN_IMAGES: readonly ImageSpec[] = [
  {
    imageId: 'aliyun_3_x64_20G_alibase_20240819.vhd',
    osName: 'Alibaba Cloud Linux 3.2104 LTS 64位',
    osType: 'linux',
    secondaryNicSetup: 'auto',
  },
  {
    imageId: 'ubuntu_22_04_x64_20G_alibase_20240130.vhd',
    osName: 'Ubuntu  22.04 64位',
    osType: 'linux',
    secondaryNicSetup: 'manual',
  },
  {
    imageId: 'centos_7_9_x64_20G_alibase_20240628.vhd',
    osName: 'CentOS  7.9 64位',
    osType: 'linux',
    secondaryNicSetup: 'manual',
  },
];

/**
 * Instance types whose instances must be Stopped to attach an ENI [DOC: "Bind a secondary ENI" (doc 58503, 2024),
 * "Instance types for which instances must be in the Stopped state"].
 */
export const ATTACH_NEEDS_STOPPED: ReadonlySet<string> = new Set([
  'ecs.s6-c1m1.small',
  'ecs.s6-c1m2.large',
  'ecs.s6-c1m2.small',
  'ecs.s6-c1m4.large',
  'ecs.s6-c1m4.small',
  'ecs.e-c1m1.large',
  'ecs.e-c1m2.large',
  'ecs.e-c1m4.large',
  'ecs.t6-c1m1.large',
  'ecs.t6-c1m2.large',
  'ecs.t6-c1m4.large',
  'ecs.t6-c2m1.large',
  'ecs.t6-c4m1.large',
  'ecs.t5-c1m1.large',
  'ecs.t5-c1m2.large',
  'ecs.t5-c1m4.large',
  'ecs.t5-lc1m1.small',
  'ecs.t5-lc1m2.large',
  'ecs.t5-lc1m2.small',
  'ecs.t5-lc1m4.large',
  'ecs.t5-lc2m1.nano',
  'ecs.xn4.small',
  'ecs.n4.small',
  'ecs.n4.large',
  'ecs.mn4.small',
  'ecs.mn4.large',
  'ecs.e4.small',
  'ecs.e4.large',
]);

/** A Running instance last started before this needs a reboot before an ENI attaches [DOC: AttachNetworkInterface]. */
export const ATTACH_REBOOT_BEFORE = Date.parse('2018-04-01T00:00:00+08:00');
