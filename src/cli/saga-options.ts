/** Flags of the saga's safety limits, shared by `migrate` and `revert`. */
import { Option } from 'commander';
import { positiveInt } from './validate';

/** --offline-budget: input `offlineBudgetSeconds`. */
export const offlineBudgetOption = () =>
  new Option(
    '--offline-budget <seconds>',
    'how long the instance may be without its public address before the bind that ends it is given up and the EIP goes back to where it was (default 300)',
  ).argParser(positiveInt('seconds', 86_400));

/** --rollback-retry-max: input `rollbackRetryMaxIntervalSeconds`. */
export const rollbackRetryMaxOption = () =>
  new Option(
    '--rollback-retry-max <seconds>',
    'a rollback step that keeps failing is retried forever, waiting at most this long between rounds (default 300)',
  ).argParser(positiveInt('seconds', 86_400));
