/**
 * The web page each browser of the calls e2e test opens: a minimal call client over the realtime
 * protocol (`/v1/realtime`, the token as the `bearer.` subprotocol as browsers send it). It places
 * or answers a 1:1 call, exchanges SDP and ICE candidates through `callSignal`, and exposes its
 * state and `getStats` figures on `window.ll` for the test to read. Plain browser JavaScript.
 */
export const CALL_PAGE = /* HTML */ `<!doctype html>
  <html>
    <head>
      <meta charset="utf-8" />
      <title>Ledgerline call</title>
    </head>
    <body>
      <video id="remote" autoplay playsinline muted></video>
      <script>
        const params = new URLSearchParams(location.search);
        const me = params.get('user');
        const deviceId = params.get('device');
        const ll = (window.ll = {
          ready: false,
          ringing: null,
          call: null,
          errors: [],
          signals: 0,
        });
        let ws;
        let refs = 0;
        const pending = new Map();
        let stream;
        let pc;
        let callId;
        let peer;
        const early = [];
        let havePc;
        const pcReady = new Promise((resolve) => (havePc = resolve));
        let signalling = Promise.resolve();

        function request(op, fields) {
          const ref = op + '-' + ++refs;
          ws.send(JSON.stringify({ v: 1, op, ref, ...fields }));
          return new Promise((resolve, reject) => pending.set(ref, { resolve, reject }));
        }

        function fail(error) {
          ll.errors.push(String(error && error.message ? error.message : error));
        }

        async function media() {
          stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
        }

        function connection(iceServers) {
          pc = new RTCPeerConnection({ iceServers });
          ll.pc = pc;
          havePc();
          for (const track of stream.getTracks()) pc.addTrack(track, stream);
          pc.ontrack = (e) => {
            document.getElementById('remote').srcObject = e.streams[0];
          };
          pc.onicecandidate = (e) => {
            if (e.candidate && peer) {
              request('callSignal', {
                callId,
                toUserId: peer.userId,
                toDeviceId: peer.deviceId,
                kind: 'candidate',
                candidate: e.candidate.toJSON(),
              }).catch(fail);
            }
          };
        }

        async function flush() {
          while (early.length > 0) await pc.addIceCandidate(early.shift());
        }

        async function onCall(frame) {
          ll.call = frame.call;
          const change = frame.change;
          if (change.type === 'CallStarted' && frame.call.ringing.includes(me)) {
            ll.ringing = frame.call.callId;
          }
          // The caller offers once the callee's device is in the call.
          if (
            change.type === 'ParticipantJoined' &&
            change.userId !== me &&
            pc &&
            !peer &&
            frame.call.startedBy === me
          ) {
            peer = { userId: change.userId, deviceId: change.deviceId };
            const offer = await pc.createOffer();
            await pc.setLocalDescription(offer);
            await request('callSignal', {
              callId,
              toUserId: peer.userId,
              toDeviceId: peer.deviceId,
              kind: 'offer',
              sdp: offer.sdp,
            });
          }
        }

        async function onSignal(frame) {
          // A signal can overtake the reply that creates the connection: wait for it, keep the order.
          await pcReady;
          ll.signals += 1;
          if (frame.kind === 'offer') {
            await pc.setRemoteDescription({ type: 'offer', sdp: frame.sdp });
            await flush();
            const answer = await pc.createAnswer();
            await pc.setLocalDescription(answer);
            await request('callSignal', {
              callId,
              toUserId: frame.from.userId,
              toDeviceId: frame.from.deviceId,
              kind: 'answer',
              sdp: answer.sdp,
            });
          } else if (frame.kind === 'answer') {
            await pc.setRemoteDescription({ type: 'answer', sdp: frame.sdp });
            await flush();
          } else if (frame.kind === 'candidate') {
            if (pc && pc.remoteDescription) await pc.addIceCandidate(frame.candidate);
            else early.push(frame.candidate);
          }
        }

        window.connect = async (url, token) => {
          ws = new WebSocket(url, ['ledgerline.v1', 'bearer.' + token]);
          await new Promise((resolve, reject) => {
            ws.onopen = resolve;
            ws.onerror = () => reject(new Error('websocket failed'));
          });
          ws.onmessage = (message) => {
            const frame = JSON.parse(message.data);
            if (frame.type === 'reply') {
              const waiting = pending.get(frame.ref);
              pending.delete(frame.ref);
              if (!waiting) return;
              if (frame.ok) waiting.resolve(frame);
              else waiting.reject(new Error(JSON.stringify(frame.error)));
            } else if (frame.type === 'call') {
              onCall(frame).catch(fail);
            } else if (frame.type === 'callSignal') {
              signalling = signalling.then(() => onSignal(frame)).catch(fail);
            }
          };
          await request('hello', { deviceId });
          ll.ready = true;
        };

        window.startCall = async (conversationId) => {
          await media();
          const reply = await request('callStart', {
            conversationId,
            kind: 'direct',
            media: 'video',
          });
          callId = reply.call.callId;
          ll.call = reply.call;
          connection(reply.iceServers);
          return callId;
        };

        window.accept = async () => {
          await media();
          callId = ll.ringing;
          const reply = await request('callAccept', { callId });
          ll.call = reply.call;
          const caller = reply.call.devices.find((d) => d.userId === reply.call.startedBy);
          peer = { userId: caller.userId, deviceId: caller.deviceId };
          connection(reply.iceServers);
          return callId;
        };

        window.mediaStats = async () => {
          const out = { videoFramesDecoded: 0, audioPacketsReceived: 0, audioSamplesReceived: 0 };
          if (!pc) return out;
          const report = await pc.getStats();
          report.forEach((s) => {
            if (s.type !== 'inbound-rtp') return;
            if (s.kind === 'video') out.videoFramesDecoded += s.framesDecoded || 0;
            if (s.kind === 'audio') {
              out.audioPacketsReceived += s.packetsReceived || 0;
              out.audioSamplesReceived += s.totalSamplesReceived || 0;
            }
          });
          return out;
        };
      </script>
    </body>
  </html>`;
