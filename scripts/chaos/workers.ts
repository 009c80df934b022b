/**
 * The chaos run's worker processes: each one is the real worker (`node --import tsx src/cli.ts worker`, what
 * `eni-migrate worker` runs), configured by its environment only, on one shared task queue. The pool SIGKILLs them at
 * random moments and starts a new process in the slot after a short delay, as a supervisor (systemd, Kubernetes)
 * would. Every line they print is kept in a log file per process, for the secret scan.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

export interface WorkerSlot {
  slot: number;
  /** Processes started in this slot so far (1 = the first). */
  generation: number;
  child: ChildProcess;
  logFile: string;
  /** The worker said it polls its task queues. */
  ready: boolean;
  /** SIGKILLed by the pool (any other exit before stop() is a crash). */
  killed: boolean;
  exited: Promise<void>;
}

export interface WorkerPoolOptions {
  /** The worker's whole environment (the pool adds nothing but PATH, HOME and the like). */
  env: Record<string, string>;
  /** Where the log files go. */
  logDir: string;
  /** Delay before a killed worker's slot gets a new process, ms: [min, max]. */
  restartDelayMs: [number, number];
  random: () => number;
  /** A line for the driver's own progress output. */
  note?: (line: string) => void;
}

/** What a worker may inherit from the driver's environment: nothing that configures the product or holds a secret. */
function baseEnv(): Record<string, string> {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ', 'NODE_OPTIONS', 'TEMPORAL_CLI_PATH'];
  return Object.fromEntries(
    keep.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k] as string]),
  );
}

export class WorkerPool {
  readonly slots: WorkerSlot[] = [];
  readonly logFiles: string[] = [];
  kills = 0;
  restarts = 0;
  /** Workers that exited on their own (not killed, not stopped): each is a defect, named with its log. */
  readonly crashes: string[] = [];
  private stopping = false;
  /** Each process's log file, flushed once its output has closed. */
  private readonly flushed: Promise<void>[] = [];
  private readonly restarting = new Set<Promise<void>>();

  constructor(private readonly opts: WorkerPoolOptions) {}

  /** Starts `count` workers and waits until every one polls. */
  async start(count: number, readyTimeoutMs = 120_000): Promise<void> {
    for (let slot = 0; slot < count; slot++) this.slots.push(this.spawn(slot, 1));
    await this.waitReady(readyTimeoutMs);
  }

  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.slots.every((s) => s.ready)) {
      const dead = this.slots.find((s) => s.child.exitCode !== null && !s.ready);
      if (dead)
        throw new Error(
          `worker ${dead.slot} exited (${dead.child.exitCode}) before it polled: see ${dead.logFile}`,
        );
      if (Date.now() > deadline)
        throw new Error(`workers not ready within ${timeoutMs} ms: see ${this.opts.logDir}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private spawn(slot: number, generation: number): WorkerSlot {
    const logFile = path.join(this.opts.logDir, `worker-${slot}-${generation}.log`);
    this.logFiles.push(logFile);
    const log: WriteStream = createWriteStream(logFile);
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'worker'], {
      cwd: ROOT,
      env: { ...baseEnv(), ...this.opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const entry: WorkerSlot = {
      slot,
      generation,
      child,
      logFile,
      ready: false,
      killed: false,
      exited: new Promise((resolve) => child.once('exit', () => resolve())),
    };
    // A supervisor restarts a worker whatever ended it; one that ended on its own is also reported.
    void entry.exited.then(() => {
      if (this.stopping) return;
      if (!entry.killed) {
        this.crashes.push(
          `worker ${slot}.${generation} exited on its own (${child.signalCode ?? `code ${child.exitCode}`}): see ${logFile}`,
        );
        this.opts.note?.(
          `worker ${slot}.${generation} crashed (${child.signalCode ?? `code ${child.exitCode}`})`,
        );
      }
      this.restart(entry);
    });
    let tail = '';
    const onData = (chunk: Buffer) => {
      log.write(chunk);
      if (entry.ready) return;
      tail = (tail + chunk.toString('utf8')).slice(-4096);
      if (tail.includes('polling task queue')) entry.ready = true;
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    this.flushed.push(new Promise<void>((resolve) => child.once('close', () => log.end(resolve))));
    return entry;
  }

  /** Live processes that poll. */
  ready(): WorkerSlot[] {
    return this.slots.filter((s) => s.ready && s.child.exitCode === null && s.child.signalCode === null);
  }

  /** SIGKILLs one polling worker at random (none polling: does nothing); its slot restarts after a delay. */
  killOne(): WorkerSlot | undefined {
    const candidates = this.ready();
    if (candidates.length === 0) return undefined;
    const victim = candidates[Math.floor(this.opts.random() * candidates.length)];
    victim.killed = true;
    victim.child.kill('SIGKILL');
    this.kills++;
    this.opts.note?.(`SIGKILL worker ${victim.slot}.${victim.generation} (pid ${victim.child.pid})`);
    return victim;
  }

  private restart(gone: WorkerSlot): void {
    const [min, max] = this.opts.restartDelayMs;
    const delay = min + this.opts.random() * (max - min);
    const restart = (async () => {
      await new Promise((r) => setTimeout(r, delay));
      if (this.stopping) return;
      this.slots[gone.slot] = this.spawn(gone.slot, gone.generation + 1);
      this.restarts++;
    })();
    this.restarting.add(restart);
    void restart.finally(() => this.restarting.delete(restart));
  }

  /** Stops every worker: SIGTERM (a graceful shutdown), SIGKILL after the grace period. */
  async stop(graceMs = 15_000): Promise<void> {
    this.stopping = true;
    await Promise.allSettled([...this.restarting]);
    await Promise.all(
      this.slots.map(async (s) => {
        if (s.child.exitCode !== null || s.child.signalCode !== null) return;
        s.child.kill('SIGTERM');
        const timer = setTimeout(() => s.child.kill('SIGKILL'), graceMs);
        await s.exited;
        clearTimeout(timer);
      }),
    );
    await Promise.all(this.flushed);
  }
}
