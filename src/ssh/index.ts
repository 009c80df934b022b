export { resolveTarget, SshError, type SshErrorKind, type SshOptions, type SshTarget } from './config';
export {
  createSshRunner,
  fingerprintOf,
  type CommandResult,
  type RunOptions,
  type SshRunner,
} from './runner';
export { withSshSpans } from './traced-runner';
