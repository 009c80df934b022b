/**
 * Heavy modules (the native Temporal core, the local cloud) load only for the commands that need them: `status`
 * stays fast. A plain require, not import(): bin/eni-migrate.js runs the sources through tsx's CommonJS hook, which
 * a dynamic import() would bypass.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
export const loadWorker = (): typeof import('../worker') => require('../worker');
export const loadDemo = (): typeof import('../demo') => require('../demo');
export const loadCloudCommand = (): typeof import('../local-cloud/cloud-command') =>
  require('../local-cloud/cloud-command');
