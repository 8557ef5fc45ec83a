import { KmsLocalEndpoint } from './kms-local-endpoint';

// The fixture's own wire behaviour, checked without the SDK, so the SDK-level tests rest on a
// fixture that answers the way its doc comment says.
describe('KmsLocalEndpoint wire protocol', () => {
  let kms: KmsLocalEndpoint;
  beforeAll(async () => {
    kms = await KmsLocalEndpoint.start();
  });
  afterAll(async () => {
    await kms.stop();
  });

  const post = (target: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(kms.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': target,
        authorization: 'AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kms/aws4_request',
        ...headers,
      },
      body: JSON.stringify(body),
    });

  it('answers errors as HTTP 400 with {__type, message} in application/x-amz-json-1.1', async () => {
    const res = await post('TrentService.DescribeKey', { KeyId: 'alias/missing' });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(await res.json()).toEqual({
      __type: 'NotFoundException',
      message: `Alias arn:aws:kms:${kms.region}:${kms.accountId}:alias/missing is not found.`,
    });
  });

  it('requires a signed request and a known TrentService operation', async () => {
    const unsigned = await post('TrentService.DescribeKey', { KeyId: 'x' }, { authorization: '' });
    expect(await unsigned.json()).toMatchObject({ __type: 'MissingAuthenticationTokenException' });
    const unknown = await post('TrentService.Encrypt', { KeyId: 'x' });
    expect(await unknown.json()).toMatchObject({ __type: 'UnknownOperationException' });
  });

  it('round-trips a data key with base64 blobs and binds the encryption context', async () => {
    const { arn } = kms.createKey({ alias: 'alias/wire' });
    const generated = (await (
      await post('TrentService.GenerateDataKey', {
        KeyId: 'alias/wire',
        KeySpec: 'AES_256',
        EncryptionContext: { tenant: 't', stream: 's' },
      })
    ).json()) as { KeyId: string; Plaintext: string; CiphertextBlob: string };
    expect(generated.KeyId).toBe(arn);
    expect(Buffer.from(generated.Plaintext, 'base64')).toHaveLength(32);

    const decrypted = (await (
      await post('TrentService.Decrypt', {
        CiphertextBlob: generated.CiphertextBlob,
        EncryptionContext: { stream: 's', tenant: 't' },
      })
    ).json()) as { Plaintext: string };
    expect(decrypted.Plaintext).toBe(generated.Plaintext);

    const wrongContext = await post('TrentService.Decrypt', {
      CiphertextBlob: generated.CiphertextBlob,
      EncryptionContext: { tenant: 't', stream: 'other' },
    });
    expect(await wrongContext.json()).toMatchObject({ __type: 'InvalidCiphertextException' });
  });

  it('injects faults: throttling then normal service', async () => {
    kms.createKey({ alias: 'alias/faults' });
    kms.throttleNext(1);
    const throttled = await post('TrentService.DescribeKey', { KeyId: 'alias/faults' });
    expect(throttled.status).toBe(400);
    expect(await throttled.json()).toEqual({
      __type: 'ThrottlingException',
      message: 'Rate exceeded',
    });
    expect((await post('TrentService.DescribeKey', { KeyId: 'alias/faults' })).status).toBe(200);
  });
});
