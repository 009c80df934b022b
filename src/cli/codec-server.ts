/** `eni-migrate codec-server`: decrypt payloads for the Temporal Web UI (the codec server protocol). */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { EncryptionCodec } from '../codec/payload-codec';
import { DEFAULT_CODEC_PORT, DEFAULT_UI_ORIGIN, startCodecServer } from '../codec/codec-server';
import { ConfigError, loadConfig } from '../config';
import { ExitCode } from './exit-codes';
import { runCommand } from './output';
import { parsePort } from './validate';

interface CodecServerFlags {
  host: string;
  port: number;
  origin?: string[];
  tokenFile?: string;
}

function parseOrigin(value: string, previous: string[] = []): string[] {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('expected an origin such as http://localhost:8233.');
  }
  if (!/^https?:$/.test(url.protocol) || url.origin !== value.replace(/\/$/, '')) {
    throw new InvalidArgumentError(
      'expected an origin (scheme://host[:port], no path) such as http://localhost:8233.',
    );
  }
  return [...previous, url.origin];
}

export function codecServerCommand(setExitCode: (code: number) => void): Command {
  return new Command('codec-server')
    .description(
      'serve the Temporal codec server protocol (POST /encode, /decode) with the payload key, so the Web UI shows ' +
        'plaintext while the server stores ciphertext; until SIGINT/SIGTERM. Prints one JSON line: {url, keyIds}',
    )
    .option(
      '--host <address>',
      'address to bind (whoever reaches it can decrypt: keep it on loopback)',
      '127.0.0.1',
    )
    .option('--port <n>', 'port (0: any free port)', parsePort, DEFAULT_CODEC_PORT)
    .option(
      '--origin <url>',
      `Web UI origin allowed by CORS (repeatable; default ${DEFAULT_UI_ORIGIN})`,
      parseOrigin,
    )
    .option('--token-file <file>', 'require `Authorization: Bearer <the file’s content>` on every request')
    .addHelpText(
      'after',
      '\nKeys: ENI_MIGRATE_PAYLOAD_KEY (+ ENI_MIGRATE_PAYLOAD_PREVIOUS_KEYS) or ENI_MIGRATE_PAYLOAD_KEY_FILE.\n' +
        'Point the Web UI at it: temporal server start-dev --ui-codec-endpoint http://127.0.0.1:8888,\n' +
        "or the UI's Data Encoder setting (the codec endpoint icon, top right).",
    )
    .action(async (flags: CodecServerFlags) =>
      setExitCode(
        await runCommand(false, async () => {
          const keys = loadConfig().temporal.payloadKeys;
          if (!keys) {
            throw new ConfigError(
              'codec-server needs the payload key: set ENI_MIGRATE_PAYLOAD_KEY or ENI_MIGRATE_PAYLOAD_KEY_FILE',
            );
          }
          let token: string | undefined;
          if (flags.tokenFile) {
            try {
              token = readFileSync(flags.tokenFile, 'utf8').trim();
            } catch (err) {
              throw new ConfigError(
                `--token-file: cannot read ${flags.tokenFile}: ${(err as Error).message}`,
              );
            }
            if (!token) throw new ConfigError(`--token-file: ${flags.tokenFile} is empty`);
          }
          const codec = new EncryptionCodec(keys);
          const server = await startCodecServer({
            codec,
            host: flags.host,
            port: flags.port,
            origins: flags.origin,
            token,
          });
          process.stdout.write(`${JSON.stringify({ url: server.url, keyIds: codec.keyIds })}\n`);
          process.stderr.write(
            `eni-migrate codec-server: ${server.url}, CORS for ${(flags.origin ?? [DEFAULT_UI_ORIGIN]).join(', ')}` +
              `${token ? ', bearer token required' : ''}; stop with Ctrl-C\n`,
          );
          await new Promise<void>((resolve) => {
            const onSignal = (): void => {
              process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
              resolve();
            };
            process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
          });
          await server.stop();
          return ExitCode.OK;
        }),
      ),
    );
}
