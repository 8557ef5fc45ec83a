import { createServer } from 'node:net';
import { Metrics } from './metrics';
import { MetricsListenError, MetricsListener } from './metrics-listener';

describe('MetricsListener', () => {
  let metrics: Metrics;
  let listener: MetricsListener;

  beforeAll(async () => {
    metrics = new Metrics({ defaultMetrics: false });
    listener = await MetricsListener.start(metrics, { host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await listener?.close();
  });

  it('serves GET /metrics in the Prometheus text format, on the port it bound', async () => {
    expect(listener.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(listener.url).not.toContain(':0/');
    metrics.countDelivery('live', 5);
    const response = await fetch(listener.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(metrics.contentType);
    expect(await response.text()).toContain('ledgerline_deliveries_total{path="live"} 5');
    const withQuery = await fetch(`${listener.url}?x=1`);
    expect(withQuery.status).toBe(200);
    await withQuery.text();
  });

  it('answers 404 for any other path and 405 for other methods', async () => {
    const base = listener.url.replace(/\/metrics$/, '');
    for (const path of ['/', '/health', '/metricsx', '/metrics/']) {
      const response = await fetch(`${base}${path}`);
      expect({ path, status: response.status }).toEqual({ path, status: 404 });
      await response.text();
    }
    const post = await fetch(listener.url, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    await post.text();
  });

  it('refuses to start on a port in use, with a typed error naming the variables', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const port = (taken.address() as { port: number }).port;
    try {
      const attempt = MetricsListener.start(metrics, { host: '127.0.0.1', port });
      await expect(attempt).rejects.toBeInstanceOf(MetricsListenError);
      await expect(attempt).rejects.toThrow(/EADDRINUSE.*LEDGERLINE_METRICS_PORT/);
    } finally {
      await new Promise<void>((r) => taken.close(() => r()));
    }
  });

  it('closes: the port no longer answers', async () => {
    const other = await MetricsListener.start(metrics, { host: '127.0.0.1', port: 0 });
    await (await fetch(other.url)).text();
    await other.close();
    await expect(fetch(other.url)).rejects.toThrow();
  });
});
