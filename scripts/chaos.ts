/**
 * `npm run chaos`: migrations under faults and worker kills, judged by the cloud's state (scripts/chaos/run.ts).
 *
 *   npm run chaos                 210 migrations in 5 VPCs, 3 worker processes, 24 SIGKILLs (a few minutes)
 *   npm run chaos -- --quick      20 migrations in 2 VPCs, 2 workers, 3 kills (CI)
 *   npm run chaos -- --json       one JSON document on stdout instead of the figures
 *   options: --seed <n> --vpcs <n> --instances-per-vpc <n> --workers <n> --kills <n> --concurrency <n>
 *            --deadline <s> (stop waiting for the batches; default 180 quick, 900 full)
 *
 * Exits 0 when there is no violation, 1 otherwise (2 on bad options).
 */
import { parseArgs } from 'node:util';
import { runChaos, type ChaosResult } from './chaos/run';

function figures(r: ChaosResult): string {
  const f = r.faults;
  const n = (x: number) => String(x);
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const lines = [
    `chaos run (${r.quick ? 'quick' : 'full'}, seed ${r.seed}) in ${(r.durationMs / 1000).toFixed(0)} s`,
    '',
    `migrations      ${r.migrations.total} in ${r.migrations.vpcs} VPCs (a batch each): ` +
      Object.entries(r.migrations.outcomes)
        .map(([k, v]) => `${v} ${k}`)
        .join(', '),
    `workers         ${r.workers.processes} processes on one task queue, ${r.workers.started} started in all`,
    `kills           ${r.workers.kills} SIGKILLs, ${r.workers.restarts} restarts, ${r.workers.crashes} crashes`,
    `faults          ${n(f.calls)} API calls; ${n(f.injected.retryable)} failed retryably before taking effect (${pct(f.retryableShare)})`,
    `                ${n(f.injected['lost-response'])} lost responses (reset after the change), ${n(f.injected['error-after-effect'])} errors after the change`,
    `                ${n(f.injected.permission)} EIP binds denied by RAM (limit ${f.plan.permissionLimit}, ${f.permissionRuleSpent ? 'then fixed' : 'not all used'})`,
    `                ${n(f.laggedEnis)} ENIs lagging in Describe (${f.plan.behaviours.describeLagMs} ms), ${n(f.attachFallbacks)} attaches fell back, ${n(f.stuckDetaches)} detaches stuck`,
    `                ${n(f.verificationFailuresPlanned)} instances whose verification must fail (guest without secondary-NIC set-up)`,
    `rollbacks       ${r.rollbacks.total} (verification ${r.rollbacks.causes.verification}, permission ${r.rollbacks.causes.permission}, other ${r.rollbacks.causes.other}); ` +
      `${r.rollbacks.metErrors} met errors, ${r.rollbacks.stuck} of them waited as rollback-stuck`,
    `cloud           ${r.cloud.cloud.verified} verified, ${r.cloud.cloud['rolled-back']} rolled back, ${r.cloud.cloud.inconsistent} neither; ` +
      `${r.cloud.orphanedEnis} orphaned ENIs, ${r.cloud.unboundEips} unbound EIPs, ${r.cloud.duplicates} duplicates, ${r.cloud.sshFailures} SSH failures`,
    `workflows       ${r.workflows.executions} executions, ${r.workflows.running} still running`,
    `security        STS token: with it ${r.security.sts.withToken}, without ${r.security.sts.withoutToken}, another ${r.security.sts.otherToken}`,
    `                scanned ${Object.entries(r.security.scan.chars)
      .map(
        ([k, v]) =>
          `${r.security.scan.sources[k]} ${k === 'history' ? 'histories' : `${k}s`} (${(v / 1e6).toFixed(1)} MB)`,
      )
      .join(', ')}: ${r.security.scan.findings.length} secrets found`,
    `convergence     ${r.convergence}`,
    `logs            ${r.workDir}`,
    '',
    `violations      ${r.violations.length}`,
    ...r.violations.slice(0, 50).map((v) => `  - ${v}`),
    ...(r.violations.length > 50 ? [`  … and ${r.violations.length - 50} more (chaos.json)`] : []),
  ];
  return lines.join('\n');
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        quick: { type: 'boolean' },
        json: { type: 'boolean' },
        seed: { type: 'string' },
        vpcs: { type: 'string' },
        'instances-per-vpc': { type: 'string' },
        workers: { type: 'string' },
        kills: { type: 'string' },
        concurrency: { type: 'string' },
        deadline: { type: 'string' },
      },
    }));
  } catch (err) {
    process.stderr.write(`chaos: ${(err as Error).message}\n`);
    return 2;
  }
  const int = (name: string, v: string | undefined, min: number): number | undefined => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || Number(v) < min)
      throw new Error(`--${name}: a whole number ≥ ${min}, got "${v}"`);
    return Number(v);
  };
  let options;
  try {
    options = {
      quick: values.quick,
      seed: int('seed', values.seed, 0),
      vpcs: int('vpcs', values.vpcs, 1),
      instancesPerVpc: int('instances-per-vpc', values['instances-per-vpc'], 1),
      workers: int('workers', values.workers, 1),
      kills: int('kills', values.kills, 0),
      concurrency: int('concurrency', values.concurrency, 1),
      deadlineMs: (int('deadline', values.deadline, 1) ?? 0) * 1000 || undefined,
    };
  } catch (err) {
    process.stderr.write(`chaos: ${(err as Error).message}\n`);
    return 2;
  }
  const result = await runChaos({
    ...options,
    signal: interrupt.signal,
    log: (line) => void process.stderr.write(`chaos: ${line}\n`),
  });
  process.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : `${figures(result)}\n`);
  return result.violations.length === 0 ? 0 : 1;
}

// A first Ctrl-C ends the run, whose cleanup stops the workers, the cloud and Temporal; a second one exits at once.
const interrupt = new AbortController();
process.on('SIGINT', () => {
  if (interrupt.signal.aborted) process.exit(130);
  process.stderr.write('chaos: interrupted, stopping everything\n');
  interrupt.abort();
});

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (interrupt.signal.aborted) process.exit(130);
    process.stderr.write(`chaos: failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
