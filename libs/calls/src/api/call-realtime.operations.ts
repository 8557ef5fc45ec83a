import { Inject, Injectable } from '@nestjs/common';
import {
  RealtimeRequestError,
  realtimeOperation,
  type RealtimeChannel,
  type RealtimeContext,
  type RealtimeOperation,
  type ReplyFields,
} from '@ledgerline/realtime';
import { CallService } from '../application/call-service';
import { entryFields, signalFields, updateFields } from './call-api.views';
import {
  CallDeviceInput,
  CallHistoryArgs,
  CallInput,
  CallSfuInput,
  CallSignalInput,
  StartCallInput,
} from './call.dto';

/**
 * The calls operations of the realtime protocol, and its pushes (`call`, `callSignal`). A call is
 * made from a device: the one the connection's `hello` named, which is also where signals for it
 * arrive (a frame may name it again, but not another one). The same CallService as GraphQL.
 */
@Injectable()
export class CallRealtimeOperations implements RealtimeChannel {
  readonly operations: readonly RealtimeOperation[];

  constructor(@Inject(CallService) private readonly calls: CallService) {
    this.operations = [
      realtimeOperation('callStart', StartCallInput, async (context, input) =>
        entryFields(
          await this.calls.startCall(context.principal, {
            conversationId: input.conversationId,
            kind: input.kind,
            media: input.media,
            deviceId: deviceOf(context, input.deviceId),
            ...(input.role ? { role: input.role } : {}),
          }),
        ),
      ),
      realtimeOperation('callAccept', CallDeviceInput, async (context, input) =>
        entryFields(await this.calls.acceptCall(context.principal, this.device(context, input))),
      ),
      realtimeOperation('callJoin', CallDeviceInput, async (context, input) =>
        entryFields(await this.calls.joinCall(context.principal, this.device(context, input))),
      ),
      realtimeOperation('callDecline', CallDeviceInput, async (context, input) =>
        callFields(await this.calls.declineCall(context.principal, this.device(context, input))),
      ),
      realtimeOperation('callLeave', CallDeviceInput, async (context, input) =>
        callFields(await this.calls.leaveCall(context.principal, this.device(context, input))),
      ),
      realtimeOperation('callCancel', CallInput, async ({ principal }, input) =>
        callFields(await this.calls.cancelCall(principal, input)),
      ),
      realtimeOperation('callEnd', CallInput, async ({ principal }, input) =>
        callFields(await this.calls.endCall(principal, input)),
      ),
      realtimeOperation('callSignal', CallSignalInput, async (context, input) => {
        await this.calls.signal(context.principal, {
          callId: input.callId,
          deviceId: deviceOf(context, input.deviceId),
          toUserId: input.toUserId,
          toDeviceId: input.toDeviceId,
          kind: input.kind,
          ...(input.sdp === undefined ? {} : { sdp: input.sdp }),
          ...(input.candidate === undefined ? {} : { candidate: { ...input.candidate } }),
        });
        return { callId: input.callId, sent: true };
      }),
      realtimeOperation('callSfu', CallSfuInput, async (context, input) => ({
        callId: input.callId,
        data: (await this.calls.sfuRequest(context.principal, {
          callId: input.callId,
          deviceId: deviceOf(context, input.deviceId),
          method: input.method,
          data: input.data,
        })) as ReplyFields,
      })),
      realtimeOperation('call', CallInput, async ({ principal }, input) =>
        callFields(await this.calls.callOf(principal, input.callId)),
      ),
      realtimeOperation('callHistory', CallHistoryArgs, async ({ principal }, input) => ({
        conversationId: input.conversationId,
        calls: (await this.calls.history(principal, input.conversationId, input.limit)) as never,
      })),
    ];
  }

  /** Pushes `call` frames (calls concerning the user) and `callSignal` frames (to this device). */
  attach(context: RealtimeContext, push: (type: string, fields: ReplyFields) => void): () => void {
    return this.calls.watch(
      context.principal,
      context.deviceId,
      (update) => push('call', updateFields(update)),
      (signal) => push('callSignal', signalFields(signal)),
    );
  }

  private device(
    context: RealtimeContext,
    input: { callId: string; deviceId?: string; role?: 'speaker' | 'listener' },
  ) {
    return {
      callId: input.callId,
      deviceId: deviceOf(context, input.deviceId),
      ...(input.role ? { role: input.role } : {}),
    };
  }
}

function callFields(view: Awaited<ReturnType<CallService['callOf']>>): ReplyFields {
  return { call: view as never };
}

/** The connection's device: named by its hello; a frame may repeat it but not name another. */
function deviceOf(context: RealtimeContext, named: string | undefined): string {
  const device = context.deviceId;
  if (device === undefined) {
    throw new RealtimeRequestError(
      'invalid_state',
      'calls need a device: send hello with a deviceId',
      {
        reason: 'device_required',
      },
    );
  }
  if (named !== undefined && named !== device) {
    throw new RealtimeRequestError(
      'invalid_state',
      'a connection acts for the device its hello named',
      {
        reason: 'other_device',
      },
    );
  }
  return device;
}
