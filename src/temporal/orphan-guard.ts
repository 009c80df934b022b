import { spawn, type ChildProcess } from 'node:child_process';

/**
 * Ties a server child process to the life of this process, however this process ends.
 *
 * The child runs in its own process group (spawn it with `detached: true` on POSIX), so that Ctrl-C reaches this
 * process first: a Worker shutting down on SIGINT can still talk to the server. Then:
 * - normal exit or `process.exit()`: an 'exit' handler signals the child's group (exit handlers cannot wait);
 * - death by a signal (Ctrl-C without a handler, SIGTERM, SIGKILL, a crash), where no JavaScript runs: a small
 *   `sh` watchdog reads a pipe from this process; the kernel closes the pipe when this process dies, and the
 *   watchdog then sends SIGTERM to the child's group, and SIGKILL if it is still there 10 s later.
 *
 * Call the returned function once the child has been stopped on purpose: it dismisses the watchdog.
 */
export function guardAgainstOrphan(child: ChildProcess): () => void {
  const pid = child.pid;
  if (pid === undefined) return () => undefined;
  liveChildren.add(child);
  if (liveChildren.size === 1) process.on('exit', terminateLiveChildren);
  const watchdog = process.platform === 'win32' ? undefined : startWatchdog(pid);
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    liveChildren.delete(child);
    if (liveChildren.size === 0) process.off('exit', terminateLiveChildren);
    // A line (not EOF) tells the watchdog to leave quietly.
    watchdog?.stdin?.end('released\n');
  };
  child.once('exit', release);
  return release;
}

/** Sends `signal` to the child's whole process group (so wrapper scripts and their children go too). */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    if (process.platform === 'win32') child.kill(signal);
    else process.kill(-child.pid, signal);
  } catch {
    // Already gone, or not a group leader (spawned without `detached`): fall back to the process itself.
    child.kill(signal);
  }
}

const liveChildren = new Set<ChildProcess>();

function terminateLiveChildren(): void {
  for (const child of liveChildren) signalGroup(child, 'SIGTERM');
}

// $1 is the child's pid, which leads its process group. `read` fails only at EOF, i.e. when we died.
const WATCHDOG_SCRIPT = `
if read -r _; then exit 0; fi
kill -TERM -- "-$1" 2>/dev/null || kill -TERM "$1" 2>/dev/null || exit 0
i=0
while [ "$i" -lt 10 ]; do
  kill -0 "$1" 2>/dev/null || exit 0
  sleep 1
  i=$((i + 1))
done
kill -KILL -- "-$1" 2>/dev/null || kill -KILL "$1" 2>/dev/null
`;

function startWatchdog(pid: number): ChildProcess {
  const watchdog = spawn('/bin/sh', ['-c', WATCHDOG_SCRIPT, 'temporal-watchdog', String(pid)], {
    // Its own group too: a Ctrl-C meant for us must not kill the watchdog before it can act.
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  watchdog.on('error', () => undefined); // no /bin/sh: the 'exit' handler still covers normal exits
  watchdog.stdin?.on('error', () => undefined);
  // Neither the watchdog nor its pipe may keep this process alive.
  watchdog.unref();
  (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return watchdog;
}
