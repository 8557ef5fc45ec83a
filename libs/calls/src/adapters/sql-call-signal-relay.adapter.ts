import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { DataKeys } from '@ledgerline/crypto';
import { ChannelListener, type SqlClient } from '@ledgerline/database';
import {
  describeError,
  GroupCommit,
  isUuid,
  type Clock,
  type IdGenerator,
  type PendingItem,
} from '@ledgerline/kernel';
import type { DeviceRef } from '../domain/call.events';
import { signalStreamId } from '../domain/call-stream';
import type { CallSignalRelay, RelayedSignal } from '../application/call-signal-relay.port';

/** The NOTIFY channel signal ids travel on between nodes. */
export const CALL_SIGNAL_CHANNEL = 'll_call_signal';

export interface SignalRelayLog {
  warn(fields: Record<string, unknown>): void;
}

interface Notification {
  readonly v: 1;
  readonly i: string;
  readonly t: string;
  readonly u: string;
  readonly d: string;
}

/** What one claim deletes: a signal by id (announced), or whatever waits for a device. */
type Claim =
  { readonly signalId: string } | { readonly tenantId: string; readonly device: DeviceRef };

const NONCE = 12;
const TAG = 16;
/** Claims sent in one statement at most. */
const CLAIMS_PER_STATEMENT = 500;

/**
 * CallSignalRelay over PostgreSQL/PGlite (`ll_call_signals` and NOTIFY). Relays WebRTC signalling to one device on whichever node it is connected to, storing nothing in
 * clear: a signal is sealed (AES-256-GCM, a data key of the call's signal stream, associated data
 * binding tenant, call, signal id and target) into a short-lived row, and its id (never its
 * content: SDP is often larger than PostgreSQL's 8,000-byte NOTIFY payload) is announced on
 * `ll_call_signal`. The node that holds the device claims the row by deleting it, opens it and
 * hands it to the device: delivered at most once. A row nobody claims expires and is removed by
 * `sweep`. A device that (re)attaches claims what waited for it.
 */
export class SqlCallSignalRelay implements CallSignalRelay {
  private readonly devices = new Map<string, Set<(signal: RelayedSignal) => void>>();
  private readonly listener: ChannelListener;
  /**
   * Claims, one at a time in arrival order (so a device is handed its signals in the order they
   * were claimed), those that arrived meanwhile together: a crowd of devices attaching at once
   * costs one statement per group, not one each.
   */
  private readonly claims: GroupCommit<Claim, void>;
  private delivering: Promise<void> = Promise.resolve();

  private constructor(
    private readonly client: SqlClient,
    private readonly keys: Pick<DataKeys, 'sealingKey' | 'openingKey'>,
    private readonly options: {
      readonly clock: Clock;
      readonly ids: IdGenerator;
      readonly ttlMs: number;
      readonly log: SignalRelayLog;
    },
  ) {
    this.listener = new ChannelListener(this.client, CALL_SIGNAL_CHANNEL, (payload) =>
      this.onNotify(payload),
    );
    this.claims = new GroupCommit((group) => this.claimGroup(group), {
      maxInFlight: 1,
      maxItems: CLAIMS_PER_STATEMENT,
    });
  }

  static create(
    client: SqlClient,
    keys: Pick<DataKeys, 'sealingKey' | 'openingKey'>,
    options: { clock: Clock; ids: IdGenerator; ttlMs: number; log: SignalRelayLog },
  ): SqlCallSignalRelay {
    return new SqlCallSignalRelay(client, keys, options);
  }

  start(): Promise<void> {
    return this.listener.start();
  }

  async stop(): Promise<void> {
    await this.listener.stop();
    await this.delivering;
  }

  /** Seals and stores the signal, then tells every node its id. Resolves once it is durable. */
  async send(signal: RelayedSignal): Promise<void> {
    const id = this.options.ids.next();
    const streamId = signalStreamId(signal.tenantId, signal.callId);
    const now = this.options.clock.now();
    const sealing = await this.keys.sealingKey({
      tenantId: signal.tenantId,
      streamId,
      epoch: now.toISOString().slice(0, 7),
    });
    let sealed: Buffer;
    try {
      const nonce = randomBytes(NONCE);
      const cipher = createCipheriv('aes-256-gcm', sealing.key, nonce, { authTagLength: TAG });
      cipher.setAAD(aadOf(id, signal));
      const body = Buffer.from(
        JSON.stringify({ from: signal.from ?? null, kind: signal.kind, payload: signal.payload }),
        'utf8',
      );
      sealed = Buffer.concat([nonce, cipher.update(body), cipher.final(), cipher.getAuthTag()]);
    } finally {
      sealing.key.fill(0);
    }
    await this.client.query(
      `insert into ll_call_signals (signal_id, tenant_id, call_id, to_user, to_device, key_id, sealed, expires_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        id,
        signal.tenantId,
        signal.callId,
        signal.to.userId,
        signal.to.deviceId,
        sealing.keyId,
        sealed,
        new Date(now.getTime() + this.options.ttlMs),
      ],
    );
    const note: Notification = {
      v: 1,
      i: id,
      t: signal.tenantId,
      u: signal.to.userId,
      d: signal.to.deviceId,
    };
    await this.client.query('select pg_notify($1, $2)', [
      CALL_SIGNAL_CHANNEL,
      JSON.stringify(note),
    ]);
  }

  /**
   * Hands this node's signals for the device to `deliver` until the returned function is called,
   * and claims at once those that waited for it.
   */
  attach(
    tenantId: string,
    device: DeviceRef,
    deliver: (signal: RelayedSignal) => void,
  ): () => void {
    const key = deviceKeyOf(tenantId, device.userId, device.deviceId);
    let set = this.devices.get(key);
    if (!set) {
      set = new Set();
      this.devices.set(key, set);
    }
    set.add(deliver);
    this.start().catch((error: unknown) =>
      this.options.log.warn({ msg: 'call signals not listened to', ...describeError(error) }),
    );
    this.queue({ tenantId, device });
    const listeners = set;
    return () => {
      listeners.delete(deliver);
      if (listeners.size === 0 && this.devices.get(key) === listeners) this.devices.delete(key);
    };
  }

  /** Removes signals nobody claimed in time. */
  async sweep(): Promise<number> {
    const rows = await this.client.query(
      `delete from ll_call_signals where expires_at < $1 returning signal_id`,
      [this.options.clock.now()],
    );
    return rows.length;
  }

  private onNotify(payload: string | undefined): void {
    if (payload === undefined) {
      // (Re)connected: notifications may have been missed; claim whatever waits for our devices.
      for (const key of this.devices.keys()) {
        const [tenantId, userId, deviceId] = JSON.parse(key) as [string, string, string];
        this.queue({ tenantId, device: { userId, deviceId } });
      }
      return;
    }
    const note = parseNotification(payload);
    if (!note || !isUuid(note.i)) return;
    if (!this.devices.has(deviceKeyOf(note.t, note.u, note.d))) return; // not on this node
    this.queue({ signalId: note.i });
  }

  private queue(claim: Claim): void {
    // Claims finish in the order they were queued (one group at a time): the last one queued
    // settles last, which is what `stop` waits for.
    this.delivering = this.claims
      .submit(claim)
      .catch((error: unknown) =>
        this.options.log.warn({ msg: 'call signal not delivered', ...describeError(error) }),
      );
  }

  /** Deleting is claiming: of two nodes (or two connections) only one gets a row. */
  private async claimGroup(group: readonly PendingItem<Claim, void>[]): Promise<void> {
    const ids: string[] = [];
    const devices: { tenantId: string; device: DeviceRef }[] = [];
    for (const { item } of group) {
      if ('signalId' in item) ids.push(item.signalId);
      else devices.push(item);
    }
    const rows = await this.client.query<{
      signal_id: string;
      tenant_id: string;
      call_id: string;
      to_user: string;
      to_device: string;
      key_id: string;
      sealed: Uint8Array;
      expires_at: Date | string;
    }>(
      `delete from ll_call_signals
       where signal_id = any($1::uuid[])
          or (tenant_id, to_user, to_device) in (
            select t, u, d from unnest($2::text[], $3::text[], $4::text[]) as v(t, u, d))
       returning *`,
      [
        ids,
        devices.map((d) => d.tenantId),
        devices.map((d) => d.device.userId),
        devices.map((d) => d.device.deviceId),
      ],
    );
    const now = this.options.clock.now().getTime();
    for (const row of rows.sort((a, b) => a.signal_id.localeCompare(b.signal_id))) {
      if (new Date(row.expires_at).getTime() < now) continue;
      const listeners = this.devices.get(deviceKeyOf(row.tenant_id, row.to_user, row.to_device));
      if (!listeners || listeners.size === 0) continue;
      // One signal that cannot be opened does not keep the others of the group from their devices.
      let signal: RelayedSignal;
      try {
        signal = await this.open(row);
      } catch (error) {
        this.options.log.warn({ msg: 'call signal not delivered', ...describeError(error) });
        continue;
      }
      for (const deliver of listeners) deliver(signal);
    }
    for (const pending of group) pending.resolve();
  }

  private async open(row: {
    signal_id: string;
    tenant_id: string;
    call_id: string;
    to_user: string;
    to_device: string;
    key_id: string;
    sealed: Uint8Array;
  }): Promise<RelayedSignal> {
    const key = await this.keys.openingKey(row.key_id, {
      tenantId: row.tenant_id,
      streamId: signalStreamId(row.tenant_id, row.call_id),
    });
    const to = { userId: row.to_user, deviceId: row.to_device };
    try {
      const sealed = Buffer.from(row.sealed);
      const nonce = sealed.subarray(0, NONCE);
      const tag = sealed.subarray(sealed.length - TAG);
      const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG });
      decipher.setAAD(aadOf(row.signal_id, { tenantId: row.tenant_id, callId: row.call_id, to }));
      decipher.setAuthTag(tag);
      const body = JSON.parse(
        Buffer.concat([
          decipher.update(sealed.subarray(NONCE, sealed.length - TAG)),
          decipher.final(),
        ]).toString('utf8'),
      ) as {
        from: DeviceRef | null;
        kind: RelayedSignal['kind'];
        payload: Record<string, unknown>;
      };
      return {
        tenantId: row.tenant_id,
        callId: row.call_id,
        to,
        ...(body.from ? { from: body.from } : {}),
        kind: body.kind,
        payload: body.payload,
      };
    } finally {
      key.fill(0);
    }
  }
}

function aadOf(
  id: string,
  s: { readonly tenantId: string; readonly callId: string; readonly to: DeviceRef },
): Buffer {
  return Buffer.from(
    JSON.stringify([
      'll-call-signal-v1',
      s.tenantId,
      s.callId,
      id.toLowerCase(),
      s.to.userId,
      s.to.deviceId,
    ]),
    'utf8',
  );
}

function deviceKeyOf(tenantId: string, userId: string, deviceId: string): string {
  return JSON.stringify([tenantId, userId, deviceId]);
}

function parseNotification(payload: string): Notification | undefined {
  try {
    const n = JSON.parse(payload) as Partial<Notification>;
    if (
      n.v === 1 &&
      typeof n.i === 'string' &&
      typeof n.t === 'string' &&
      typeof n.u === 'string' &&
      typeof n.d === 'string'
    ) {
      return n as Notification;
    }
  } catch {
    // not one of ours
  }
  return undefined;
}
