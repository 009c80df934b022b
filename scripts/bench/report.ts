/**
 * The benchmark's outputs: the terminal table, and the chart of the single migration's timeline against the critical
 * path (an SVG drawn from the measured step times).
 */
import type { BatchResult } from './batch';
import type { InflightResult } from './inflight';
import type { SingleResult } from './single';

export interface BenchDocument {
  bench: 'eni-migration';
  mode: 'full' | 'quick';
  startedAt: string;
  durationSeconds: number;
  machine: { cpus: number; cpuModel: string; memoryGb: number; node: string; commit?: string };
  targets: Record<string, string>;
  single: Omit<SingleResult, 'economy'>;
  economy: SingleResult['economy'];
  /** Absent only when skipped (`--skip 3`, for work on the bench itself). */
  batch?: BatchResult;
  inflight: InflightResult;
}

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const x = (r: number) => `${r.toFixed(2)}×`;

/** Rows of [figure, value, target/note], grouped under section titles. */
export function renderTable(doc: BenchDocument): string {
  const { single, economy, batch, inflight } = doc;
  const t = single.timings;
  const sections: Array<{ title: string; rows: string[][] }> = [
    {
      title:
        `1. Single migration — transitions convert ${s(t.convertMs)}, attach ${s(t.attachMs)}, unassociate ` +
        `${s(t.unassociateMs)}, associate ${s(t.associateMs)} (create: synchronous); API round trip ` +
        `${single.rttMs} ms, SSH check ${single.sshMs} ms (measured)`,
      rows: [
        [
          'critical path',
          s(single.criticalPathMs),
          'Σ transitions + a round trip per necessary call + 2 SSH checks',
        ],
        [
          'eni-migrate wall time',
          `${s(single.product.wallMs)} = ${x(single.product.wallRatio)}`,
          `target ≤ 1.15× (median of ${single.product.runs.length})`,
        ],
        [
          'eni-migrate offline window',
          `${s(single.product.offlineMs)} = ${x(single.product.offlineRatio)}`,
          `of unassociate + associate ${s(single.offlineTransitionsMs)}; target ≤ 1.15×`,
        ],
        [
          `baseline wall time (${single.baseline.pollMs / 1000} s polls)`,
          `${s(single.baseline.wallMs)} = ${x(single.baseline.wallRatio)}`,
          'plain script on the SDK, polling as Terraform',
        ],
        [
          'baseline offline window',
          `${s(single.baseline.offlineMs)} = ${x(single.baseline.offlineRatio)}`,
          '',
        ],
      ],
    },
    {
      title: '2. API economy — calls per migration (local cloud call log) / minimum',
      rows: [
        [
          'calls per migration',
          `${economy.calls} / ${economy.minimum} = ${x(economy.ratio)}`,
          `target ≤ 1.15×; baseline ${economy.baselineCalls}`,
        ],
        ...economy.byAction.map((a) => [
          `  ${a.action}`,
          `${a.calls} / ${a.minimum}`,
          a.calls > a.minimum ? `+${a.calls - a.minimum}` : '',
        ]),
      ],
    },
    ...(batch ? [batchSection(batch)] : []),
    {
      title: [
        `4. One worker process, ${inflight.n} migrations in flight, started by one batch per VPC of up to 100 — transitions ${Object.entries(
          inflight.timings,
        )
          .map(([k, v]) => `${k.replace(/Ms$/, '')} ${s(v as number)}`)
          .join(', ')}, the worker told them (ENI_MIGRATE_TRANSITION_MS)`,
        inflight.rateLimit,
        "the worker's malloc and V8 heap as docs/configuration.md asks of a worker for many migrations",
        ...(inflight.note ? [inflight.note] : []),
      ].join('; '),
      rows: [
        [
          '',
          ...inflight.runs.map(
            (r) =>
              `db: ${r.db}, N = ${r.migrations}${r.metricsAndEncryption ? ', metrics + encryption' : ''}`,
          ),
        ],
        ['verified', ...inflight.runs.map((r) => `${r.verified} / ${r.migrations}`)],
        ['peak in flight', ...inflight.runs.map((r) => String(r.peakInFlight))],
        [
          "worker's memory environment",
          ...inflight.runs.map(
            (r) =>
              Object.entries(r.workerMemoryEnv ?? {})
                .map(([k, v]) => `${k}=${v}`)
                .join(' ') || 'none',
          ),
        ],
        ["worker's node flags", ...inflight.runs.map((r) => (r.workerNodeFlags ?? []).join(' ') || 'none')],
        ['worker peak RSS (target < 600 MB)', ...inflight.runs.map((r) => `${r.workerPeakRssMb} MB`)],
        ['worker RSS high-water mark (VmHWM)', ...inflight.runs.map((r) => `${r.workerRssHwmMb} MB`)],
        ['worker CPU per migration', ...inflight.runs.map((r) => `${r.workerCpuMsPerMigration} ms`)],
        ['server CPU per migration', ...inflight.runs.map((r) => `${r.serverCpuMsPerMigration} ms`)],
        ['cloud+client CPU per migration', ...inflight.runs.map((r) => `${r.benchCpuMsPerMigration} ms`)],
        [
          'WFT schedule-to-start p50 / p99',
          ...inflight.runs.map((r) => `${r.wftScheduleToStartP50Ms} / ${r.wftScheduleToStartP99Ms} ms`),
        ],
        [
          'workflow task timeouts (migrations / batches)',
          ...inflight.runs.map((r) => `${r.workflowTaskTimeouts} / ${r.batchWorkflowTaskTimeouts}`),
        ],
        ['start burst (to the last migration started)', ...inflight.runs.map((r) => s(r.startBurstMs))],
        ['throughput', ...inflight.runs.map((r) => `${r.throughput.toFixed(1)} /s (${s(r.makespanMs)})`)],
      ],
    },
  ];
  const out: string[] = [
    `eni-migration bench (${doc.mode}) — ${doc.startedAt}, ${doc.durationSeconds} s, ${doc.machine.cpus} × ${doc.machine.cpuModel}, node ${doc.machine.node}${doc.machine.commit ? `, ${doc.machine.commit}` : ''}`,
    ...(doc.mode === 'quick'
      ? [
          'quick: it shows that every section runs; its transitions are too short for a figure to be judged against the targets beside it (npm run bench for those)',
        ]
      : []),
  ];
  for (const section of sections) {
    out.push('', section.title);
    // A long cell (a sentence) does not widen its column: it runs on past the others.
    const widths = [0, 0, 0];
    for (const row of section.rows)
      row.forEach((c, i) => (widths[i] = c.length > 48 ? widths[i] : Math.max(widths[i] ?? 0, c.length)));
    for (const row of section.rows)
      out.push(
        '  ' +
          row
            .map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i])))
            .join('  ')
            .trimEnd(),
      );
  }
  return out.join('\n') + '\n';
}

function batchSection(b: BatchResult): { title: string; rows: string[][] } {
  return {
    title:
      `3. Batch — ${b.instances} instances, concurrency ${b.concurrency}, every change action limited to ` +
      `${b.rate}/s (product queues; cloud bucket burst ${b.cloudBurst}); ${b.readLimit}`,
    rows: [
      [
        'throughput / bound',
        `${b.throughput.toFixed(2)} / ${b.bound.toFixed(2)} per s = ${x(b.ratio)}`,
        'target ≥ 0.9×',
      ],
      [
        'makespan / bound',
        `${s(b.makespanMs)} / ${s(b.boundMakespanMs)}`,
        `L + (N·c − burst)/rate, binding ${b.bindingAction}`,
      ],
      ['outcomes', JSON.stringify(b.outcomes), `failed ${b.failed} (target 0)`],
      [
        'throttled calls / throttling failures',
        `${b.throttledCalls} / ${b.throttlingFailures}`,
        'target 0 failures',
      ],
      ['calls per migration (in a batch)', String(b.callsPerMigration), ''],
      ['what limits the ratio', b.limitedBy, ''],
    ],
  };
}

const STEP_COLORS: Record<string, string> = {
  preflight: '#9e9e9e',
  convertToEip: '#5c6bc0',
  createEni: '#26a69a',
  attachEni: '#66bb6a',
  prepareGuest: '#bdbdbd',
  unassociateEip: '#ef5350',
  associateEipToEni: '#ff7043',
  verify: '#ab47bc',
};

const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * The single migration's timeline: a row for the critical path (its segments end to end), one for eni-migrate's
 * median run (each step where it ran), one for the baseline script; the offline window (steps 4–5) outlined in red.
 */
export function renderTimelineSvg(doc: BenchDocument): string {
  const { single } = doc;
  const rows: Array<{
    label: string;
    bars: Array<{ name: string; start: number; ms: number }>;
    total: number;
  }> = [];
  let at = 0;
  rows.push({
    label: 'critical path',
    bars: single.criticalPath.map((p) => {
      const bar = { name: p.step, start: at, ms: p.ms };
      at += p.ms;
      return bar;
    }),
    total: single.criticalPathMs,
  });
  rows.push({
    label: 'eni-migrate',
    bars: single.product.steps.map((p) => ({ name: p.name, start: p.startMs, ms: p.durationMs })),
    total: single.product.wallMs,
  });
  rows.push({
    label: `baseline (${single.baseline.pollMs / 1000} s polls)`,
    bars: single.baseline.steps.map((p) => ({ name: p.name, start: p.startMs, ms: p.durationMs })),
    total: single.baseline.wallMs,
  });
  const maxMs = Math.max(...rows.map((r) => Math.max(r.total, ...r.bars.map((b) => b.start + b.ms))));
  const left = 170;
  const width = 960;
  const plot = width - left - 30;
  const rowH = 46;
  const top = 50;
  const px = (ms: number) => left + (ms / maxMs) * plot;
  const tickMs = maxMs > 40_000 ? 10_000 : maxMs > 8_000 ? 2_000 : 500;
  const height = top + rows.length * rowH + 90;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${left}" y="22" font-size="14" font-weight="bold">One migration: measured steps against the critical path (${esc(doc.mode)} run, ${esc(doc.startedAt.slice(0, 10))})</text>`,
  ];
  for (let tick = 0; tick <= maxMs; tick += tickMs) {
    const tx = px(tick).toFixed(1);
    parts.push(
      `<line x1="${tx}" y1="${top - 8}" x2="${tx}" y2="${top + rows.length * rowH}" stroke="#e0e0e0"/>`,
      `<text x="${tx}" y="${top - 12}" text-anchor="middle" fill="#616161">${tick / 1000} s</text>`,
    );
  }
  rows.forEach((row, i) => {
    const y = top + i * rowH + 8;
    parts.push(
      `<text x="${left - 10}" y="${y + 17}" text-anchor="end">${esc(row.label)}</text>`,
      `<text x="${left - 10}" y="${y + 31}" text-anchor="end" fill="#616161">${(row.total / 1000).toFixed(1)} s</text>`,
    );
    for (const b of row.bars) {
      const w = Math.max(1, px(b.start + b.ms) - px(b.start));
      parts.push(
        `<rect x="${px(b.start).toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="26" fill="${STEP_COLORS[b.name] ?? '#757575'}"><title>${esc(b.name)}: ${(b.ms / 1000).toFixed(2)} s from ${(b.start / 1000).toFixed(2)} s</title></rect>`,
      );
    }
    const offline = row.bars.filter((b) => b.name === 'unassociateEip' || b.name === 'associateEipToEni');
    if (offline.length > 0) {
      const from = Math.min(...offline.map((b) => b.start));
      const to = Math.max(...offline.map((b) => b.start + b.ms));
      parts.push(
        `<rect x="${px(from).toFixed(1)}" y="${y - 3}" width="${(px(to) - px(from)).toFixed(1)}" height="32" fill="none" stroke="#c62828" stroke-width="2" stroke-dasharray="4 2"/>`,
      );
    }
    parts.push(
      `<line x1="${px(row.total).toFixed(1)}" y1="${y - 4}" x2="${px(row.total).toFixed(1)}" y2="${y + 30}" stroke="#212121" stroke-width="2"/>`,
    );
  });
  const legendY = top + rows.length * rowH + 30;
  let lx = left;
  for (const [name, color] of Object.entries(STEP_COLORS)) {
    if (name === 'prepareGuest') continue;
    parts.push(
      `<rect x="${lx}" y="${legendY - 10}" width="12" height="12" fill="${color}"/>`,
      `<text x="${lx + 16}" y="${legendY}">${name}</text>`,
    );
    lx += 18 + name.length * 7 + 14;
  }
  parts.push(
    `<rect x="${left}" y="${legendY + 14}" width="24" height="12" fill="none" stroke="#c62828" stroke-width="2" stroke-dasharray="4 2"/>`,
    `<text x="${left + 30}" y="${legendY + 24}">offline window (steps 4–5: no public address); a black tick marks each row's end (wall time)</text>`,
    '</svg>',
  );
  return parts.join('\n') + '\n';
}
