/**
 * The RAM policy in docs/operations.md is the least privilege the worker needs: exactly the API actions the product's
 * code calls (no action missing, which would fail a migration halfway; none extra, which grants what is not used).
 * The actions are read from the one place the product reaches the cloud: src/cloud/ecs.ts, cloud-assistant.ts and vpc.ts, where
 * every SDK call goes through `callApi('<Action>', () => client.<action>(...))`.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = join(__dirname, '..');

/** Actions the policy grants that no call names, each with why. */
const IMPLIED: Record<string, string> = {
  // CreateNetworkInterface is called with Tag.N (the ENI is marked as the workflow's): RAM checks tagging on create.
  'ecs:TagResources': 'CreateNetworkInterface with Tag.N',
};

/** `callApi('Action', () => client.action(` in one API family's module, as `<service>:Action`. */
function actionsCalledIn(file: string, service: 'ecs' | 'vpc'): Set<string> {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const calls = [...text.matchAll(/callApi\(\s*'(\w+)',\s*\(\)\s*=>\s*client\.(\w+)\(/g)];
  // Every SDK method call in the module is one of those: none reaches the cloud around callApi.
  const sdkCalls = [...text.matchAll(/\bclient\.(\w+)\(/g)].map((m) => m[1]);
  assert.deepEqual(
    sdkCalls.sort(),
    calls.map((m) => m[2]).sort(),
    `${file}: every client.<action>( is inside a callApi`,
  );
  for (const [, action, method] of calls) {
    assert.equal(
      method[0].toUpperCase() + method.slice(1),
      action,
      `${file}: callApi('${action}') calls ${method}`,
    );
  }
  return new Set(calls.map((m) => `${service}:${m[1]}`));
}

function policyActions(): string[] {
  const doc = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## RAM policy'));
  const json = /```json\n([\s\S]*?)\n```/.exec(section);
  assert.ok(json, 'docs/operations.md "RAM policy" holds a JSON policy');
  const policy = JSON.parse(json[1]) as { Statement: Array<{ Effect: string; Action: string[] }> };
  return policy.Statement.filter((s) => s.Effect === 'Allow').flatMap((s) => s.Action);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('the RAM policy in docs/operations.md', () => {
  it('grants exactly the actions the code calls', () => {
    const called = new Set([
      ...actionsCalledIn('src/cloud/ecs.ts', 'ecs'),
      ...actionsCalledIn('src/cloud/vpc.ts', 'vpc'),
      ...actionsCalledIn('src/cloud/cloud-assistant.ts', 'ecs'),
    ]);
    assert.ok(called.size >= 15, `found the calls (${[...called].join(', ')})`);
    const granted = policyActions();
    assert.equal(new Set(granted).size, granted.length, 'no action listed twice');
    const needed = new Set([...called, ...Object.keys(IMPLIED)]);
    const missing = [...needed].filter((a) => !granted.includes(a));
    const extra = granted.filter((a) => !needed.has(a));
    assert.deepEqual(missing, [], 'actions the code calls that the policy does not grant');
    assert.deepEqual(extra, [], 'actions the policy grants that no code calls');
  });

  it('is the only way the product reaches the cloud: no other module uses the SDK clients', () => {
    const users = sourceFiles(join(ROOT, 'src'))
      .map((f) => relative(ROOT, f).split('\\').join('/'))
      .filter((f) => !f.startsWith('src/local-cloud/'))
      .filter((f) => /from '@alicloud\/(ecs20140526|vpc20160428)'/.test(readFileSync(join(ROOT, f), 'utf8')));
    assert.deepEqual(users.sort(), [
      'src/cloud/clients.ts',
      'src/cloud/cloud-assistant.ts',
      'src/cloud/ecs.ts',
      'src/cloud/vpc.ts',
    ]);
  });
});
