import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import SSHConfig from 'ssh-config';
import { knownHostsName } from './known-hosts';

/** How the worker reaches instances over SSH. Secrets (the keys' contents) stay on the worker. */
export interface SshOptions {
  /** An OpenSSH ssh_config: HostName, Port, User, IdentityFile and ProxyJump (one hop) are honoured. */
  sshConfigPath?: string;
  /** User for a host the config names no User for (ENI_MIGRATE_SSH_USER). The config's User wins; default root. */
  user?: string;
  /** Tried before the config's IdentityFile entries, like `ssh -i`. */
  privateKeyPath?: string;
  /** TCP connect plus SSH handshake budget (default 10 s). */
  connectTimeoutMs?: number;
  /** How long a command may run (default 60 s). */
  commandTimeoutMs?: number;
}

/** Where a connection to one address really goes. */
export interface SshTarget {
  /** The address asked for (an instance's public IP): what host keys are recorded against. */
  alias: string;
  host: string;
  port: number;
  user: string;
  /** Candidate private key files, in the order they are tried. */
  identityFiles: string[];
  /** One bastion hop, from ProxyJump. */
  jump?: SshTarget;
  /** UserKnownHostsFile (default ~/.ssh/known_hosts and known_hosts2), and the name the host is listed under. */
  knownHostsFiles: string[];
  knownHostsName: string;
}

const DEFAULT_IDENTITY_FILES = ['~/.ssh/id_ed25519', '~/.ssh/id_ecdsa', '~/.ssh/id_rsa'];
const DEFAULT_KNOWN_HOSTS_FILES = ['~/.ssh/known_hosts', '~/.ssh/known_hosts2'];

export function expandHome(path: string): string {
  if (path === '~') return homedir();
  if (path.startsWith('~/')) return join(homedir(), path.slice(2));
  return path.replace(/%d/g, homedir());
}

/** A parsed ssh_config, as long as its file stays the same, and what it resolved for each host. */
interface ParsedConfig {
  /** Identity of the file's version: a rewrite (in place or by rename) changes it. */
  version: string;
  config: SSHConfig;
  computed: Map<string, ReturnType<SSHConfig['compute']>>;
}

const parsedConfigs = new Map<string, ParsedConfig>();
let parses = 0;

/** How many times an ssh_config file has been parsed in this process (tests: once per version of the file). */
export function sshConfigParses(): number {
  return parses;
}

/**
 * The ssh_config at `path`, parsed once per version of the file: every connection only stats it (a worker with a
 * thousand migrations in flight would otherwise re-read and re-parse a thousand-host file per connection). Tools (the
 * local cloud, users) may rewrite it while the worker runs: a new mtime, size or inode is a new version.
 */
function loadConfig(path: string | undefined): ParsedConfig | undefined {
  if (!path) return undefined;
  const file = expandHome(path);
  const st = statSync(file);
  const version = `${st.mtimeMs}:${st.size}:${st.ino}`;
  const cached = parsedConfigs.get(file);
  if (cached?.version === version) return cached;
  const config = SSHConfig.parse(readFileSync(file, 'utf8'));
  parses += 1;
  const parsed: ParsedConfig = { version, config, computed: new Map() };
  parsedConfigs.set(file, parsed);
  return parsed;
}

/** The options that apply to `host`, computed once per version of the file. */
function computeFor(parsed: ParsedConfig | undefined, host: string): ReturnType<SSHConfig['compute']> {
  if (!parsed) return {};
  let c = parsed.computed.get(host);
  if (!c) {
    c = parsed.config.compute(host);
    parsed.computed.set(host, c);
  }
  return c;
}

function asString(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function asList(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** Parses `[user@]host[:port]` (a ProxyJump hop) into its parts. */
function parseHop(hop: string): { user?: string; host: string; port?: number } {
  const at = hop.lastIndexOf('@');
  const user = at >= 0 ? hop.slice(0, at) : undefined;
  const rest = at >= 0 ? hop.slice(at + 1) : hop;
  const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(rest);
  return { user, host: m?.[1] ?? rest, port: m?.[2] ? Number(m[2]) : undefined };
}

/** Resolves an address through the ssh_config, as `ssh <address>` would. */
export function resolveTarget(address: string, opts: SshOptions): SshTarget {
  const config = loadConfig(opts.sshConfigPath);
  return resolveWith(config, address, opts, true);
}

function resolveWith(
  config: ParsedConfig | undefined,
  address: string,
  opts: SshOptions,
  allowJump: boolean,
  hop: { user?: string; port?: number } = {},
): SshTarget {
  const c = computeFor(config, address);
  const hostName = asString(c.HostName)?.replace(/%h/g, address) ?? address;
  // The config knows each host best (instances and bastions may differ): the option is the fallback, then root.
  const user = hop.user ?? asString(c.User) ?? opts.user ?? 'root';
  const configured = asList(c.IdentityFile).map(expandHome);
  const explicit = allowJump && opts.privateKeyPath ? [expandHome(opts.privateKeyPath)] : [];
  const fallbacks =
    configured.length === 0 && explicit.length === 0 ? DEFAULT_IDENTITY_FILES.map(expandHome) : [];
  const identityFiles = [...new Set([...explicit, ...configured, ...fallbacks])].filter((f) => existsSync(f));

  let jump: SshTarget | undefined;
  const proxyJump = asString(c.ProxyJump);
  if (proxyJump && proxyJump.toLowerCase() !== 'none') {
    if (!allowJump || proxyJump.includes(',')) {
      throw new SshError(
        'config',
        `ProxyJump for ${address}: only one bastion hop is supported (got "${proxyJump}")`,
      );
    }
    const h = parseHop(proxyJump);
    jump = resolveWith(config, h.host, opts, false, h);
  }
  const port = hop.port ?? Number(asString(c.Port) ?? 22);
  const listed = asList(c.UserKnownHostsFile).flatMap((f) => f.split(/\s+/).filter(Boolean));
  return {
    alias: address,
    host: hostName,
    port,
    user,
    identityFiles,
    jump,
    knownHostsFiles: (listed.length ? listed : DEFAULT_KNOWN_HOSTS_FILES).map(expandHome),
    knownHostsName: knownHostsName(hostName, port, asString(c.HostKeyAlias)),
  };
}

export type SshErrorKind = 'config' | 'unreachable' | 'auth' | 'host-key-mismatch' | 'timeout';

/** An SSH failure, classified so activities can tell "not reachable yet" from "wrong machine". */
export class SshError extends Error {
  constructor(
    readonly kind: SshErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'SshError';
  }
}
