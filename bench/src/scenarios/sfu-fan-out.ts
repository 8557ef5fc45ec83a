import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  SFU_MAX_LOSS_PERCENT,
  sfuWindowFigures,
  type SfuFanOutStep,
  type SfuWindow,
} from '../report';
import { processRunMs } from './realtime/work-probe';
import type { Scenario, ScenarioContext, ScenarioResult } from './scenario';
import { FAN_OUT_ENGINES, openUdpReference, type FanOutRoom } from './sfu/fan-out-rooms';

const NAME = 'sfu fan-out';
/** Subscribers of the top step at BENCH_SCALE=1 (the ladder doubles from 1 up to it). */
const TOP_SUBSCRIBERS = 256;
/** Sending time per step at BENCH_SCALE=1 (scaled, at least 1 s). */
const STEP_SECONDS = 4;
/** A quiet point: no packet arrived for this long after the publisher paused. */
const QUIET_MS = 300;
const QUIET_MAX_MS = 5_000;
/**
 * Above this share of one core the bench process (the werift peers: ICE, DTLS and SRTP in JS) is
 * what limits the step, not the forwarder: the ladder ends there.
 */
const BENCH_SATURATED_PERCENT = 90;
/** The same for a forwarder: a mediasoup worker is one thread, the UDP forward one event loop. */
const FORWARDER_SATURATED_PERCENT = 90;

/**
 * SFU fan-out: per engine (mediasoup, then Janus, side by side in one run), one publisher (audio every 20 ms, three
 * VP8 simulcast layers every 40 ms, real ICE, DTLS, SRTP from a werift peer) and a doubling number
 * of listen-only subscribers, each consuming the audio and the lowest video layer; per step the
 * engine's CPU per subscriber and the loss, until the loss reaches 1 %, a process saturates, or
 * the top step. The reference: the same packets at the same rates, unencrypted, through a plain
 * UDP forward in Node (a process of its own) to plain UDP sockets, at the same subscriber counts.
 */
export const sfuFanOut: Scenario = {
  name: NAME,
  summary:
    'one publisher (werift: Opus every 20 ms, three-layer VP8 simulcast every 40 ms, ICE, DTLS, ' +
    `SRTP) and 1, 2, 4, … ${TOP_SUBSCRIBERS} (x BENCH_SCALE) listen-only subscribers (werift, ` +
    'audio + lowest video layer), on loopback; per step of ' +
    `${STEP_SECONDS} s (x BENCH_SCALE): loss and the engine process's CPU per subscriber ` +
    '(mediasoup: its one worker; Janus: its process), until loss ≥ 1 % or a process saturates; ' +
    'vs the same packets ' +
    'at the same rates, unencrypted, through a plain UDP forward in Node in its own process ' +
    '(audio + layer 0 forwarded, the other layers dropped) to plain UDP sockets',
  async run(context: ScenarioContext): Promise<ScenarioResult> {
    const ladder = subscriberLadder(context.scale);
    const seconds = Math.max(1, STEP_SECONDS * context.scale);
    const steps: SfuFanOutStep[] = [];
    const tallies = [];
    let reference: Map<number, SfuWindow> | undefined;
    for (const engine of FAN_OUT_ENGINES) {
      const why = engine.unavailable();
      if (why !== undefined) {
        context.progress(`${NAME}: ${engine.name}: not measured (${why})`);
        tallies.push({
          scenario: NAME,
          phase: `${engine.name}: not measured (${why})`,
          streams: 0,
          events: 0,
          calls: {},
        });
        continue;
      }
      if (reference === undefined) {
        context.progress(`${NAME}: reference, plain UDP forward`);
        reference = await measureLadder(context, ladder, seconds, () => openUdpReference());
      }
      context.progress(`${NAME}: ${engine.name}`);
      const roomId = `bench-fan-out-${process.pid}`;
      const subject = await measureLadder(context, ladder, seconds, () =>
        engine.open(roomId, ladder.at(-1)!),
      );
      for (const subscribers of ladder) {
        const s = subject.get(subscribers);
        const r = reference.get(subscribers);
        if (s === undefined && r === undefined) continue;
        steps.push({
          scenario: NAME,
          engine: engine.name,
          subscribers,
          ...(s ? { subject: s } : {}),
          ...(r ? { reference: r } : {}),
        });
      }
    }
    return { comparisons: [], tallies, sfuSteps: steps };
  },
};

/** 1, 2, 4, … up to TOP_SUBSCRIBERS x scale (at least 4). */
export function subscriberLadder(scale: number): number[] {
  const top = Math.max(4, Math.round(TOP_SUBSCRIBERS * scale));
  const ladder: number[] = [];
  for (let n = 1; n <= top; n *= 2) ladder.push(n);
  return ladder;
}

/** Runs one forwarder's ladder: grow, measure a window, stop at loss or saturation. */
async function measureLadder(
  context: ScenarioContext,
  ladder: readonly number[],
  seconds: number,
  open: () => Promise<FanOutRoom>,
): Promise<Map<number, SfuWindow>> {
  const windows = new Map<number, SfuWindow>();
  const room = await open();
  try {
    for (const [i, subscribers] of ladder.entries()) {
      context.signal.throwIfAborted();
      // New subscribers wait for media to arrive: the publisher sends while they join.
      room.resume();
      try {
        await room.growTo(subscribers);
      } catch (error) {
        // A subscriber that cannot join (time-out, no port) ends the ladder, saying so.
        const why = `subscriber ${room.subscribers + 1} did not join: ${(error as Error).message}`;
        context.progress(`${NAME}: ${room.label}: ${why}`);
        const last = ladder[i - 1];
        const previous = last === undefined ? undefined : windows.get(last);
        if (last !== undefined && previous) windows.set(last, { ...previous, endedBy: why });
        break;
      }
      const measured = await measureWindow(room, seconds);
      const f = sfuWindowFigures(measured, subscribers);
      const forwarderPercent = (100 * measured.engineCpuMs) / (1000 * seconds);
      const endedBy =
        f.lossPercent >= SFU_MAX_LOSS_PERCENT
          ? `loss ≥ ${SFU_MAX_LOSS_PERCENT} %`
          : f.benchCpuPercent >= BENCH_SATURATED_PERCENT
            ? `bench process at ${Math.round(f.benchCpuPercent)} % of a core`
            : forwarderPercent >= FORWARDER_SATURATED_PERCENT
              ? `forwarder at ${Math.round(forwarderPercent)} % of a core`
              : i === ladder.length - 1
                ? 'top step'
                : undefined;
      windows.set(subscribers, { ...measured, ...(endedBy ? { endedBy } : {}) });
      context.progress(
        `${NAME}: ${room.label}, ${subscribers} subscribers: loss ${f.lossPercent.toFixed(2)} %, ` +
          `${f.cpuMsPerSubscriberSecond.toFixed(2)} CPU ms/s per subscriber, ` +
          `bench ${Math.round(f.benchCpuPercent)} % of a core` +
          (room.retried > 0 ? `; ${room.retried} joins so far needed a second try` : ''),
      );
      if (endedBy !== undefined) break;
    }
  } finally {
    await room.close();
  }
  return windows;
}

/**
 * One window between two quiet points: the publisher paused and nothing arriving any more, then
 * `seconds` of sending, then paused again until nothing arrives. CPU is read at both quiet points.
 */
async function measureWindow(
  room: FanOutRoom,
  seconds: number,
): Promise<Omit<SfuWindow, 'endedBy'>> {
  room.pause();
  await quiet(room);
  const pids = room.forwarderPids();
  const cpuBefore = await forwarderCpuMs(pids);
  const benchBefore = process.cpuUsage();
  const expectedBefore = room.expectedPerSubscriber();
  const receivedBefore = room.received();
  const started = performance.now();
  room.resume();
  await sleep(seconds * 1000);
  room.pause();
  const sending = (performance.now() - started) / 1000;
  await quiet(room);
  const bench = process.cpuUsage(benchBefore);
  const cpuAfter = await forwarderCpuMs(pids);
  return {
    label: room.label,
    seconds: sending,
    expectedPerSubscriber: room.expectedPerSubscriber() - expectedBefore,
    received: room.received() - receivedBefore,
    engineCpuMs: cpuAfter - cpuBefore,
    benchCpuMs: (bench.user + bench.system) / 1000,
  };
}

/** Waits until no packet has arrived for QUIET_MS (at most QUIET_MAX_MS). */
async function quiet(room: FanOutRoom): Promise<void> {
  const until = performance.now() + QUIET_MAX_MS;
  let last = room.received();
  let lastChange = performance.now();
  while (performance.now() < until) {
    await sleep(50);
    const now = room.received();
    if (now !== last) {
      last = now;
      lastChange = performance.now();
    } else if (performance.now() - lastChange >= QUIET_MS) {
      return;
    }
  }
}

async function forwarderCpuMs(pids: readonly number[]): Promise<number> {
  let total = 0;
  for (const pid of pids) {
    const ms = await processRunMs(pid);
    if (ms === undefined) throw new Error(`forwarder process ${pid} is gone`);
    total += ms;
  }
  return total;
}
