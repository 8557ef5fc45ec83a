import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { ClamdScanner, ScannerUnavailableError, parseReply } from './clamd-scanner.adapter';
import { ClamdProcess, EICAR, EICAR_SIGNATURE, clamdMissing } from '../testing/clamd-process';

const missing = clamdMissing();
const describeWithClamd = missing ? describe.skip : describe;

describe('clamd replies', () => {
  it('reads OK, FOUND and errors', () => {
    expect(parseReply('stream: OK')).toEqual({ clean: true });
    expect(parseReply('stream: Eicar-Signature FOUND')).toEqual({
      clean: false,
      signature: 'Eicar-Signature',
    });
    expect(() => parseReply('INSTREAM size limit exceeded. ERROR')).toThrow(
      ScannerUnavailableError,
    );
  });
});

describeWithClamd(
  `ClamdScanner against a real clamd${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    let clamd: ClamdProcess;
    let scanner: ClamdScanner;

    beforeAll(async () => {
      clamd = await ClamdProcess.start();
      scanner = new ClamdScanner(clamd.socket);
    }, 180_000);

    afterAll(async () => {
      await clamd?.stop();
    });

    it('finds EICAR, streamed in small pieces, wherever it starts', async () => {
      const pieces = [EICAR.subarray(0, 10), EICAR.subarray(10, 30), EICAR.subarray(30)];
      const verdict = await scanner.scan(Readable.from(pieces));
      expect(verdict).toEqual({ clean: false, signature: `${EICAR_SIGNATURE}.UNOFFICIAL` });
    });

    it('passes a clean body larger than one INSTREAM chunk', async () => {
      const verdict = await scanner.scan(
        Readable.from([randomBytes(300_000), randomBytes(70_000)]),
      );
      expect(verdict).toEqual({ clean: true });
    });

    it('is unavailable (retryable), never a pass, when clamd cannot be reached', async () => {
      const gone = new ClamdScanner('/nonexistent/clamd.sock', 1_000);
      await expect(gone.scan(Readable.from([Buffer.from('x')]))).rejects.toBeInstanceOf(
        ScannerUnavailableError,
      );
    });
  },
);
