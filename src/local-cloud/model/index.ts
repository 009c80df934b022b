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
  return new Cloud(opts.topology, { ...DEFAULT_TIMINGS, ...opts.timings }, opts.clock ?? Date.now);
}
