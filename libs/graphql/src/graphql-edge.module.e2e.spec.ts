import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Global, Module, type DynamicModule, type INestApplication } from '@nestjs/common';
import {
  Args,
  Field,
  ID,
  InputType,
  Int,
  Mutation,
  ObjectType,
  Query,
  ResolveField,
  Resolver,
  Subscription,
} from '@nestjs/graphql';
import { Test } from '@nestjs/testing';
import { IsEmail, IsOptional, IsString, MaxLength } from 'class-validator';
import { GraphQLClient, ClientError } from 'graphql-request';
import type { FormattedExecutionResult } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import {
  AUTHENTICATOR,
  DEFAULT_JWT_SETTINGS,
  DevTokenIssuer,
  JwtAuthenticator,
  type Principal,
} from '@ledgerline/identity';
import {
  CLOCK,
  CONFIG,
  ConflictError,
  ManualClock,
  UnavailableError,
  loadConfig,
  systemClock,
} from '@ledgerline/kernel';
import {
  CurrentPrincipal,
  EDGE_ERROR_REPORTER,
  GraphqlEdgeModule,
  GraphqlWsGateway,
  createSubscriptionIterator,
  exportSchema,
  renderSchema,
  servedSchema,
  type GraphqlEdgeModuleOptions,
  type InternalErrorReport,
} from './index';
import { E2E_TEST_TIMEOUT_MS, STARTUP_TIMEOUT_MS } from '@ledgerline/testing';

// Drives a booted server or the CLI: see E2E_TEST_TIMEOUT_MS.
jest.setTimeout(E2E_TEST_TIMEOUT_MS);

/** A result as graphql-ws's client hands it over. */
type ExecutionResult = FormattedExecutionResult<Record<string, unknown>, unknown>;

// What a patient's details look like when they end up somewhere they must not.
const PHI = 'Jane Roe, MRN 00451234, SSN 123-45-6789';
/** The suite's JWT clock tolerance: short, so a test can wait for it to run out. */
const TOLERANCE_SEC = 3;
const PHI_PATTERN = /Jane|Roe|00451234|123-45-6789/;

// ----- a tiny schema served through the edge, as a domain lib's api/ would -----

@ObjectType()
class TreeNode {
  @Field(() => ID)
  id!: string;
}

@InputType()
class EchoInput {
  @Field(() => String)
  @IsString()
  @MaxLength(20)
  text!: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsEmail()
  email?: string;
}

@ObjectType()
class Echo {
  @Field(() => String)
  text!: string;

  @Field(() => Boolean)
  validatedInstance!: boolean;
}

@ObjectType()
class Tick {
  @Field(() => Int)
  n!: number;

  @Field(() => ID)
  userId!: string;
}

class Recorder {
  resolved = 0;
  pushTick?: (n: number) => void;
  sources = 0;
  stopped = 0;
}
const recorder = new Recorder();

@Resolver(() => TreeNode)
class TreeResolver {
  @Query(() => TreeNode)
  tree(): TreeNode {
    recorder.resolved += 1;
    return { id: 'root' };
  }

  @Query(() => [TreeNode], {
    complexity: (options: { args: Record<string, unknown>; childComplexity: number }) =>
      Number(options.args['first']) * options.childComplexity,
  })
  trees(@Args('first', { type: () => Int }) first: number): TreeNode[] {
    recorder.resolved += 1;
    return Array.from({ length: first }, (_, i) => ({ id: `t${i}` }));
  }

  @ResolveField(() => TreeNode)
  child(): TreeNode {
    return { id: 'child' };
  }
}

@Resolver()
class TestResolver {
  @Mutation(() => Echo)
  echo(@Args('input') input: EchoInput): Echo {
    return { text: input.text, validatedInstance: input instanceof EchoInput };
  }

  @Query(() => Int)
  square(@Args('n', { type: () => Int }) n: number): number {
    return n * n;
  }

  @Query(() => String)
  fail(@Args('kind') kind: string): string {
    if (kind === 'conflict') {
      throw Object.assign(new ConflictError('conversation c-1: refused (archived)'), {
        reason: 'archived',
      });
    }
    if (kind === 'unavailable') throw new UnavailableError('database unavailable');
    throw new Error(`could not load the chart of ${PHI}`);
  }

  @Subscription(() => Tick, { resolve: (tick: Tick) => tick })
  ticks(
    @CurrentPrincipal() principal: Principal,
    @Args('bufferSize', { type: () => Int, nullable: true }) bufferSize?: number,
  ) {
    recorder.sources += 1;
    return createSubscriptionIterator<Tick>(
      (push) => {
        recorder.pushTick = (n) => push({ n, userId: principal.id });
        return () => {
          recorder.stopped += 1;
        };
      },
      bufferSize === undefined ? {} : { bufferSize },
    );
  }
}

@Module({ providers: [TreeResolver, TestResolver] })
class TestApiModule {}

// ----- the host: what the app (CONFIG, CLOCK) and IdentityModule (AUTHENTICATOR) provide -----

function host(issuer: DevTokenIssuer, environment: 'test' | 'production'): DynamicModule {
  @Global()
  @Module({})
  class HostModule {}
  const providers = [
    // Production's other requirements (a master key, …) are not this module's concern.
    { provide: CONFIG, useValue: { ...loadConfig({ NODE_ENV: 'test' }), env: environment } },
    { provide: CLOCK, useValue: systemClock },
    { provide: AUTHENTICATOR, useValue: new JwtAuthenticator(issuer.jwtSettings()) },
  ];
  return { module: HostModule, providers, exports: providers.map((p) => p.provide) };
}

interface Served {
  readonly app: INestApplication;
  readonly http: string;
  readonly ws: string;
  readonly reports: InternalErrorReport[];
}

async function serve(
  issuer: DevTokenIssuer,
  environment: 'test' | 'production',
  options: GraphqlEdgeModuleOptions,
  bodyParser = true,
): Promise<Served> {
  const reports: InternalErrorReport[] = [];
  const moduleRef = await Test.createTestingModule({
    imports: [host(issuer, environment), GraphqlEdgeModule.forRoot(options), TestApiModule],
  })
    .overrideProvider(EDGE_ERROR_REPORTER)
    .useValue((report: InternalErrorReport) => reports.push(report))
    .compile();
  const app = moduleRef.createNestApplication({ logger: false, bodyParser });
  await app.listen(0, '127.0.0.1');
  const url = await app.getUrl();
  return {
    app,
    http: `${url.replace('[::1]', '127.0.0.1')}/graphql`,
    ws: `${url.replace(/^http/, 'ws').replace('[::1]', '127.0.0.1')}/graphql`,
    reports,
  };
}

// ----- clients -----

interface GraphqlBody {
  data?: unknown;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

async function post(
  url: string,
  body: unknown,
  token?: string,
): Promise<{ status: number; body: GraphqlBody; text: string; headers: Headers }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as GraphqlBody, text, headers: res.headers };
}

/** graphql-request's client: the error it throws carries the response's errors and status. */
async function requestError(
  client: GraphQLClient,
  document: string,
  variables?: Record<string, unknown>,
): Promise<ClientError> {
  const error: unknown = await client.request(document, variables).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ClientError)) throw new Error('expected the request to fail');
  return error;
}

interface Closed {
  code: number;
  reason: string;
  at: number;
}

function wsClient(url: string, token: string | undefined, closed: Closed[] = []): Client {
  return createClient({
    url,
    webSocketImpl: WebSocket,
    lazy: true,
    retryAttempts: 0,
    connectionParams: token === undefined ? {} : { authorization: `Bearer ${token}` },
    on: {
      closed: (event) => {
        const e = event as { code: number; reason: string };
        closed.push({ code: e.code, reason: e.reason, at: Date.now() });
      },
    },
  });
}

/** Runs one operation over graphql-ws; resolves with its results and how it ended. */
function operate(
  client: Client,
  query: string,
  variables?: Record<string, unknown>,
  onResult?: (result: ExecutionResult) => void,
): Promise<{ results: ExecutionResult[]; error?: unknown }> {
  return new Promise((resolve) => {
    const results: ExecutionResult[] = [];
    client.subscribe(
      { query, ...(variables ? { variables } : {}) },
      {
        next: (result) => {
          results.push(result);
          onResult?.(result);
        },
        error: (error) => resolve({ results, error }),
        complete: () => resolve({ results }),
      },
    );
  });
}

/** Polls what the server recorded until `check` holds; the timeout is a backstop, not a budget. */
async function eventually(check: () => boolean, timeoutMs = 120_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** An operation `depth` fields deep, counting the root field and the leaf: `{ tree { id } }` is 2. */
function nested(depth: number): string {
  let selection = 'id';
  for (let level = 2; level < depth; level += 1) selection = `id child { ${selection} }`;
  return `{ tree { ${selection} } }`;
}

// ----- the suite -----

describe('GraphqlEdgeModule (booted, real HTTP and graphql-ws clients)', () => {
  const issuerClock = new ManualClock(new Date());
  let issuer: DevTokenIssuer;
  let dir: string;
  let dev: Served;
  let token: string;

  /** A token signed as of `at` (issuer's clock), valid for `ttlSec`. */
  async function tokenFor(userId: string, ttlSec = 3600, at = new Date()): Promise<string> {
    issuerClock.set(at);
    return (await issuer.issue({ tenantId: 't-1', userId, roles: ['user'], ttlSec })).token;
  }

  beforeAll(async () => {
    issuer = await DevTokenIssuer.start({
      environment: 'test',
      jwt: { ...DEFAULT_JWT_SETTINGS, clockToleranceSec: TOLERANCE_SEC },
      clock: issuerClock,
    });
    dir = await mkdtemp(join(tmpdir(), 'graphql-edge-'));
    dev = await serve(issuer, 'test', {
      autoSchemaFile: join(dir, 'runtime.graphql'),
      maxBodyBytes: 64 * 1024,
      maxWsPayloadBytes: 16 * 1024,
    });
    token = await tokenFor('alice');
  }, STARTUP_TIMEOUT_MS);

  afterAll(async () => {
    await dev?.app.close();
    await issuer?.close();
    await rm(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    recorder.resolved = 0;
    dev.reports.length = 0;
  });

  describe('over HTTP', () => {
    it('serves an authenticated query with the caller as principal', async () => {
      const client = new GraphQLClient(dev.http, { headers: { authorization: `Bearer ${token}` } });
      const data = await client.request<{ me: Record<string, unknown> }>(
        '{ me { kind id tenantId roles tokenExpiresAt } }',
      );
      expect(data.me).toMatchObject({
        kind: 'user',
        id: 'alice',
        tenantId: 't-1',
        roles: ['user'],
      });
      expect(Date.parse(data.me['tokenExpiresAt'] as string)).toBeGreaterThan(Date.now());
    });

    it('refuses a request without, with a malformed, or with an expired token', async () => {
      const expired = await tokenFor('alice', 60, new Date(Date.now() - 3_600_000));
      const cases: [string | undefined, string][] = [
        [undefined, 'missing'],
        ['not-a-jwt', 'malformed'],
        [expired, 'expired'],
      ];
      for (const [credential, reason] of cases) {
        const res = await post(dev.http, { query: '{ me { id } }' }, credential);
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="ledgerline"/);
        expect(res.body.data).toBeUndefined();
        expect(res.body.errors).toEqual([
          {
            message: expect.stringMatching(/^authentication failed: /) as unknown,
            extensions: { code: 'UNAUTHENTICATED', reason },
          },
        ]);
      }
      const client = new GraphQLClient(dev.http, { headers: { authorization: 'Basic abc' } });
      const error = await requestError(client, '{ me { id } }');
      expect(error.response.status).toBe(401);
      expect(error.response.errors?.[0]?.extensions).toEqual({
        code: 'UNAUTHENTICATED',
        reason: 'malformed',
      });
    });

    it('refuses operations over the depth limit before resolving anything', async () => {
      const client = new GraphQLClient(dev.http, { headers: { authorization: `Bearer ${token}` } });
      await expect(client.request(nested(8))).resolves.toBeDefined();
      expect(recorder.resolved).toBe(1);
      recorder.resolved = 0;
      const error = await requestError(client, nested(9));
      expect(error.response.status).toBe(400);
      expect(error.response.errors).toEqual([
        {
          message: 'The operation nests fields deeper than the limit of 8 levels.',
          extensions: { code: 'QUERY_TOO_DEEP', limit: 8 },
        },
      ]);
      // Fragments do not count as a level; what they select does.
      const viaFragment = await requestError(
        client,
        `{ tree { ...F } } fragment F on TreeNode { child { child { child { child { child { child { child { child { id } } } } } } } } }`,
      );
      expect(viaFragment.response.errors?.[0]?.extensions?.['code']).toBe('QUERY_TOO_DEEP');
      expect(recorder.resolved).toBe(0);
    });

    it('refuses operations over the cost limit before resolving anything', async () => {
      const client = new GraphQLClient(dev.http, { headers: { authorization: `Bearer ${token}` } });
      await expect(client.request('{ trees(first: 10) { id } }')).resolves.toBeDefined();
      recorder.resolved = 0;
      const error = await requestError(client, 'query Q($n: Int!) { trees(first: $n) { id } }', {
        n: 5000,
      });
      expect(error.response.status).toBe(400);
      expect(error.response.errors).toEqual([
        {
          message: 'The operation costs 5000, over the limit of 1000.',
          extensions: { code: 'QUERY_TOO_COMPLEX', limit: 1000, cost: 5000 },
        },
      ]);
      const aliased = Array.from({ length: 1100 }, (_, i) => `a${i}: tree { id }`).join(' ');
      const wide = await requestError(client, `{ ${aliased} }`);
      expect(wide.response.errors?.[0]?.extensions?.['code']).toBe('QUERY_TOO_COMPLEX');
      expect(recorder.resolved).toBe(0);
    });

    // Issue 10, item 13: the cost check threw a TypeError (500 INTERNAL).
    it('answers 400 BAD_REQUEST when operationName names no operation of the document', async () => {
      const res = await post(
        dev.http,
        { query: 'query A { tree { id } } query B { tree { id } }', operationName: 'Nope' },
        token,
      );
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([
        {
          message: 'The document has no operation of the given operationName.',
          extensions: { code: 'BAD_REQUEST' },
        },
      ]);
      const unnamed = await post(
        dev.http,
        { query: 'query A { tree { id } } query B { tree { id } }' },
        token,
      );
      expect(unnamed.status).toBe(400);
      expect(unnamed.body.errors?.[0]?.extensions).toEqual({ code: 'BAD_REQUEST' });
      expect(recorder.resolved).toBe(0);
      expect(dev.reports).toEqual([]);
    });

    // Issue 10, item 12: variables nested 3,000 deep.
    it('refuses variables nested deeper than the cap with BAD_USER_INPUT, before coercion', async () => {
      let deep: unknown = 'x';
      for (let i = 0; i < 3_000; i += 1) deep = { text: deep };
      const res = await post(
        dev.http,
        {
          query: 'mutation E($input: EchoInput!) { echo(input: $input) { text } }',
          variables: { input: deep },
        },
        token,
      );
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([
        {
          message: 'The variables nest deeper than 32 levels.',
          extensions: { code: 'BAD_USER_INPUT' },
        },
      ]);
      expect(dev.reports).toEqual([]);
    });

    // Issue 10, item 19: 50 aliased mutations all ran.
    it('caps the mutations one request may run, aliases and fragments counted', async () => {
      const echo = (i: number) => `m${i}: echo(input: { text: "hi" }) { text }`;
      const ten = Array.from({ length: 10 }, (_, i) => echo(i)).join(' ');
      const allowed = await post(dev.http, { query: `mutation { ${ten} }` }, token);
      expect(allowed.status).toBe(200);
      const fifty = Array.from({ length: 50 }, (_, i) => echo(i)).join(' ');
      const refused = await post(dev.http, { query: `mutation { ${fifty} }` }, token);
      expect(refused.status).toBe(400);
      expect(refused.body.data).toBeUndefined();
      expect(refused.body.errors).toEqual([
        {
          message: 'The operation runs 50 mutations, over the limit of 10 per request.',
          extensions: { code: 'TOO_MANY_MUTATIONS', limit: 10, mutations: 50 },
        },
      ]);
      const viaFragment = await post(
        dev.http,
        {
          query: `mutation { ...M ... on Mutation { ${echo(99)} } } fragment M on Mutation { ${ten} }`,
        },
        token,
      );
      expect(viaFragment.body.errors?.[0]?.extensions).toMatchObject({
        code: 'TOO_MANY_MUTATIONS',
        mutations: 11,
      });
      const client = wsClient(dev.ws, token);
      const overWs = await operate(client, `mutation { ${fifty} }`);
      expect(overWs.error).toEqual([
        expect.objectContaining({
          extensions: expect.objectContaining({ code: 'TOO_MANY_MUTATIONS' }) as unknown,
        }),
      ]);
      await client.dispose();
    });

    // Issue 10, item 19: GraphQL had no per-user rate limit.
    it('limits each user to the per-user request rate over HTTP and graphql-ws together', async () => {
      const limited = await serve(issuer, 'test', { ratePerUser: 2 });
      try {
        const burst = await Promise.all(
          Array.from({ length: 12 }, () => post(limited.http, { query: '{ tree { id } }' }, token)),
        );
        const refused = burst.filter((r) => r.status === 429);
        expect(refused.length).toBeGreaterThan(0);
        expect(refused[0]!.headers.get('retry-after')).toMatch(/^\d+$/);
        expect(refused[0]!.body.errors?.[0]?.extensions).toMatchObject({
          code: 'RATE_LIMITED',
          retryable: true,
        });
        const client = wsClient(limited.ws, token);
        const outcomes = await Promise.all(
          Array.from({ length: 6 }, () => operate(client, '{ tree { id } }')),
        );
        expect(JSON.stringify(outcomes)).toContain('RATE_LIMITED');
        await client.dispose();
        // Another user has a budget of their own.
        const other = await post(limited.http, { query: '{ tree { id } }' }, await tokenFor('zoe'));
        expect(other.status).toBe(200);
      } finally {
        await limited.app.close();
      }
    });

    it('validates arguments with class-validator and hands resolvers class instances', async () => {
      const client = new GraphQLClient(dev.http, { headers: { authorization: `Bearer ${token}` } });
      const ok = await client.request<{ echo: { text: string; validatedInstance: boolean } }>(
        'mutation { echo(input: { text: "hello", email: "a@example.org" }) { text validatedInstance } }',
      );
      expect(ok.echo).toEqual({ text: 'hello', validatedInstance: true });
    });

    it('maps domain errors to stable codes', async () => {
      const client = new GraphQLClient(dev.http, { headers: { authorization: `Bearer ${token}` } });
      const conflict = await requestError(client, '{ fail(kind: "conflict") }');
      expect(conflict.response.errors).toEqual([
        {
          message: 'conversation c-1: refused (archived)',
          locations: [{ line: 1, column: 3 }],
          path: ['fail'],
          extensions: { code: 'CONFLICT', reason: 'archived' },
        },
      ]);
      const unavailable = await requestError(client, '{ fail(kind: "unavailable") }');
      expect(unavailable.response.errors?.[0]?.extensions).toEqual({
        code: 'UNAVAILABLE',
        reason: 'unavailable',
        retryable: true,
      });
    });

    it('never sends PHI back in an error, whatever carried it', async () => {
      const attempts: { body: unknown; code: string }[] = [
        // class-validator refusals: the field and constraint, not the value
        {
          body: { query: `mutation { echo(input: { text: "${PHI}" }) { text } }` },
          code: 'BAD_USER_INPUT',
        },
        {
          body: {
            query: 'mutation E($input: EchoInput!) { echo(input: $input) { text } }',
            variables: { input: { text: 'ok', email: PHI } },
          },
          code: 'BAD_USER_INPUT',
        },
        // a variable of the wrong type
        {
          body: { query: 'query S($n: Int!) { square(n: $n) }', variables: { n: PHI } },
          code: 'BAD_USER_INPUT',
        },
        // a literal of the wrong type
        { body: { query: `{ square(n: "${PHI}") }` }, code: 'GRAPHQL_VALIDATION_FAILED' },
        { body: { query: '{ square(n: 123456789.5) }' }, code: 'GRAPHQL_VALIDATION_FAILED' },
        // a syntax error right after PHI
        { body: { query: `{ square(n: Jane Roe 00451234) }` }, code: 'GRAPHQL_PARSE_FAILED' },
        // a resolver failing with PHI in its message
        { body: { query: '{ fail(kind: "crash") }' }, code: 'INTERNAL' },
      ];
      for (const attempt of attempts) {
        const res = await post(dev.http, attempt.body, token);
        expect(res.body.errors?.[0]?.extensions?.['code']).toBe(attempt.code);
        expect(res.text).not.toMatch(PHI_PATTERN);
      }
      const refused = await post(
        dev.http,
        { query: `mutation { echo(input: { text: "${PHI}", email: "${PHI}" }) { text } }` },
        token,
      );
      expect(refused.body.errors?.[0]).toMatchObject({
        message: 'invalid input: input.text (maxLength); input.email (isEmail)',
        extensions: {
          code: 'BAD_USER_INPUT',
          field: 'input.text',
          fields: [
            { field: 'input.text', constraints: ['maxLength'] },
            { field: 'input.email', constraints: ['isEmail'] },
          ],
        },
      });
      // The unexpected failure is logged under the id the client got, without its message.
      expect(dev.reports).toHaveLength(1);
      expect(JSON.stringify(dev.reports)).not.toMatch(PHI_PATTERN);
    });

    it('keeps the internal failure’s id in the response and the report', async () => {
      const res = await post(dev.http, { query: '{ fail(kind: "crash") }' }, token);
      const extensions = res.body.errors?.[0]?.extensions;
      expect(extensions).toEqual({ code: 'INTERNAL', errorId: expect.any(String) as unknown });
      expect(dev.reports).toEqual([
        expect.objectContaining({ errorId: extensions?.['errorId'], errors: ['Error'] }),
      ]);
      expect(res.body.errors?.[0]?.message).toBe(
        `Internal server error (${extensions?.['errorId'] as string}).`,
      );
    });

    it('refuses a body over the cap with PAYLOAD_TOO_LARGE', async () => {
      const padding = 'x'.repeat(80 * 1024);
      const res = await post(dev.http, { query: `{ me { id } } # ${padding}` }, token);
      expect(res.status).toBe(413);
      expect(res.body).toEqual({
        errors: [
          {
            message: 'The request body is over the limit of 65536 bytes.',
            extensions: { code: 'PAYLOAD_TOO_LARGE', limit: 65536 },
          },
        ],
      });
    });

    it('introspects and shows GraphiQL outside production', async () => {
      const res = await post(dev.http, { query: '{ __schema { queryType { name } } }' }, token);
      expect(res.body.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
      const page = await fetch(dev.http, { headers: { accept: 'text/html' } });
      expect(page.headers.get('content-type')).toMatch(/text\/html/);
      expect(await page.text()).toMatch(/GraphiQL/);
    });
  });

  describe('over graphql-ws', () => {
    it('delivers subscription events to an authenticated socket, and stops the source after', async () => {
      const client = wsClient(dev.ws, token);
      const before = recorder.stopped;
      const subscription = new Promise<ExecutionResult[]>((resolve, reject) => {
        const results: ExecutionResult[] = [];
        const dispose = client.subscribe(
          { query: 'subscription { ticks { n userId } }' },
          {
            next: (result) => {
              results.push(result);
              if (results.length === 3) {
                dispose();
                resolve(results);
              }
            },
            error: reject,
            complete: () => resolve(results),
          },
        );
      });
      await eventually(() => recorder.pushTick !== undefined && recorder.sources > 0);
      for (const n of [1, 2, 3]) recorder.pushTick!(n);
      expect(await subscription).toEqual(
        [1, 2, 3].map((n) => ({ data: { ticks: { n, userId: 'alice' } } })),
      );
      await eventually(() => recorder.stopped === before + 1);
      // Queries run over the socket too, as the same principal.
      const me = await operate(client, '{ me { id } }');
      expect(me.results).toEqual([{ data: { me: { id: 'alice' } } }]);
      await client.dispose();
      recorder.pushTick = undefined;
    });

    it('ends a subscription whose consumer falls behind with a retryable UNAVAILABLE', async () => {
      const client = wsClient(dev.ws, token);
      const stoppedBefore = recorder.stopped;
      const outcome = operate(client, 'subscription { ticks(bufferSize: 1) { n } }');
      await eventually(() => recorder.pushTick !== undefined);
      // Pushed in one go: the first is handed over, the second waits, the third overflows.
      for (const n of [1, 2, 3, 4]) recorder.pushTick!(n);
      const ended = await outcome;
      expect(ended.results).toEqual([{ data: { ticks: { n: 1 } } }, { data: { ticks: { n: 2 } } }]);
      expect(ended.error).toEqual([
        {
          message:
            'the subscriber fell more than 1 events behind; resubscribe from the last position received',
          extensions: { code: 'UNAVAILABLE', reason: 'subscription_overflow', retryable: true },
        },
      ]);
      expect(recorder.stopped).toBe(stoppedBefore + 1);
      // The client's other operations are unaffected.
      expect((await operate(client, '{ me { id } }')).results).toEqual([
        { data: { me: { id: 'alice' } } },
      ]);
      await client.dispose();
      recorder.pushTick = undefined;
    });

    it('closes a socket whose connection_init has no valid token with 4401 Unauthorized', async () => {
      const expired = await tokenFor('alice', 60, new Date(Date.now() - 3_600_000));
      for (const credential of [undefined, 'not-a-jwt', expired]) {
        const closed: Closed[] = [];
        const client = wsClient(dev.ws, credential, closed);
        const outcome = await operate(client, '{ me { id } }');
        expect(outcome.results).toEqual([]);
        expect(closed).toEqual([expect.objectContaining({ code: 4401, reason: 'Unauthorized' })]);
        await client.dispose();
      }
    });

    it('closes the socket with 4401 when the token expires, ending its subscription', async () => {
      // DevTokenIssuer counts whole seconds; this token lives one to two seconds from now.
      issuerClock.set(new Date());
      const { token: shortLived, expiresAt } = await issuer.issue({
        tenantId: 't-1',
        userId: 'bob',
        ttlSec: 2,
      });
      const closed: Closed[] = [];
      const client = wsClient(dev.ws, shortLived, closed);
      const stoppedBefore = recorder.stopped;
      const outcome = operate(client, 'subscription { ticks { n userId } }');
      await eventually(() => recorder.pushTick !== undefined);
      recorder.pushTick!(7);
      const ended = await outcome;
      expect(ended.results).toEqual([{ data: { ticks: { n: 7, userId: 'bob' } } }]);
      expect(closed).toEqual([expect.objectContaining({ code: 4401, reason: 'Token expired' })]);
      // At `exp` plus the clock tolerance, the same instant HTTP stops accepting the token.
      expect(closed[0]!.at).toBeGreaterThanOrEqual(expiresAt.getTime() + TOLERANCE_SEC * 1000 - 50);
      await eventually(() => recorder.stopped === stoppedBefore + 1);
      await client.dispose();
      recorder.pushTick = undefined;
    });

    // Issue 10, item 18: HTTP accepted a token within the tolerance that graphql-ws refused.
    it('accepts a token expired within the clock tolerance on both transports, until the tolerance ends', async () => {
      // Expired a second ago (whole seconds: between 1 and 2), tolerated for TOLERANCE_SEC.
      const justExpired = await tokenFor('carol', 1, new Date(Date.now() - 2_000));
      const overHttp = await post(dev.http, { query: '{ me { id } }' }, justExpired);
      expect(overHttp.status).toBe(200);
      const query = wsClient(dev.ws, justExpired);
      const outcome = await operate(query, '{ me { id } }');
      expect(outcome.results).toEqual([{ data: { me: { id: 'carol' } } }]);
      await query.dispose();
      // A subscription keeps its socket open until the tolerance runs out.
      const closed: Closed[] = [];
      const client = wsClient(dev.ws, justExpired, closed);
      await operate(client, 'subscription { ticks { n userId } }');
      expect(closed).toEqual([expect.objectContaining({ code: 4401, reason: 'Token expired' })]);
      recorder.pushTick = undefined;
      const afterwards = await post(dev.http, { query: '{ me { id } }' }, justExpired);
      expect(afterwards.status).toBe(401);
      await client.dispose();
    });

    it('applies the same limits and error masking as HTTP', async () => {
      const client = wsClient(dev.ws, token);
      const deep = await operate(client, nested(9));
      expect(deep.error).toEqual([
        {
          message: 'The operation nests fields deeper than the limit of 8 levels.',
          extensions: { code: 'QUERY_TOO_DEEP', limit: 8 },
        },
      ]);
      const costly = await operate(client, '{ trees(first: 5000) { id } }');
      expect(costly.error).toEqual([
        expect.objectContaining({
          extensions: { code: 'QUERY_TOO_COMPLEX', limit: 1000, cost: 5000 },
        }),
      ]);
      const phiVariable = await operate(client, 'query S($n: Int!) { square(n: $n) }', { n: PHI });
      expect(phiVariable.error).toEqual([
        expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT', field: '$n' } }),
      ]);
      const phiLiteral = await operate(client, `{ square(n: "${PHI}") }`);
      const phiSyntax = await operate(client, `{ square(n: Jane Roe 00451234) }`);
      const crash = await operate(client, '{ fail(kind: "crash") }');
      const invalid = await operate(
        client,
        `mutation { echo(input: { text: "${PHI}" }) { text } }`,
      );
      expect(crash.results[0]?.errors?.[0]?.extensions?.['code']).toBe('INTERNAL');
      expect(invalid.results[0]?.errors?.[0]?.extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'input.text',
      });
      expect(JSON.stringify([phiVariable, phiLiteral, phiSyntax, crash, invalid])).not.toMatch(
        PHI_PATTERN,
      );
      expect(recorder.resolved).toBe(0);
      await client.dispose();
    });

    it('closes a socket that sends a message over the payload cap (1009)', async () => {
      const closed: Closed[] = [];
      const client = wsClient(dev.ws, token, closed);
      const outcome = await operate(client, `{ me { id } } # ${'x'.repeat(20 * 1024)}`);
      expect(outcome.results).toEqual([]);
      expect(closed).toEqual([expect.objectContaining({ code: 1009 })]);
      await client.dispose();
    });
  });

  describe('in production', () => {
    let prod: Served;

    beforeAll(async () => {
      prod = await serve(issuer, 'production', { maxBodyBytes: 4096 }, false);
    }, STARTUP_TIMEOUT_MS);

    afterAll(() => prod?.app.close());

    it('refuses introspection over HTTP and graphql-ws, and has no landing page', async () => {
      const res = await post(prod.http, { query: '{ __schema { types { name } } }' }, token);
      expect(res.status).toBe(400);
      expect(res.body.errors?.[0]?.extensions?.['code']).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(res.body.data).toBeUndefined();
      const client = wsClient(prod.ws, token);
      const outcome = await operate(client, '{ __type(name: "Query") { name } }');
      expect(outcome.error).toEqual([
        expect.objectContaining({ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }),
      ]);
      await client.dispose();
      const page = await fetch(prod.http, { headers: { accept: 'text/html' } });
      expect(page.headers.get('content-type') ?? '').not.toMatch(/text\/html/);
      // Still served: ordinary operations.
      const me = await post(prod.http, { query: '{ me { id } }' }, token);
      expect(me.body).toEqual({ data: { me: { id: 'alice' } } });
    });

    it('does not suggest schema names in errors', async () => {
      const res = await post(prod.http, { query: '{ mee { id } }' }, token);
      expect(res.body.errors?.[0]?.message).toBe('Cannot query field "mee" on type "Query".');
    });

    it('parses bodies itself when the app has no body parser, capping chunked bodies too', async () => {
      const chunks = [JSON.stringify({ query: `{ me { id } } # ${'x'.repeat(8 * 1024)}` })];
      const res = await fetch(prod.http, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: new ReadableStream({
          pull(controller) {
            const chunk = chunks.shift();
            if (chunk === undefined) controller.close();
            else controller.enqueue(new TextEncoder().encode(chunk));
          },
        }),
        duplex: 'half',
      });
      expect(res.status).toBe(413);
      expect(await res.json()).toMatchObject({
        errors: [{ extensions: { code: 'PAYLOAD_TOO_LARGE', limit: 4096 } }],
      });
      const small = await post(prod.http, { query: '{ me { id } }' }, token);
      expect(small.body).toEqual({ data: { me: { id: 'alice' } } });
    });

    it('drains: closes open sockets (1001), ends their subscriptions, lets the server close', async () => {
      const closed: Closed[] = [];
      const client = wsClient(prod.ws, token, closed);
      const stoppedBefore = recorder.stopped;
      const outcome = operate(client, 'subscription { ticks { n userId } }');
      await eventually(() => recorder.sources > 0 && recorder.pushTick !== undefined);
      await prod.app.get(GraphqlWsGateway).drain();
      await outcome;
      expect(closed).toEqual([expect.objectContaining({ code: 1001, reason: 'Going away' })]);
      await eventually(() => recorder.stopped === stoppedBefore + 1);
      const server = prod.app.getHttpServer() as Server;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await client.dispose();
      recorder.pushTick = undefined;
    });
  });

  describe('schema export', () => {
    it('writes the same file as the running module, and reports drift', async () => {
      const file = join(dir, 'schema.graphql');
      const resolvers = [TreeResolver, TestResolver];
      expect(await exportSchema(resolvers, file)).toEqual({ file, changed: true });
      const exported = await readFile(file, 'utf8');
      expect(exported).toBe(renderSchema(servedSchema(dev.app)));
      expect(exported).toBe(await readFile(join(dir, 'runtime.graphql'), 'utf8'));
      expect(exported).toMatch(/type Query \{[^}]*\bme: Viewer!/);
      expect(await exportSchema(resolvers, file, { check: true })).toEqual({
        file,
        changed: false,
      });
      await writeFile(file, exported.replace('me: Viewer!', 'me: Viewer'));
      expect(await exportSchema(resolvers, file, { check: true })).toEqual({ file, changed: true });
      expect(await readFile(file, 'utf8')).not.toBe(exported);
    });
  });
});
