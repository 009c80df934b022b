/** `eni-migrate cloud`: run the local Alibaba Cloud (ECS + VPC API, instances answering SSH) for rehearsals. */
import { Command } from 'commander';
import { ExitCode } from './exit-codes';
import { loadCloudCommand } from './lazy';
import { runCommand } from './output';
import { parsePort, parseRegionId, positiveInt } from './validate';

interface CloudFlags {
  host?: string;
  port: number;
  instances?: number;
  topology?: string;
  region?: string;
  fast?: boolean;
  verbose?: boolean;
}

export function cloudCommand(setExitCode: (code: number) => void): Command {
  return new Command('cloud')
    .description(
      'serve a local Alibaba Cloud region (ECS + VPC API, SSH-answering instances) until SIGINT/SIGTERM; ' +
        'prints one JSON line: endpoint, url, adminUrl, regionId, accessKeyId, accessKeySecret, sshConfig, ' +
        'sshPrivateKey, sshUser, vpcIds, eipQuota, transitionMs, instances',
    )
    .option('--host <address>', 'address to bind (the admin API has no authentication)', '127.0.0.1')
    .option('--port <n>', 'API port (0: any free port)', parsePort, 0)
    .option(
      '--instances <n>',
      'instances in the default demo region (default 3)',
      positiveInt('a count', 200),
    )
    .option('--topology <file>', 'a topology JSON file instead of the default demo region')
    .option('--region <id>', 'region of the default topology (default cn-hangzhou)', parseRegionId)
    .option('--fast', 'test-speed status transitions')
    .option('--verbose', 'log every API call on stderr')
    .addHelpText(
      'after',
      '\nPoint the worker at it: ALIBABA_CLOUD_ECS_ENDPOINT=<url> ALIBABA_CLOUD_VPC_ENDPOINT=<url>\n' +
        'ALIBABA_CLOUD_REGION_ID=<regionId> ALIBABA_CLOUD_ACCESS_KEY_ID=<accessKeyId>\n' +
        'ALIBABA_CLOUD_ACCESS_KEY_SECRET=<accessKeySecret> ENI_MIGRATE_SSH_CONFIG=<sshConfig>\n' +
        'ENI_MIGRATE_EIP_QUOTA=<eipQuota> ENI_MIGRATE_TRANSITION_MS=<transitionMs>',
    )
    .action(async (flags: CloudFlags) =>
      setExitCode(
        await runCommand(false, async () => {
          const { runCloudCommand } = loadCloudCommand();
          await runCloudCommand({
            host: flags.host,
            port: flags.port,
            instances: flags.instances,
            topologyFile: flags.topology,
            regionId: flags.region,
            fast: flags.fast,
            verbose: flags.verbose,
          });
          return ExitCode.OK;
        }),
      ),
    );
}
