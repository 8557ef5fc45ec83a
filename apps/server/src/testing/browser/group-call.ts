import type { ReceivedMedia, ReceiverDiagnostics, SfuClient } from './sfu-client';
import { SFU_CLIENTS } from './sfu-clients';

/**
 * The group-call page's client (the bundle's entry): the realtime protocol over a WebSocket (the
 * token as the `bearer.` subprotocol, as browsers send it), a group call started, accepted or
 * joined from this device, and the engine's client the reply's `sfu.engine` names. It exposes its
 * state on `window.ll` and its functions on `window` for the test to drive.
 */
interface Reply {
  ok: boolean;
  ref: string;
  error?: unknown;
  [field: string]: unknown;
}

interface CallView {
  callId: string;
  status: string;
  devices: { userId: string; deviceId: string }[];
}

interface PageState {
  ringing: string | null;
  call: CallView | null;
  engine: string | null;
  /** Remote participants shown (engine participant ids). */
  showing: string[];
  errors: string[];
}

const params = new URLSearchParams(location.search);
const deviceId = params.get('device') ?? 'browser';
const ll: PageState = { ringing: null, call: null, engine: null, showing: [], errors: [] };
const pending = new Map<string, { resolve(r: Reply): void; reject(e: Error): void }>();
let ws: WebSocket;
let refs = 0;
let callId: string | undefined;
let client: SfuClient | undefined;
/** Engine signals wait for the engine's client (a signal can overtake the join reply). */
let haveClient!: (c: SfuClient) => void;
const clientReady = new Promise<SfuClient>((resolve) => (haveClient = resolve));
let signalling: Promise<void> = Promise.resolve();

function fail(error: unknown): void {
  ll.errors.push(error instanceof Error ? error.message : String(error));
}

function request(op: string, fields: Record<string, unknown>): Promise<Reply> {
  const ref = `${op}-${++refs}`;
  ws.send(JSON.stringify({ v: 1, op, ref, ...fields }));
  return new Promise((resolve, reject) => pending.set(ref, { resolve, reject }));
}

/** A remote participant's tracks in a (muted, autoplaying) video element: played, so decoded. */
function show(participantId: string, tracks: MediaStreamTrack[]): void {
  const id = `p-${participantId.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  let element = document.getElementById(id) as HTMLVideoElement | null;
  if (tracks.length === 0) {
    element?.remove();
    ll.showing = ll.showing.filter((p) => p !== participantId);
    return;
  }
  if (!element) {
    element = document.createElement('video');
    element.id = id;
    element.autoplay = true;
    element.muted = true;
    element.playsInline = true;
    document.body.append(element);
    ll.showing.push(participantId);
  }
  element.srcObject = new MediaStream(tracks);
}

async function entered(reply: Reply): Promise<string> {
  const call = reply['call'] as CallView;
  const sfu = reply['sfu'] as { engine: string; payload: Record<string, unknown> } | undefined;
  callId = call.callId;
  ll.call = call;
  if (!sfu) throw new Error('a group call reply without sfu');
  const start = SFU_CLIENTS[sfu.engine];
  if (!start) throw new Error(`no client for the SFU engine "${sfu.engine}"`);
  ll.engine = sfu.engine;
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
  const id = call.callId;
  client = await start(sfu.payload, {
    request: async (method, data) =>
      (await request('callSfu', { callId: id, method, data }))['data'] as Record<string, unknown>,
    stream,
    iceServers: reply['iceServers'] as RTCIceServer[],
    show,
  });
  haveClient(client);
  return id;
}

function onFrame(frame: Record<string, unknown>): void {
  if (frame['type'] === 'reply') {
    const reply = frame as unknown as Reply;
    const waiting = pending.get(reply.ref);
    pending.delete(reply.ref);
    if (!waiting) return;
    if (reply.ok) waiting.resolve(reply);
    else waiting.reject(new Error(JSON.stringify(reply.error)));
  } else if (frame['type'] === 'call') {
    const call = frame['call'] as CallView & { ringing: string[] };
    const change = frame['change'] as { type: string };
    if (callId === undefined || call.callId === callId) ll.call = call;
    if (change.type === 'CallStarted' && callId === undefined) ll.ringing = call.callId;
  } else if (frame['type'] === 'callSignal' && frame['kind'] === 'sfu') {
    signalling = signalling.then(async () => (await clientReady).onSignal(frame)).catch(fail);
  }
}

const page = window as unknown as Record<string, unknown>;
page['ll'] = ll;

page['connect'] = async (url: string, token: string): Promise<void> => {
  ws = new WebSocket(url, ['ledgerline.v1', `bearer.${token}`]);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error('websocket failed'));
  });
  ws.onmessage = (message: MessageEvent<string>) =>
    onFrame(JSON.parse(message.data) as Record<string, unknown>);
  await request('hello', { deviceId });
};

page['startCall'] = async (conversationId: string): Promise<string> =>
  entered(await request('callStart', { conversationId, kind: 'group', media: 'video' }));

page['accept'] = async (): Promise<string> =>
  entered(await request('callAccept', { callId: ll.ringing }));

page['join'] = async (id: string): Promise<string> =>
  entered(await request('callJoin', { callId: id }));

page['mediaStats'] = async (): Promise<Record<string, ReceivedMedia>> =>
  client ? client.received() : {};

page['mediaDiagnostics'] = async (): Promise<{
  errors: string[];
  receivers: ReceiverDiagnostics[];
}> => ({ errors: ll.errors, receivers: client ? await client.diagnostics() : [] });
