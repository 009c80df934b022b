/**
 * The product's SSH client (src/ssh) against the local cloud's SSH instances and against OpenSSH's own view of
 * them: ssh_config resolution, host key fingerprints as `ssh` prints them, pinning, and one ProxyJump hop.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import SSHConfig from 'ssh-config';
import { Server, utils } from 'ssh2';
import { createSshRunner, resolveTarget, SshError } from '../src/ssh';
import { startTestCloud, type TestCloud } from './helpers/local-cloud';

const run = promisify(execFile);

describe('SSH client', () => {
  let tc: TestCloud;
  let publicIp: string;
  let configPath: string;
  before(async () => {
    tc = await startTestCloud({ instances: 1, ssh: true });
    configPath = tc.cloud.sshConfig!;
    publicIp = (tc.cloud.info().instances as Array<{ publicIp: string }>)[0].publicIp;
  });
  after(() => tc?.cloud.stop());

  it('resolves an address through the ssh_config like `ssh` does', () => {
    const t = resolveTarget(publicIp, { sshConfigPath: configPath });
    assert.equal(t.host, '127.0.0.1');
    assert.ok(t.port > 0 && t.port !== 22);
    assert.equal(t.user, 'root');
    assert.deepEqual(t.identityFiles, [tc.cloud.sshPrivateKey]);
    // The config's User wins over ENI_MIGRATE_SSH_USER, which is the fallback for hosts it names no User for.
    assert.equal(resolveTarget(publicIp, { sshConfigPath: configPath, user: 'admin' }).user, 'root');
    const dir = mkdtempSync(join(tmpdir(), 'ssh-user-'));
    const cfg = join(dir, 'config');
    writeFileSync(cfg, 'Host named\n  User ecs-user\n');
    assert.equal(resolveTarget('named', { sshConfigPath: cfg, user: 'admin' }).user, 'ecs-user');
    assert.equal(resolveTarget('unnamed', { sshConfigPath: cfg, user: 'admin' }).user, 'admin');
    assert.equal(resolveTarget('unnamed', { sshConfigPath: cfg }).user, 'root');
    assert.equal(resolveTarget('unnamed', { user: 'admin' }).user, 'admin');
  });

  it('expands ~ in IdentityFile', () => {
    const home = mkdtempSync(join(tmpdir(), 'ssh-home-'));
    writeFileSync(join(home, 'key'), 'not used');
    const cfg = join(home, 'config');
    writeFileSync(cfg, 'Host box\n  HostName 10.1.2.3\n  Port 2200\n  IdentityFile ~/key\n');
    const saved = process.env.HOME;
    process.env.HOME = home;
    try {
      const t = resolveTarget('box', { sshConfigPath: cfg });
      assert.deepEqual([t.host, t.port, t.identityFiles], ['10.1.2.3', 2200, [join(home, 'key')]]);
    } finally {
      process.env.HOME = saved;
    }
  });

  it('reports the host key fingerprint exactly as OpenSSH prints it', async () => {
    const ssh = createSshRunner({ sshConfigPath: configPath });
    const fingerprint = await ssh.hostKeyFingerprint(publicIp);
    const { stderr } = await run('ssh', ['-F', configPath, '-v', '-o', 'BatchMode=yes', publicIp, 'true']);
    const printed = /Server host key: \S+ (SHA256:\S+)/.exec(stderr)?.[1];
    assert.equal(fingerprint, printed);
  });

  it('runs a command and returns its output, exit code and the host key', async () => {
    const ssh = createSshRunner({ sshConfigPath: configPath });
    const r = await ssh.run(publicIp, 'curl -s -m 5 https://myip.ipip.net; false');
    assert.match(r.stdout, new RegExp(publicIp.replace(/\./g, '\\.')));
    assert.equal(r.exitCode, 1);
    assert.equal(r.hostKeyFingerprint, await ssh.hostKeyFingerprint(publicIp));
  });

  it('refuses a host that presents another key, before authenticating', async () => {
    const ssh = createSshRunner({ sshConfigPath: configPath });
    await assert.rejects(
      ssh.run(publicIp, 'true', { expectedHostKey: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }),
      (err: unknown) => err instanceof SshError && err.kind === 'host-key-mismatch',
    );
  });

  it('tells an address that routes nowhere from a bad key', async () => {
    const ssh = createSshRunner({ sshConfigPath: configPath, connectTimeoutMs: 2000 });
    // The NAT gateway's address has an SSH port in the config but routes to no instance.
    await assert.rejects(
      ssh.run('47.96.180.23', 'true'),
      (err: unknown) => err instanceof SshError && err.kind === 'unreachable',
    );
    const dir = mkdtempSync(join(tmpdir(), 'ssh-key-'));
    const other = utils.generateKeyPairSync('ed25519');
    writeFileSync(join(dir, 'id'), other.private);
    const wrongKey = createSshRunner({ sshConfigPath: configPath, privateKeyPath: join(dir, 'id') });
    // IdentityFile of the config is still tried after the explicit key, like `ssh -i`: this one authenticates.
    assert.equal((await wrongKey.run(publicIp, 'true')).exitCode, 0);
    const cfg = join(dir, 'config');
    writeFileSync(
      cfg,
      readFileSync(configPath, 'utf8').replace(/IdentityFile .*/g, `IdentityFile ${join(dir, 'id')}`),
    );
    await assert.rejects(
      createSshRunner({ sshConfigPath: cfg }).run(publicIp, 'true'),
      (err: unknown) => err instanceof SshError && err.kind === 'auth',
    );
  });

  it('goes through one ProxyJump bastion', async () => {
    const hostKey = utils.generateKeyPairSync('ed25519');
    const forwarded: string[] = [];
    const bastion = new Server({ hostKeys: [hostKey.private] }, (client) => {
      client.on('authentication', (ctx) =>
        ctx.method === 'publickey' && ctx.username === 'jumper' ? ctx.accept() : ctx.reject(),
      );
      client.on('ready', () => {
        client.on('tcpip', (accept, _reject, info) => {
          forwarded.push(`${info.destIP}:${info.destPort}`);
          const stream = accept();
          const upstream = connect(info.destPort, info.destIP);
          stream.pipe(upstream).pipe(stream);
          upstream.on('error', () => stream.destroy());
        });
      });
      client.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => bastion.listen(0, '127.0.0.1', resolve));
    try {
      const target = SSHConfig.parse(readFileSync(configPath, 'utf8')).compute(publicIp);
      const dir = mkdtempSync(join(tmpdir(), 'ssh-jump-'));
      const cfg = join(dir, 'config');
      const knownHosts = join(dir, 'known_hosts');
      const bastionPort = (bastion.address() as AddressInfo).port;
      writeFileSync(
        cfg,
        [
          'Host bastion',
          '  HostName 127.0.0.1',
          `  Port ${bastionPort}`,
          '  User jumper',
          `  IdentityFile ${tc.cloud.sshPrivateKey}`,
          `  UserKnownHostsFile ${knownHosts}`,
          `Host ${publicIp}`,
          `  HostName ${target.HostName}`,
          `  Port ${target.Port}`,
          '  User root',
          `  IdentityFile ${tc.cloud.sshPrivateKey}`,
          '  ProxyJump bastion',
          '',
        ].join('\n'),
      );
      const ssh = createSshRunner({ sshConfigPath: cfg });
      const r = await ssh.run(publicIp, 'hostname');
      assert.equal(r.exitCode, 0);
      assert.deepEqual(forwarded, [`${target.HostName}:${target.Port}`]);
      assert.equal(
        r.hostKeyFingerprint,
        await createSshRunner({ sshConfigPath: configPath }).hostKeyFingerprint(publicIp),
      );

      // The bastion's key is checked against known_hosts: another key listed for it is refused, before auth...
      const other = utils.generateKeyPairSync('ed25519');
      writeFileSync(knownHosts, `[127.0.0.1]:${bastionPort} ${other.public}\n`);
      await assert.rejects(
        ssh.run(publicIp, 'hostname'),
        (err: unknown) => err instanceof SshError && err.kind === 'host-key-mismatch',
      );
      assert.equal(forwarded.length, 1, 'nothing was forwarded through a bastion with an unknown key');
      // ...its own key is accepted, also from a hashed entry (ssh-keygen -H), whatever else is listed.
      const name = `[127.0.0.1]:${bastionPort}`;
      const salt = Buffer.from('0123456789abcdefghij');
      const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
      writeFileSync(knownHosts, `${hashed} ${other.public}\n`);
      await assert.rejects(
        ssh.run(publicIp, 'hostname'),
        (err: unknown) => err instanceof SshError && err.kind === 'host-key-mismatch',
      );
      writeFileSync(knownHosts, `other.example ${other.public}\n${hashed} ${hostKey.public}\n`);
      assert.equal((await ssh.run(publicIp, 'hostname')).exitCode, 0);
      // ...and a revoked key is refused even when listed.
      writeFileSync(knownHosts, `${name} ${hostKey.public}\n@revoked * ${hostKey.public}\n`);
      await assert.rejects(
        ssh.run(publicIp, 'hostname'),
        (err: unknown) => err instanceof SshError && err.kind === 'host-key-mismatch',
      );
    } finally {
      bastion.close();
    }
  });
});
