import {
  formatSfuSummary,
  formatTallies,
  sfuMostSubscribers,
  sfuWindowFigures,
  type SfuFanOutStep,
  type SfuWindow,
  formatRealtimeSteps,
  formatRealtimeSummary,
  realtimeJson,
  sustainedDelivery,
  type ConnectionMemory,
  type RealtimeStep,
  type RealtimeStepStats,
} from './report';

function stats(overrides: Partial<RealtimeStepStats>): RealtimeStepStats {
  return {
    label: 'side',
    sendsPerSecond: 100,
    sent: 300,
    acked: 300,
    failed: 0,
    expectedDeliveries: 2_700,
    delivered: 2_700,
    duplicates: 0,
    deliveredPerSecond: 900,
    ackP50Ms: 1,
    ackP99Ms: 2,
    deliverP50Ms: 3,
    deliverP99Ms: 4,
    ...overrides,
  };
}

function step(
  rate: number,
  subject?: RealtimeStepStats,
  reference?: RealtimeStepStats,
): RealtimeStep {
  return {
    scenario: 'realtime fan-out',
    clients: 1_000,
    groupSize: 10,
    offeredPerSecond: rate,
    ...(subject ? { subject } : {}),
    ...(reference ? { reference } : {}),
  };
}

describe('realtime report', () => {
  it('takes the highest step whose p99 send-to-deliver stays under 50 ms with nothing lost', () => {
    const steps = [
      step(50, stats({ deliveredPerSecond: 450, deliverP99Ms: 20 })),
      step(100, stats({ deliveredPerSecond: 900, deliverP99Ms: 49.9 })),
      // Fast enough, but a delivery never came: it does not count.
      step(200, stats({ deliveredPerSecond: 1_790, deliverP99Ms: 30, delivered: 2_699 })),
      step(400, stats({ deliveredPerSecond: 2_000, deliverP99Ms: 50 })),
      step(800),
    ];
    expect(sustainedDelivery(steps, 'subject')).toEqual({
      offeredPerSecond: 100,
      deliveredPerSecond: 900,
      atTopStep: false,
    });
    expect(sustainedDelivery(steps, 'reference')).toEqual({
      deliveredPerSecond: 0,
      atTopStep: false,
    });
  });

  it('says when the top step still met the latency: the figure is then a floor', () => {
    const steps = [
      step(100, undefined, stats({})),
      step(800, undefined, stats({ deliveredPerSecond: 7_200 })),
    ];
    expect(sustainedDelivery(steps, 'reference')).toEqual({
      offeredPerSecond: 800,
      deliveredPerSecond: 7_200,
      atTopStep: true,
    });
    const summary = formatRealtimeSummary(steps, []);
    expect(summary).toContain('≥ 7,200 (800, top step)');
    expect(summary).toContain('none');
  });

  it('shows lost latencies, steps not run and the ratios of the steps that were', () => {
    const table = formatRealtimeSteps([
      step(50, stats({ deliverP99Ms: 8 }), stats({ deliverP99Ms: 2 })),
      step(400, stats({ deliverP99Ms: Number.POSITIVE_INFINITY, delivered: 10 }), stats({})),
      step(800, undefined, stats({})),
    ]);
    const [, , fifty, fourHundred, eightHundred] = table.split('\n');
    expect(fifty).toContain('4.00x');
    expect(fourHundred).toContain('lost');
    expect(fourHundred).toContain('2,690');
    expect(eightHundred).toContain('not run');
  });

  it('writes per-connection memory and ratios to the JSON output', () => {
    const memory: ConnectionMemory = {
      scenario: 'realtime idle connections',
      variant: '1,000 idle clients',
      subject: {
        label: 'ledgerline',
        connections: 1_000,
        rssBeforeBytes: 100_000_000,
        rssAfterBytes: 120_000_000,
        heapBeforeBytes: 50_000_000,
        heapAfterBytes: 60_000_000,
      },
      reference: {
        label: 'bare ws broadcast',
        connections: 1_000,
        rssBeforeBytes: 50_000_000,
        rssAfterBytes: 60_000_000,
        heapBeforeBytes: 5_000_000,
        heapAfterBytes: 10_000_000,
      },
    };
    const json = realtimeJson([], [memory]);
    expect(json.memory[0]).toMatchObject({
      perConnection: {
        subject: { rssBytes: 20_000, heapBytes: 10_000 },
        reference: { rssBytes: 10_000, heapBytes: 5_000 },
      },
      ratios: { rss: 2, heap: 2 },
    });
    expect(formatRealtimeSummary([], [memory])).toContain('19.5 KiB');
  });

  it("divides a step's work by its deliveries, and reports it at the sustained step", () => {
    const work = (statements: number) => ({
      statements,
      commits: statements / 4,
      serverCpuMs: statements / 2,
      dbCpuMs: statements / 8,
    });
    const steps = [
      step(100, stats({ deliverP99Ms: 10, work: work(27_000) }), stats({})),
      step(200, stats({ deliverP99Ms: 40, work: work(10_800) }), stats({})),
      // Over the latency: its work is in the table, not in the summary.
      step(400, stats({ deliverP99Ms: 80, work: work(5_400) }), stats({})),
    ];
    const [, , hundred, twoHundred] = formatRealtimeSteps(steps).split('\n');
    expect(hundred).toContain('10.00');
    expect(twoHundred).toMatch(/\| +4\.00 \| +1\.00 \| +2\.00 \| +0\.50 \|/);

    const summary = formatRealtimeSummary(steps, []);
    expect(summary).toMatch(/SQL statements per delivered msg, at 200 sends\/s +\| +4\.00 \|/);
    expect(summary).toMatch(/commits per delivered msg, at 200 sends\/s +\| +1\.00 \|/);
    expect(summary).toMatch(/server CPU ms per delivered msg, at 200 sends\/s +\| +2\.00 \|/);
    expect(summary).toMatch(/DB CPU ms .*per delivered msg, at 200 sends\/s +\| +0\.50 \|/);

    const json = realtimeJson(steps, []);
    expect(json.sustained[0]).toMatchObject({
      subjectWorkPerMessage: { statements: 4, commits: 1, serverCpuMs: 2, dbCpuMs: 0.5 },
    });
    expect(json.steps[2]).toMatchObject({ subjectWorkPerMessage: { statements: 2 } });
  });

  it('has no work rows for a side that was not probed, and says so when no step met the latency', () => {
    expect(formatRealtimeSummary([step(100, stats({}))], [])).not.toContain('per delivered msg');
    const slow = [
      step(100, stats({ deliverP99Ms: 80, work: { statements: 1, commits: 1, serverCpuMs: 1 } })),
    ];
    const summary = formatRealtimeSummary(slow, []);
    expect(summary).toContain('no step met it');
    expect(formatRealtimeSteps(slow).split('\n')[2]).toContain('0.00');
  });
});

function sfuWindow(overrides: Partial<SfuWindow>): SfuWindow {
  return {
    label: 'side',
    seconds: 4,
    expectedPerSubscriber: 300,
    received: 300,
    engineCpuMs: 40,
    benchCpuMs: 100,
    ...overrides,
  };
}

describe('sfu fan-out report', () => {
  it('derives loss, CPU per subscriber-second and per packet from a window', () => {
    const f = sfuWindowFigures(sfuWindow({ received: 1_188, engineCpuMs: 80 }), 4);
    expect(f.lossPercent).toBeCloseTo(1, 5);
    expect(f.cpuMsPerSubscriberSecond).toBeCloseTo(5, 5);
    expect(f.cpuUsPerPacket).toBeCloseTo(80_000 / 1_188, 5);
    expect(f.benchCpuPercent).toBeCloseTo(2.5, 5);
  });

  it('takes the most subscribers under 1 % loss, not the last step run', () => {
    const steps: SfuFanOutStep[] = [1, 2, 4, 8].map((n) => ({
      scenario: 'sfu fan-out',
      engine: 'mediasoup',
      subscribers: n,
      subject: sfuWindow({ received: n === 8 ? 300 * 8 * 0.98 : 300 * n }),
      reference: sfuWindow({ received: 300 * n }),
    }));
    expect(sfuMostSubscribers(steps, 'subject')).toMatchObject({
      subscribers: 4,
      atTopStep: false,
    });
    expect(sfuMostSubscribers(steps, 'reference')).toMatchObject({
      subscribers: 8,
      atTopStep: true,
    });
    const summary = formatSfuSummary(steps);
    expect(summary).toContain('mediasoup: most subscribers at loss < 1 %');
    expect(summary).toContain('| 0.50x |');
  });

  it('shows a tally in its own unit, and none for one that counted nothing', () => {
    const table = formatTallies([
      {
        scenario: 'call setup',
        phase: '1:1',
        streams: 4,
        events: 4,
        unit: { per: 1, name: 'set-up' },
        calls: { 'SQL statements': 100 },
      },
      { scenario: 'sfu fan-out', phase: 'janus: not measured', streams: 0, events: 0, calls: {} },
      { scenario: 'kms calls', phase: 'seal', streams: 1, events: 20_000, calls: { generate: 2 } },
    ]);
    expect(table).toContain('SQL statements per set-up');
    expect(table).toContain('generate per 10,000 events');
    expect(table).toMatch(/\| 1:1 +\| +4 \| +4 \| +25 \| +\|/);
    expect(table).not.toContain('NaN');
  });
});
