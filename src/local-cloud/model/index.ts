import type { Timings } from '../contracts';
import { Cloud, DEFAULT_TIMINGS } from './cloud';
import type { Topology } from './topology';

export { Cloud, DEFAULT_TIMINGS } from './cloud';
export { defaultTopology, loadTopology, validateTopology, TopologyError, type Topology } from './topology';
export { BUILTIN_IMAGES, BUILTIN_INSTANCE_TYPES } from './catalog';

/** Builds a region from a topology. `clock` lets tests move time by hand; transitions are settled against it. */
export function createCloudModel(opts: {
  topology: Topology;
  timings?: Partial<Timings>;
  clock?: () => number;
}): Cloud {
  // Timings that set associateMs without a spread mean that duration exactly (tests, rehearsals with their own clock).
  const exact = opts.timings?.associateMs !== undefined ? { associateSpreadMs: 0 } : {};
  return new Cloud(opts.topology, { ...DEFAULT_TIMINGS, ...exact, ...opts.timings }, opts.clock ?? Date.now);
}
