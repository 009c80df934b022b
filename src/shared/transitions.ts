/**
 * The cloud's asynchronous transitions a migration waits for, and how long each typically takes: the first guess of a
 * worker's waits (configured by ENI_MIGRATE_TRANSITION_MS, then learned from what the worker observes).
 */

/** The transitions, by the local cloud's names for them (its `Timings` are `<name>Ms`). */
export const TRANSITION_ACTIONS = [
  'convert',
  'create',
  'attach',
  'detach',
  'delete',
  'associate',
  'unassociate',
  'command',
] as const;

export type TransitionAction = (typeof TRANSITION_ACTIONS)[number];

/** Typical durations in ms, by the local cloud's names for them (so its `Timings` can be passed as they are). */
export type TransitionTimes = Record<`${TransitionAction}Ms`, number>;

/**
 * Typical durations on Alibaba Cloud, the first guess of a worker that has observed none yet. A new ENI is Available
 * when its create returns; the rest take a few seconds each.
 */
export const TYPICAL_TRANSITION_MS: TransitionTimes = {
  convertMs: 1000,
  createMs: 0,
  attachMs: 3000,
  detachMs: 3000,
  deleteMs: 2000,
  associateMs: 2000,
  unassociateMs: 2000,
  // A Cloud Assistant command: delivered, run, reported (a short set-up script).
  commandMs: 2000,
};

/**
 * Durations as ENI_MIGRATE_TRANSITION_MS takes them (`attach=10000,convert=2000`), from `<transition>Ms` fields (a
 * local cloud's `Timings` among them); fields that name no transition are left out.
 */
export function formatTransitionMs(times: object): string {
  const fields = times as Partial<Record<string, unknown>>;
  return TRANSITION_ACTIONS.flatMap((a) => {
    const ms = fields[`${a}Ms`];
    if (typeof ms !== 'number') return [];
    return [`${a}=${ms}`];
  }).join(',');
}
