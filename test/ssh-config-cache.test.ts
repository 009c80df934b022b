/** The ssh_config is parsed once per version of the file, not once per connection (issue 9). */
import assert from 'node:assert/strict';
import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createSshRunner } from '../src/ssh';
import { resolveTarget, sshConfigParses } from '../src/ssh/config';

const hosts = (n: number, user: string) =>
  Array.from(
    { length: n },
    (_, i) => `Host 203.0.113.${i + 1}\n  HostName 127.0.0.1\n  Port ${20000 + i}\n  User ${user}\n`,
  ).join('\n');

describe('ssh_config', () => {
  it('is parsed once for many connections, and again when the file changes', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'ssh-config-cache-')), 'ssh_config');
    writeFileSync(path, hosts(200, 'root'));
    const ssh = createSshRunner({ sshConfigPath: path });
    const before = sshConfigParses();
    for (let i = 0; i < 200; i++) assert.equal(ssh.user(`203.0.113.${i + 1}`), 'root');
    for (let i = 0; i < 200; i++) {
      assert.equal(resolveTarget(`203.0.113.${i + 1}`, { sshConfigPath: path }).port, 20000 + i);
    }
    assert.equal(sshConfigParses() - before, 1, 'one parse for 400 connections');

    // Rewritten (as the local cloud or an operator does): the next connection sees the new file.
    writeFileSync(path, hosts(200, 'ecs-user'));
    const later = new Date(Date.now() + 5000);
    utimesSync(path, later, later);
    assert.equal(ssh.user('203.0.113.7'), 'ecs-user');
    assert.equal(ssh.user('203.0.113.8'), 'ecs-user');
    assert.equal(sshConfigParses() - before, 2);
  });
});
