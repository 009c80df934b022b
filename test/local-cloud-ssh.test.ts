import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, utils } from 'ssh2';
import type { CloudModel, GuestCommandResult, PublicRoute } from '../src/local-cloud/contracts';
import { createCloudModel, defaultTopology } from '../src/local-cloud/model';
import { startInstanceSsh, WELCOME_BANNER, type InstanceSsh } from '../src/local-cloud/ssh';

const NAT_A = '203.0.113.10';
const NAT_B = '203.0.113.11';
const EIP = '203.0.113.20';
const NOWHERE = '203.0.113.30';
const EGRESS_CHECK = 'curl -s https://myip.ipip.net';

/**
 * A stand-in for the cloud model with routing the test can flip. Its guest answers the egress check with
 * the instance's egress address, `hostname`, `exit-with N` and, for anything else, bash's "not found".
 */
class StandInCloud implements CloudModel {
  readonly regionId = 'cn-hangzhou';
  timings = {
    attachMs: 0,
    detachMs: 0,
    deleteMs: 0,
    associateMs: 0,
    unassociateMs: 0,
    convertMs: 0,
    commandMs: 0,
  };
  readonly routes = new Map<string, PublicRoute | undefined>();
  readonly egress = new Map<string, string>();
  readonly commands: Array<{ instanceId: string; command: string }> = [];

  route(ip: string, instanceId: string | undefined, via: PublicRoute['via'] = 'nat-public-ip'): void {
    this.routes.set(ip, instanceId ? { instanceId, publicIp: ip, via } : undefined);
  }
  configure(): void {}
  publicAddresses(): string[] {
    return [...this.routes.keys()];
  }
  routePublicAddress(ip: string): PublicRoute | undefined {
    return this.routes.get(ip);
  }
  egressAddress(instanceId: string): string | undefined {
    return this.egress.get(instanceId);
  }
  runGuestCommand(instanceId: string, command: string): GuestCommandResult {
    this.commands.push({ instanceId, command });
    if (command === EGRESS_CHECK) {
      const ip = this.egressAddress(instanceId);
      return ip
        ? {
            stdout: `Current IP: ${ip}  from: China Zhejiang Hangzhou Alibaba Cloud\n`,
            stderr: '',
            exitCode: 0,
          }
        : { stdout: '', stderr: '', exitCode: 7 };
    }
    if (command === 'hostname') return { stdout: `iZ${instanceId}Z\n`, stderr: '', exitCode: 0 };
    const exitWith = /^exit-with (\d+)$/.exec(command);
    if (exitWith)
      return { stdout: '', stderr: `failing with ${exitWith[1]}\n`, exitCode: Number(exitWith[1]) };
    return { stdout: '', stderr: `-bash: ${command.split(' ')[0]}: command not found\n`, exitCode: 127 };
  }
  snapshot(): Record<string, unknown> {
    return {};
  }
}

interface Session {
  client: Client;
  hostKey: Buffer;
}

/** The fingerprint of a raw host key blob, computed here independently of the code under test. */
function sha256Fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

function connect(
  port: number,
  auth: { privateKey?: string | Buffer; password?: string; username?: string },
): Promise<Session> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let hostKey: Buffer = Buffer.alloc(0);
    client
      .on('ready', () => resolve({ client, hostKey }))
      .on('error', reject)
      .connect({
        host: '127.0.0.1',
        port,
        username: auth.username ?? 'root',
        privateKey: auth.privateKey,
        password: auth.password,
        readyTimeout: 5000,
        hostVerifier: (key: Buffer) => {
          hostKey = key;
          return true;
        },
      });
  });
}

function exec(client: Client, command: string): Promise<GuestCommandResult> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err, channel) => {
      if (err) return reject(err);
      let stdout = '';
      let stderr = '';
      let exitCode = -1;
      channel.on('data', (d: Buffer) => (stdout += d.toString()));
      channel.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      channel.on('exit', (code: number) => (exitCode = code));
      channel.on('close', () => resolve({ stdout, stderr, exitCode }));
    });
  });
}

interface OpenSshResult extends GuestCommandResult {
  ms: number;
}

/** The real OpenSSH client, reading nothing but the cloud's ssh_config. */
function openssh(ssh: InstanceSsh, args: string[], input = ''): Promise<OpenSshResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', [
      '-F',
      ssh.sshConfigPath,
      '-o',
      'BatchMode=yes',
      '-o',
      'ConnectTimeout=5',
      ...args,
    ]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ stdout, stderr, exitCode: code ?? -1, ms: Date.now() - started }));
    child.stdin.end(input);
  });
}

function sshKeygenFingerprints(knownHosts: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('ssh-keygen', ['-l', '-f', knownHosts], (err, stdout) => (err ? reject(err) : resolve(stdout))),
  );
}

describe('instances that answer SSH', () => {
  const cloud = new StandInCloud();
  let workDir: string;
  let ssh: InstanceSsh;
  let privateKey: Buffer;

  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'local-cloud-ssh-'));
    cloud.route(NAT_A, 'i-a');
    cloud.route(NAT_B, 'i-b');
    cloud.route(EIP, 'i-a', 'eip-primary');
    cloud.route(NOWHERE, undefined);
    cloud.egress.set('i-a', NAT_A);
    cloud.egress.set('i-b', NAT_B);
    ssh = await startInstanceSsh({ model: cloud, workDir });
    privateKey = await readFile(ssh.privateKeyPath);
  });

  after(async () => {
    await ssh?.stop();
    await rm(workDir, { recursive: true, force: true });
  });

  it('writes an OpenSSH config that gives every public address a loopback port of its own', async () => {
    assert.deepEqual(Object.keys(ssh.ports).sort(), [NAT_A, NAT_B, EIP, NOWHERE].sort());
    assert.equal(new Set(Object.values(ssh.ports)).size, 4);
    const config = await readFile(ssh.sshConfigPath, 'utf8');
    for (const [ip, port] of Object.entries(ssh.ports)) {
      const block = config.split(/\n(?=Host )/).find((b) => b.startsWith(`Host ${ip}\n`));
      assert.ok(block, `no Host block for ${ip}`);
      for (const line of [
        'HostName 127.0.0.1',
        `Port ${port}`,
        'User root',
        `IdentityFile ${ssh.privateKeyPath}`,
        'IdentitiesOnly yes',
        `UserKnownHostsFile ${join(workDir, 'known_hosts')}`,
        'StrictHostKeyChecking accept-new',
      ]) {
        assert.match(block, new RegExp(`^  ${line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
      }
    }
    assert.equal((await stat(ssh.privateKeyPath)).mode & 0o777, 0o600);
    assert.match(ssh.publicKey, /^ssh-ed25519 AAAA/);
    assert.equal(ssh.user, 'root');
  });

  it('answers on the public IP with the guest output, exit codes and the instance host key (ssh2 client)', async () => {
    const { client, hostKey } = await connect(ssh.ports[NAT_A]!, { privateKey });
    try {
      assert.equal(sha256Fingerprint(hostKey), ssh.hostKeyFingerprint('i-a'));
      const egress = await exec(client, EGRESS_CHECK);
      assert.equal(egress.exitCode, 0);
      assert.match(egress.stdout, new RegExp(`Current IP: ${NAT_A.replace(/\./g, '\\.')}\\b`));
      const failing = await exec(client, 'exit-with 3');
      assert.deepEqual(failing, { stdout: '', stderr: 'failing with 3\n', exitCode: 3 });
      const unknown = await exec(client, 'frobnicate --now');
      assert.equal(unknown.exitCode, 127);
      assert.match(unknown.stderr, /frobnicate: command not found/);
    } finally {
      client.end();
    }
    assert.notEqual(ssh.hostKeyFingerprint('i-a'), ssh.hostKeyFingerprint('i-b'));
    assert.equal(ssh.hostKeyFingerprint('i-a'), ssh.hostKeyFingerprint('i-a'), 'host key is stable');
  });

  it('needs nothing but the ssh_config for the real OpenSSH client, and records the key under the public IP', async () => {
    const result = await openssh(ssh, [NAT_A, EGRESS_CHECK]);
    assert.equal(result.exitCode, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`Current IP: ${NAT_A.replace(/\./g, '\\.')}\\b`));
    // ssh-keygen reads the known_hosts that OpenSSH wrote: an independent check of hostKeyFingerprint().
    const listed = await sshKeygenFingerprints(join(workDir, 'known_hosts'));
    assert.match(
      listed,
      new RegExp(`${ssh.hostKeyFingerprint('i-a').replace(/[+/]/g, '\\$&')} ${NAT_A} \\(ED25519\\)`),
    );

    const failing = await openssh(ssh, [NAT_B, 'exit-with 4']);
    assert.equal(failing.exitCode, 4);
    assert.equal(failing.stderr.replace(/^Warning: Permanently added.*\r?\n/m, ''), 'failing with 4\n');
  });

  it('resets a connection to an address that routes to no instance, so clients fail at once', async () => {
    const result = await openssh(ssh, [NOWHERE, EGRESS_CHECK]);
    assert.equal(result.exitCode, 255);
    assert.match(result.stderr, /Connection (reset|closed)/);
    assert.ok(result.ms < 3000, `took ${result.ms} ms`);
    await assert.rejects(connect(ssh.ports[NOWHERE]!, { privateKey }), /ECONNRESET|closed|ended/i);
  });

  it('routes each new connection where the address points now; an open connection stays on its instance', async () => {
    const first = await connect(ssh.ports[EIP]!, { privateKey });
    try {
      assert.equal(sha256Fingerprint(first.hostKey), ssh.hostKeyFingerprint('i-a'));
      // The EIP moves to a secondary ENI of the same instance: same host, same key, OpenSSH is content.
      const viaOpenSsh = await openssh(ssh, [EIP, 'hostname']);
      assert.equal(viaOpenSsh.stdout, 'iZi-aZ\n');
      cloud.route(EIP, 'i-a', 'eip-secondary-eni');
      const afterMove = await openssh(ssh, [EIP, 'hostname']);
      assert.equal(afterMove.exitCode, 0, afterMove.stderr);
      assert.equal(afterMove.stdout, 'iZi-aZ\n');

      // Now the address lands on another instance: new connections meet i-b and its key ...
      cloud.route(EIP, 'i-b', 'eip-primary');
      const second = await connect(ssh.ports[EIP]!, { privateKey });
      try {
        assert.equal(sha256Fingerprint(second.hostKey), ssh.hostKeyFingerprint('i-b'));
        assert.equal((await exec(second.client, 'hostname')).stdout, 'iZi-bZ\n');
      } finally {
        second.client.end();
      }
      // ... the connection opened before keeps talking to i-a ...
      assert.equal((await exec(first.client, 'hostname')).stdout, 'iZi-aZ\n');
      // ... and OpenSSH, which knows the address by i-a's key, refuses the impostor.
      const changed = await openssh(ssh, [EIP, 'hostname']);
      assert.equal(changed.exitCode, 255);
      assert.match(changed.stderr, /REMOTE HOST IDENTIFICATION HAS CHANGED/);

      // Unbound: the next connection finds nobody.
      cloud.route(EIP, undefined);
      await assert.rejects(connect(ssh.ports[EIP]!, { privateKey }), /ECONNRESET|closed|ended/i);
    } finally {
      first.client.end();
      cloud.route(EIP, 'i-a', 'eip-primary');
    }
  });

  it('accepts only the cloud key pair for the configured user', async () => {
    const stranger = utils.generateKeyPairSync('ed25519');
    await assert.rejects(
      connect(ssh.ports[NAT_A]!, { privateKey: stranger.private }),
      /authentication methods failed/,
    );
    await assert.rejects(
      connect(ssh.ports[NAT_A]!, { password: 'Passw0rd!' }),
      /authentication methods failed/,
    );
    await assert.rejects(
      connect(ssh.ports[NAT_A]!, { privateKey, username: 'admin' }),
      /authentication methods failed/,
    );

    // OpenSSH adds `-i` keys to the config's, so give it a config whose only identity is the stranger's.
    const strangerPath = join(workDir, 'stranger');
    await writeFile(strangerPath, stranger.private, { mode: 0o600 });
    const config = await readFile(ssh.sshConfigPath, 'utf8');
    const strangerConfig = join(workDir, 'ssh_config.stranger');
    await writeFile(strangerConfig, config.replaceAll(ssh.privateKeyPath, strangerPath), { mode: 0o600 });
    const denied = await openssh({ ...ssh, sshConfigPath: strangerConfig }, [NAT_A, 'hostname']);
    assert.equal(denied.exitCode, 255);
    assert.match(denied.stderr, /Permission denied \(publickey\)/);
  });

  it('gives a login shell: banner, prompt, commands, `exit N`', async () => {
    const { client } = await connect(ssh.ports[NAT_B]!, { privateKey });
    try {
      const transcript = await new Promise<{ output: string; exitCode: number }>((resolve, reject) => {
        client.shell({ term: 'xterm' }, (err, channel) => {
          if (err) return reject(err);
          let output = '';
          let exitCode = -1;
          let sent = false;
          channel.on('data', (d: Buffer) => {
            output += d.toString();
            if (!sent && output.includes('# ')) {
              sent = true;
              channel.write(`${EGRESS_CHECK}\rexit 5\r`);
            }
          });
          channel.on('exit', (code: number) => (exitCode = code));
          channel.on('close', () => resolve({ output, exitCode }));
        });
      });
      assert.ok(transcript.output.includes(WELCOME_BANNER), transcript.output);
      assert.match(transcript.output, /\[root@iZi-bZ ~\]# curl -s https:\/\/myip\.ipip\.net\r\n/);
      assert.match(transcript.output, /Current IP: 203\.0\.113\.11 .*\r\n/);
      assert.equal(transcript.exitCode, 5);
    } finally {
      client.end();
    }

    // OpenSSH without a terminal: the banner, then the output of the piped commands, no prompts.
    const piped = await openssh(ssh, ['-T', NAT_B], 'hostname\nexit 6\nhostname\n');
    assert.equal(piped.stdout, `\n${WELCOME_BANNER}\n\niZi-bZ\n`);
    assert.equal(piped.exitCode, 6);
  });

  it('accepts a key pair and user given to it; stop() closes open connections promptly', async () => {
    const workDir2 = await mkdtemp(join(tmpdir(), 'local-cloud-ssh-'));
    try {
      const given = utils.generateKeyPairSync('ed25519');
      const givenPath = join(workDir2, 'my-key');
      await writeFile(givenPath, given.private, { mode: 0o600 });
      const own = await startInstanceSsh({
        model: cloud,
        workDir: workDir2,
        privateKeyPath: givenPath,
        user: 'ecs-user',
      });
      assert.equal(own.privateKeyPath, givenPath);
      assert.equal(own.publicKey, given.public.split(' ').slice(0, 2).join(' '));
      await assert.rejects(connect(own.ports[NAT_A]!, { privateKey, username: 'ecs-user' }));
      const { client } = await connect(own.ports[NAT_A]!, {
        privateKey: given.private,
        username: 'ecs-user',
      });
      const closed = new Promise<void>((resolve) => client.on('close', () => resolve()));
      const started = Date.now();
      await own.stop();
      await closed;
      assert.ok(Date.now() - started < 1000, `stop took ${Date.now() - started} ms`);
      await assert.rejects(connect(own.ports[NAT_A]!, { privateKey: given.private }), /ECONNREFUSED/);
    } finally {
      await rm(workDir2, { recursive: true, force: true });
    }
  });
});

describe('instances of the real cloud model answer SSH', () => {
  let workDir: string;
  let ssh: InstanceSsh;
  const topology = defaultTopology({ instances: 2 });
  const model = createCloudModel({ topology });

  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'local-cloud-ssh-'));
    ssh = await startInstanceSsh({ model, workDir });
  });

  after(async () => {
    await ssh?.stop();
    await rm(workDir, { recursive: true, force: true });
  });

  it('reaches each instance on its NAT public IP, egress check included; the SNAT IP answers nobody', async () => {
    for (const instance of topology.instances) {
      const ip = instance.publicIpAddress!;
      const result = await openssh(ssh, [ip, `hostname && ${EGRESS_CHECK}`]);
      assert.equal(result.exitCode, 0, result.stderr);
      assert.equal(result.stdout.split('\n')[0], `iZ${instance.instanceId.slice(2)}Z`);
      assert.match(result.stdout.split('\n')[1]!, new RegExp(`^当前 IP：${ip.replace(/\./g, '\\.')}\\s`));
      const known = await sshKeygenFingerprints(join(workDir, 'known_hosts'));
      assert.ok(known.includes(`${ssh.hostKeyFingerprint(instance.instanceId)} ${ip} (ED25519)`), known);
    }
    const snatIps = model
      .publicAddresses()
      .filter((ip) => !topology.instances.some((i) => i.publicIpAddress === ip));
    assert.ok(snatIps.length > 0, 'the NAT gateway has an EIP of its own');
    for (const ip of snatIps) {
      const result = await openssh(ssh, [ip, 'hostname']);
      assert.equal(result.exitCode, 255);
      assert.match(result.stderr, /Connection (reset|closed)/);
    }
  });
});
