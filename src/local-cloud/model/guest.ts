import type { GuestCommandResult } from '../contracts';
import { ipChange, isIpChange } from './guest-policy-routing';
import { intToIp, parseCidr } from './ipv4';
import type { Region } from './region';
import { egressAddress, egressViaDevice } from './routing';

/**
 * A tiny emulated guest shell: just what a migration's guest scripts run over SSH.
 *   curl [-4] <egress-echo service>   answers with the instance's real egress address, or times out (exit 28);
 *                                    -6 finds no IPv6 route (the local cloud has no IPv6)
 *   hostname, echo, true, false, whoami, id [-u|-un], ip -4 -o addr, sh|bash -c '<commands>'
 *   ip link|addr|route|rule changes   policy routing for a secondary NIC (guest-policy-routing.ts); root only
 *   systemctl restart eni[.service]   configures every attached secondary NIC (images without multi-nic-util);
 *                                    systemctl changes need root
 *   sudo [-n] <command>               runs it as root: the login user may sudo without a password (NOPASSWD)
 * Commands may be chained with `&&`, `||` and `;`; quotes and backslashes work as in sh. Anything else: exit 127,
 * `bash: <cmd>: command not found`.
 */

const ECHO_SERVICES: Record<string, (ip: string) => string> = {
  'myip.ipip.net': (ip) => `当前 IP：${ip}  来自于：中国 浙江 杭州  阿里云\n`,
  'ifconfig.me': (ip) => ip,
  'ipinfo.io': (ip) => ip,
  'api.ipify.org': (ip) => ip,
  'icanhazip.com': (ip) => `${ip}\n`,
  'checkip.amazonaws.com': (ip) => `${ip}\n`,
};

const CURL_OPTIONS_WITH_VALUE = new Set([
  '-m',
  '--max-time',
  '--connect-timeout',
  '--interface',
  '-o',
  '--output',
  '-H',
  '--header',
  '-A',
  '--user-agent',
  '-w',
  '--write-out',
  '-x',
  '--proxy',
  '-X',
  '--request',
  '-d',
  '--data',
  '-u',
  '--user',
  '-e',
  '--referer',
  '-b',
  '--cookie',
  '-c',
  '--cookie-jar',
  '--retry',
  '--resolve',
  '-K',
  '--config',
]);

type Out = GuestCommandResult;
const ok = (stdout = ''): Out => ({ stdout, stderr: '', exitCode: 0 });

/** Who runs a command: the login user, and whether it runs as root (the user is root, or it came through sudo). */
interface Caller {
  user: string;
  root: boolean;
}

export function runGuestCommand(
  r: Region,
  instanceId: string,
  command: string,
  user = 'root',
): GuestCommandResult {
  r.settle();
  const inst = r.instances.get(instanceId);
  if (!inst) throw new Error(`no instance ${instanceId} in ${r.regionId}`);
  if (inst.status !== 'Running')
    return { stdout: '', stderr: `instance ${instanceId} is ${inst.status}\n`, exitCode: 255 };
  return runLine(r, instanceId, command, { user, root: user === 'root' });
}

function runLine(r: Region, instanceId: string, command: string, caller: Caller): Out {
  let stdout = '';
  let stderr = '';
  let exitCode = 0;
  let op: string | undefined;
  for (const part of splitChain(command)) {
    if (part.words === undefined) {
      op = part.op;
      continue;
    }
    if ((op === '&&' && exitCode !== 0) || (op === '||' && exitCode === 0)) continue;
    const res = runOne(r, instanceId, part.words, caller);
    stdout += res.stdout;
    stderr += res.stderr;
    exitCode = res.exitCode;
  }
  return { stdout, stderr, exitCode };
}

/** Splits a command line into words and chain operators, honouring quotes and backslashes as sh does. */
function splitChain(
  line: string,
): Array<{ words: string[]; op?: undefined } | { op: string; words?: undefined }> {
  const out: Array<{ words: string[]; op?: undefined } | { op: string; words?: undefined }> = [];
  let words: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  const endWord = () => {
    if (word !== undefined) words.push(word);
    word = undefined;
  };
  const endCommand = (op: string) => {
    endWord();
    out.push({ words });
    out.push({ op });
    words = [];
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote === "'") {
      if (c === quote) quote = undefined;
      else word = (word ?? '') + c;
    } else if (quote === '"') {
      // Inside double quotes a backslash escapes only these; elsewhere it stays.
      const next = line[i + 1];
      if (c === '\\' && next !== undefined && '"\\$`'.includes(next)) word = (word ?? '') + line[++i];
      else if (c === quote) quote = undefined;
      else word = (word ?? '') + c;
    } else if (c === '\\' && i + 1 < line.length) {
      word = (word ?? '') + line[++i];
    } else if (c === "'" || c === '"') {
      quote = c;
      word = word ?? '';
    } else if (c === '&' && line[i + 1] === '&') {
      endCommand('&&');
      i++;
    } else if (c === '|' && line[i + 1] === '|') {
      endCommand('||');
      i++;
    } else if (c === ';' || c === '\n') {
      endCommand(';');
    } else if (/\s/.test(c)) {
      endWord();
    } else {
      word = (word ?? '') + c;
    }
  }
  endWord();
  out.push({ words });
  return out;
}

function runOne(r: Region, instanceId: string, words: string[], caller: Caller): Out {
  const [cmd, ...args] = words;
  const inst = r.instances.get(instanceId)!;
  switch (cmd) {
    case 'sudo':
      return sudo(r, instanceId, args, caller);
    case 'sh':
    case 'bash':
      if (args[0] !== '-c' || args[1] === undefined)
        return { stdout: '', stderr: `${cmd}: only \`${cmd} -c '<commands>'\` is emulated\n`, exitCode: 2 };
      return runLine(r, instanceId, args[1], caller);
    case 'whoami':
      return ok(`${caller.root ? 'root' : caller.user}\n`);
    case 'id':
      if (args[0] === '-u') return ok(caller.root ? '0\n' : '1000\n');
      if (args[0] === '-un') return ok(`${caller.root ? 'root' : caller.user}\n`);
      return { stdout: '', stderr: 'id: only -u and -un are emulated\n', exitCode: 1 };
    case undefined:
    case 'true':
      return ok();
    case 'false':
      return { stdout: '', stderr: '', exitCode: 1 };
    case 'echo':
      return args[0] === '-n' ? ok(args.slice(1).join(' ')) : ok(`${args.join(' ')}\n`);
    case 'hostname':
      if (args[0] === '-I')
        return ok(
          `${nics(r, instanceId)
            .map((n) => n.ip)
            .join(' ')} \n`,
        );
      return ok(`${inst.hostName}\n`);
    case 'ip':
      return isIpChange(args) ? ipChange(r, instanceId, args, caller.root) : ip(r, instanceId, args);
    case 'curl':
      return curl(r, instanceId, args);
    case 'systemctl':
      return systemctl(r, instanceId, args, caller);
    default:
      return { stdout: '', stderr: `bash: ${cmd}: command not found\n`, exitCode: 127 };
  }
}

interface Nic {
  name: string;
  index: number;
  ip: string;
  prefix: number;
  broadcast: string;
}

/** The NICs that have an IPv4 address in the guest: eth0 always, ethN once its secondary ENI is configured. */
function nics(r: Region, instanceId: string): Nic[] {
  const out: Nic[] = [];
  for (const eni of r.enisOf(instanceId)) {
    if (eni.status !== 'InUse' || !eni.guestConfigured || eni.deviceIndex === undefined) continue;
    const cidr = r.vSwitches.get(eni.vSwitchId)!.cidrBlock;
    const c = parseCidr(cidr)!;
    out.push({
      name: `eth${eni.deviceIndex}`,
      index: eni.deviceIndex + 2,
      ip: eni.primaryIpAddress,
      prefix: Number(cidr.split('/')[1]),
      broadcast: intToIp(c.base + c.size - 1),
    });
  }
  return out;
}

function ip(r: Region, instanceId: string, args: string[]): Out {
  const object = args.find((a) => !a.startsWith('-'));
  if (!object || !['a', 'addr', 'address'].includes(object))
    return {
      stdout: '',
      stderr: `Object "${object ?? ''}" is unknown or not supported by this guest, try "ip -4 -o addr".\n`,
      exitCode: 1,
    };
  const oneLine = args.includes('-o') || args.includes('-oneline');
  const list = nics(r, instanceId);
  if (oneLine) {
    const lines = ['1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever'];
    for (const n of list)
      lines.push(
        `${n.index}: ${n.name}    inet ${n.ip}/${n.prefix} brd ${n.broadcast} scope global dynamic ${n.name}\\       valid_lft 315359994sec preferred_lft 315359994sec`,
      );
    return ok(lines.join('\n') + '\n');
  }
  let text =
    '1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000\n    inet 127.0.0.1/8 scope host lo\n       valid_lft forever preferred_lft forever\n';
  for (const n of list)
    text += `${n.index}: ${n.name}: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc mq state UP group default qlen 1000\n    inet ${n.ip}/${n.prefix} brd ${n.broadcast} scope global dynamic ${n.name}\n       valid_lft 315359994sec preferred_lft 315359994sec\n`;
  return ok(text);
}

/**
 * `sudo [-n] [--] <command>`: the command runs as root. The login user may sudo without a password, as the images'
 * admin users (ecs-user) may [assumed], so -n (never prompt) changes nothing here.
 */
function sudo(r: Region, instanceId: string, args: string[], caller: Caller): Out {
  let i = 0;
  for (; i < args.length && args[i].startsWith('-'); i++) {
    if (args[i] === '--') {
      i++;
      break;
    }
    if (args[i] !== '-n')
      return { stdout: '', stderr: `sudo: option ${args[i]} is not emulated\n`, exitCode: 1 };
  }
  if (i >= args.length) return { stdout: '', stderr: 'usage: sudo [-n] command\n', exitCode: 1 };
  return runOne(r, instanceId, args.slice(i), { ...caller, root: true });
}

function systemctl(r: Region, instanceId: string, args: string[], caller: Caller): Out {
  const [verb, unit] = args.filter((a) => !a.startsWith('-'));
  const name = (unit ?? '').replace(/\.service$/, '');
  if (unit && ['start', 'stop', 'restart', 'reload'].includes(verb ?? '') && !caller.root) {
    // What systemctl says to a non-root user over SSH, where no polkit agent can ask for a password.
    return {
      stdout: '',
      stderr: `Failed to ${verb} ${name}.service: Interactive authentication required.\nSee system logs and 'systemctl status ${name}.service' for details.\n`,
      exitCode: 1,
    };
  }
  if ((verb === 'restart' || verb === 'start') && name === 'eni') {
    // The documented guest step: multi-nic-util's eni.service sets up every attached secondary NIC.
    for (const eni of r.enisOf(instanceId))
      if (eni.type === 'Secondary' && eni.status === 'InUse') eni.guestConfigured = true;
    return ok();
  }
  if (!verb || !unit) return { stdout: '', stderr: 'Too few arguments.\n', exitCode: 1 };
  return {
    stdout: '',
    stderr: `Failed to ${verb} ${name}.service: Unit ${name}.service not found.\n`,
    exitCode: 5,
  };
}

function curl(r: Region, instanceId: string, args: string[]): Out {
  let silent = false;
  let showError = false;
  let timeoutS: number | undefined;
  let iface: string | undefined;
  let url: string | undefined;
  let ipv6 = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (CURL_OPTIONS_WITH_VALUE.has(a)) {
      const v = args[++i];
      if (a === '-m' || a === '--max-time' || a === '--connect-timeout') timeoutS = Number(v);
      if (a === '--interface') iface = v;
    } else if (a === '--silent') silent = true;
    else if (a === '--show-error') showError = true;
    else if (a === '--ipv4' || a === '--ipv6') ipv6 = a === '--ipv6';
    else if (/^-[a-zA-Z46]+$/.test(a)) {
      if (a.includes('s')) silent = true;
      if (a.includes('S')) showError = true;
      // -4 / -6: the last one given wins, as in curl.
      const family = Math.max(a.lastIndexOf('4'), a.lastIndexOf('6'));
      if (family > 0) ipv6 = a[family] === '6';
    } else if (!a.startsWith('-') && url === undefined) url = a;
  }
  const fail = (code: number, message: string): Out => ({
    stdout: '',
    stderr: silent && !showError ? '' : `curl: (${code}) ${message}\n`,
    exitCode: code,
  });
  if (!url) return fail(2, 'no URL specified');
  let parsed: URL;
  try {
    parsed = new URL(/^[a-z]+:\/\//i.test(url) ? url : `http://${url}`);
  } catch {
    return fail(3, `URL rejected: Malformed input to a URL function`);
  }
  const host = parsed.hostname;
  const port = parsed.port || (parsed.protocol === 'https:' ? '443' : '80');
  // Instances of the local cloud have IPv4 only: -6 finds no route. Without -4 or -6, curl takes IPv4 here too.
  if (ipv6) return fail(7, `Failed to connect to ${host} port ${port} after 0 ms: Network is unreachable`);

  let egress: string | undefined;
  if (iface === undefined) egress = egressAddress(r, instanceId);
  else {
    const byName = /^eth(\d+)$/.exec(iface);
    const device = byName
      ? Number(byName[1])
      : r.enisOf(instanceId).find((e) => e.primaryIpAddress === iface && e.status === 'InUse')?.deviceIndex;
    if (device === undefined || (device > 0 && !nics(r, instanceId).some((n) => n.index === device + 2)))
      return fail(45, `Couldn't bind to '${iface}'`);
    egress = egressViaDevice(r, instanceId, device);
  }
  if (!egress) {
    // No route out: the SYN is dropped, so curl waits for its timeout.
    if (timeoutS !== undefined && Number.isFinite(timeoutS))
      return fail(28, `Connection timed out after ${Math.round(timeoutS * 1000) + 1} milliseconds`);
    return fail(28, `Failed to connect to ${host} port ${port} after 134263 ms: Connection timed out`);
  }
  const service = ECHO_SERVICES[host];
  if (!service || (host === 'ipinfo.io' && parsed.pathname !== '/ip'))
    return fail(
      7,
      `Failed to connect to ${host} port ${port} after 12 ms: Couldn't connect to server (the local cloud's internet only has IP echo services)`,
    );
  return ok(service(egress));
}
