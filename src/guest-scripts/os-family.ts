/**
 * The built-in guest set-up script for an instance's OS (DescribeInstances OSName / OSType): images of the Red Hat
 * family (Alibaba Cloud Linux, CentOS, Anolis, RHEL, Rocky, Alma) have multi-nic-util's eni.service, as the ENI docs
 * and Alibaba's OOS template use; Ubuntu and Debian get iproute2 policy routing. Undefined: no built-in fits.
 */
export function nicSetupScriptFor(os: { osName?: string; osType?: string }): string | undefined {
  if ((os.osType ?? 'linux').toLowerCase() !== 'linux') return undefined;
  const name = (os.osName ?? '').toLowerCase();
  if (/ubuntu|debian/.test(name)) return 'secondary-nic-setup-iproute2';
  if (/alibaba cloud linux|aliyun linux|centos|anolis|red hat|rhel|rocky|alma/.test(name))
    return 'secondary-nic-setup';
  return undefined;
}
