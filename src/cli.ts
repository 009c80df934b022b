#!/usr/bin/env node
/**
 * The `eni-migrate` CLI entry point (bin/eni-migrate.js loads it). Commands live in src/cli/, one per file;
 * they are thin layers over the typed client (src/client.ts), the worker (src/worker.ts) and the demo (src/demo.ts).
 */
import { main } from './cli/program';

main(process.argv).then(
  (code) => {
    // Exit explicitly: an idle gRPC channel or a stray timer must not keep a finished command alive.
    process.exitCode = code;
    process.stdout.write('', () => process.exit(code));
  },
  (err: unknown) => {
    process.stderr.write(
      `eni-migrate: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
