import type { Session, ServerChannel } from 'ssh2';
import type { CloudModel, GuestCommandResult } from '../contracts';

/** What `/etc/motd` says on an Alibaba Cloud Linux image; the runbook checks for it after `ssh root@<ip>`. */
export const WELCOME_BANNER = 'Welcome to Alibaba Cloud Elastic Compute Service !';

function run(model: CloudModel, instanceId: string, command: string, user: string): GuestCommandResult {
  try {
    return model.runGuestCommand(instanceId, command, user);
  } catch (err) {
    // A model bug must not take the SSH server down; the session sees it as a failed command.
    return { stdout: '', stderr: `local cloud: ${(err as Error).message}\n`, exitCode: 1 };
  }
}

/** A terminal's line discipline turns \n into \r\n on output. */
function onTerminal(text: string, pty: boolean): string {
  return pty ? text.replace(/\r?\n/g, '\r\n') : text;
}

function exitCodeOf(line: string): number | undefined {
  const m = /^exit(?:\s+(\d+))?\s*$/.exec(line);
  return m ? Number(m[1] ?? 0) % 256 : undefined;
}

/**
 * One SSH session channel on one instance: `exec` runs the command in the guest; `shell` is a minimal
 * login shell (banner, then one command per line until `exit`). With a pty it prompts and echoes like an
 * interactive bash; without one it only runs the lines it is fed, so piped scripts get clean output.
 */
export function serveSession(session: Session, model: CloudModel, instanceId: string, user: string): void {
  let pty = false;
  session.on('pty', (accept) => {
    pty = true;
    accept?.();
  });
  session.on('window-change', (accept) => accept?.());
  session.on('env', (accept) => accept?.());

  session.on('exec', (accept, _reject, info) => {
    const channel = accept();
    const result = run(model, instanceId, info.command, user);
    channel.write(onTerminal(result.stdout, pty));
    channel.stderr.write(onTerminal(result.stderr, pty));
    channel.exit(result.exitCode);
    channel.end();
  });

  session.on('shell', (accept) => {
    const channel = accept();
    const hostname = run(model, instanceId, 'hostname', user);
    const name = hostname.exitCode === 0 && hostname.stdout.trim() ? hostname.stdout.trim() : instanceId;
    const prompt = `[${user}@${name} ~]${user === 'root' ? '#' : '$'} `;
    interactiveShell(channel, pty, prompt, (command) => run(model, instanceId, command, user));
  });
}

function interactiveShell(
  channel: ServerChannel,
  pty: boolean,
  prompt: string,
  runLine: (command: string) => GuestCommandResult,
): void {
  const out = (text: string) => channel.write(onTerminal(text, pty));
  const showPrompt = () => pty && channel.write(prompt);
  let lastExitCode = 0;
  let line = '';
  let lastWasCr = false;
  let closed = false;

  const close = (code: number) => {
    if (closed) return;
    closed = true;
    if (pty) out('logout\n');
    channel.exit(code);
    channel.end();
  };

  const execute = (command: string) => {
    const trimmed = command.trim();
    if (trimmed === '') return;
    const exitCode = exitCodeOf(trimmed);
    if (exitCode !== undefined) return close(exitCode);
    const result = runLine(trimmed);
    lastExitCode = result.exitCode;
    out(result.stdout);
    channel.stderr.write(onTerminal(result.stderr, pty));
  };

  out(`\n${WELCOME_BANNER}\n\n`);
  showPrompt();

  channel.on('data', (chunk: Buffer) => {
    for (const ch of chunk.toString('utf8')) {
      if (closed) return;
      if (ch === '\r' || ch === '\n') {
        // A terminal sends \r for Enter; a pipe sends \n. Skip the \n of a \r\n pair.
        if (ch === '\n' && pty && line === '' && lastWasCr) continue;
        lastWasCr = ch === '\r';
        if (pty) channel.write('\r\n');
        const command = line;
        line = '';
        execute(command);
        if (!closed) showPrompt();
        continue;
      }
      lastWasCr = false;
      if (!pty) {
        line += ch;
      } else if (ch === '\x7f' || ch === '\b') {
        if (line.length > 0) {
          line = line.slice(0, -1);
          channel.write('\b \b');
        }
      } else if (ch === '\x03') {
        line = '';
        channel.write('^C\r\n');
        showPrompt();
      } else if (ch === '\x04') {
        if (line === '') close(lastExitCode);
      } else if (ch >= ' ') {
        line += ch;
        channel.write(ch);
      }
    }
  });
  // The client closed its side (end of piped input): run what is left, then leave like bash does.
  channel.on('end', () => {
    if (line.trim()) execute(line);
    close(lastExitCode);
  });
}
