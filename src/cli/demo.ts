/** `eni-migrate demo`: Temporal dev server + local cloud + worker, the demo VPC migrated as a batch, nothing left running. */
import { Command } from 'commander';
import type { PayloadKeys } from '../codec/payload-codec';
import { loadConfig } from '../config';
import type { DemoResult } from '../demo';
import { formatBatch } from './batch/follow';
import { stderrOutput } from './batch/progress-view';
import { ExitCode, exitCodeForBatch, exitCodeForReport, type ExitCodeValue } from './exit-codes';
import { loadDemo } from './lazy';
import { runCommand } from './output';
import { formatReport } from './report';
import { positiveInt } from './validate';

interface DemoFlags {
  instances: number;
  fast?: boolean;
  ui: boolean;
  keepRunning?: boolean;
  batch: boolean;
  encrypt?: boolean;
  json?: boolean;
}

/** The variables that configure the payload keys: the demo reads these, and no other part of the environment. */
const PAYLOAD_KEY_VARS = [
  'ENI_MIGRATE_PAYLOAD_KEY',
  'ENI_MIGRATE_PAYLOAD_PREVIOUS_KEYS',
  'ENI_MIGRATE_PAYLOAD_KEY_FILE',
] as const;

/** The configured payload keys, as the worker and the CLI read them, or undefined (the demo then makes one up). */
function configuredPayloadKeys(): PayloadKeys | undefined {
  const env = Object.fromEntries(PAYLOAD_KEY_VARS.map((name) => [name, process.env[name]]));
  return loadConfig(env).temporal.payloadKeys;
}

export function demoCommand(setExitCode: (code: number) => void): Command {
  return new Command('demo')
    .description(
      'start a Temporal dev server (with Web UI), the local cloud and a worker, migrate the demo VPC as one batch ' +
        '(a canary, then the rest side by side), print the reports, and stop everything',
    )
    .option('--instances <n>', 'demo instances to migrate', positiveInt('a count', 50), 3)
    .option('--fast', 'test-speed cloud transitions (a migration takes seconds, not a minute)')
    .option('--no-ui', 'do not serve the Temporal Web UI')
    .option('--keep-running', 'after the migrations, keep Temporal and its Web UI up until Ctrl-C')
    .option(
      '--no-batch',
      'migrate each instance by a migration of its own, side by side, instead of one batch',
    )
    .option(
      '--encrypt',
      'encrypt every payload with ENI_MIGRATE_PAYLOAD_KEY (or _KEY_FILE), else with a random key for this run, and ' +
        'serve a codec server that the Web UI decrypts them through',
    )
    .option(
      '--json',
      "print one JSON document: {webUi, encryption?, batchId?, batchUi?, batch?, reports: [...], errors: [...]} (batch: the FleetReport; reports: each migration's; encryption: {keyId, randomKey, codecServer})",
    )
    .addHelpText(
      'after',
      "\nExit code: 0 when every migration verified; otherwise the batch's (as `batch start --wait`: 1, 3, 4, 7 or 8)" +
        ' or, with --no-batch, that of the worst outcome (1, 3 or 4); 130 on Ctrl-C.',
    )
    .action(async (flags: DemoFlags) =>
      setExitCode(
        await runCommand(Boolean(flags.json), async (out) => {
          const stop = new AbortController();
          const onSignal = () => {
            out.info('interrupted: stopping the worker, the local cloud and Temporal...');
            stop.abort();
          };
          // Read before anything starts: a bad key is a usage error (exit 2), naming the variable, never the key.
          const payloadKeys = flags.encrypt ? configuredPayloadKeys() : undefined;
          process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
          const { DemoInterruptedError, runDemo } = loadDemo();
          let result: DemoResult;
          try {
            result = await runDemo({
              instances: flags.instances,
              fast: flags.fast,
              ui: flags.ui,
              keepRunning: flags.keepRunning,
              batch: flags.batch,
              ...(flags.encrypt ? { encrypt: true, payloadKeys } : {}),
              // A terminal gets the batch's live progress bar; a log gets lines.
              ...(process.stderr.isTTY ? { progress: stderrOutput() } : {}),
              signal: stop.signal,
              log: (line) => out.info(line),
            });
          } catch (err) {
            if (err instanceof DemoInterruptedError) {
              out.info('stopped; nothing is left running');
              return ExitCode.INTERRUPTED;
            }
            throw err;
          } finally {
            process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
          }
          const batch = result.batch ?? result.batchProgress;
          const human = [
            '',
            ...result.reports.map(formatReport),
            ...result.errors.map((e) => `${e.instanceId ?? e.workflowId ?? ''}: ${e.error}`),
            '',
            ...(batch && result.batchId
              ? [
                  formatBatch({
                    batchId: result.batchId,
                    report: result.batch,
                    progress: result.batchProgress,
                    exitCode: 0,
                  }),
                  '',
                ]
              : []),
            result.webUi ? `Web UI (now stopped): ${result.batchUi ?? result.webUi}` : '',
            ...(result.encryption
              ? [
                  `Payloads encrypted with key id ${result.encryption.keyId}; codec server (now stopped): ${result.encryption.codecServer}`,
                ]
              : []),
          ]
            .filter((line, i, all) => line || all[i - 1])
            .join('\n');
          out.result(human, {
            webUi: result.webUi,
            ...(result.encryption ? { encryption: result.encryption } : {}),
            ...(result.batchId
              ? {
                  batchId: result.batchId,
                  batchUi: result.batchUi,
                  batch: result.batch ?? result.batchProgress,
                }
              : {}),
            reports: result.reports,
            errors: result.errors,
          });
          return demoExitCode(result);
        }),
      ),
    );
}

function demoExitCode(result: DemoResult): ExitCodeValue {
  if (result.batch) return exitCodeForBatch(result.batch);
  // Paused before its end (a canary or the breaker): not finished, unless something failed.
  if (result.batchProgress) return exitCodeForBatch({ ...result.batchProgress, outcome: undefined });
  if (result.batchId) return ExitCode.FAILED;
  if (result.errors.length > 0)
    return result.errors.some((e) => e.error.startsWith('cancelled')) ? ExitCode.CANCELLED : ExitCode.FAILED;
  const codes = result.reports.map((r) => exitCodeForReport(r));
  if (codes.includes(ExitCode.FAILED)) return ExitCode.FAILED;
  if (codes.includes(ExitCode.ROLLED_BACK)) return ExitCode.ROLLED_BACK;
  if (codes.includes(ExitCode.CANCELLED)) return ExitCode.CANCELLED;
  return result.reports.length > 0 ? ExitCode.OK : ExitCode.FAILED;
}
