import { Metrics } from './metrics';

describe('Metrics', () => {
  it('keeps its instruments on a registry of its own', async () => {
    const a = new Metrics({ defaultMetrics: false });
    const b = new Metrics({ defaultMetrics: false });
    a.countSqlStatement('query', 3);
    a.countCommit('transaction');
    expect(await a.text()).toContain('ledgerline_sql_statements_total{kind="query"} 3');
    expect(await b.text()).toContain('ledgerline_sql_statements_total{kind="query"} 0');
    expect(await b.text()).toContain('ledgerline_sql_commits_total{kind="transaction"} 0');
  });

  it('exports every instrument in the Prometheus text format', async () => {
    const m = new Metrics({ defaultMetrics: false });
    m.countAppend('appended', 3);
    m.countAppend('duplicate');
    m.countAppend('conflict', 2);
    m.countProjectionEvents('conversation-history', 4);
    m.setProjectionLag('conversation-history', { events: 7n, seconds: 0.5 });
    m.connectionOpened('realtime');
    m.connectionOpened('realtime');
    m.connectionClosed('realtime');
    m.connectionOpened('graphql-ws');
    m.countDelivery('live');
    m.countDelivery('catch_up', 2);
    m.observeSendToAck(0.004, 'ok');
    m.observeAppendToDeliver(0.03);
    m.countDataKeyLookup('hit');
    m.countDataKeyLookup('miss');
    m.countKeyProviderCall('unwrap', 'ok');
    const text = await m.text();
    expect(m.contentType).toMatch(/^text\/plain/);
    for (const line of [
      'ledgerline_event_appends_total{outcome="appended"} 1',
      'ledgerline_event_appends_total{outcome="duplicate"} 1',
      'ledgerline_event_appends_total{outcome="conflict"} 1',
      'ledgerline_events_appended_total 3',
      'ledgerline_projection_events_total{projection="conversation-history"} 4',
      'ledgerline_projection_lag_events{projection="conversation-history"} 7',
      'ledgerline_projection_lag_seconds{projection="conversation-history"} 0.5',
      'ledgerline_connections{transport="realtime"} 1',
      'ledgerline_connections{transport="graphql-ws"} 1',
      'ledgerline_deliveries_total{path="live"} 1',
      'ledgerline_deliveries_total{path="catch_up"} 2',
      'ledgerline_send_to_ack_seconds_bucket{le="0.005",outcome="ok"} 1',
      'ledgerline_send_to_ack_seconds_bucket{le="0.0025",outcome="ok"} 0',
      'ledgerline_send_to_ack_seconds_count{outcome="ok"} 1',
      'ledgerline_append_to_deliver_seconds_bucket{le="0.05"} 1',
      'ledgerline_append_to_deliver_seconds_count 1',
      'ledgerline_data_key_cache_lookups_total{result="hit"} 1',
      'ledgerline_data_key_cache_lookups_total{result="miss"} 1',
      'ledgerline_key_provider_calls_total{operation="unwrap",outcome="ok"} 1',
    ]) {
      expect(text.split('\n')).toContain(line);
    }
  });

  it('never makes an id a projection label', async () => {
    const m = new Metrics({ defaultMetrics: false });
    m.countProjectionEvents('0190f3a2-7c1e-7b3d-9a4e-2f1c0d9e8b7a');
    m.countProjectionEvents('tenant clinic-1 / conversation 42');
    m.countProjectionEvents('audit-log-1234567');
    const text = await m.text();
    expect(text).toContain('ledgerline_projection_events_total{projection="other"} 3');
    expect(text).not.toMatch(/0190f3a2|clinic-1|1234567/);
  });

  it('caps the number of projection labels', async () => {
    const m = new Metrics({ defaultMetrics: false });
    for (let i = 0; i < 150; i++)
      m.countProjectionEvents(`projection-${String.fromCharCode(97 + (i % 26))}${i}`);
    const text = await m.text();
    const series = text
      .split('\n')
      .filter((l) => l.startsWith('ledgerline_projection_events_total{'));
    expect(series.length).toBeLessThanOrEqual(101);
    expect(text).toContain('projection="other"');
  });

  it('collects the default process metrics into the same registry', async () => {
    const m = new Metrics();
    const text = await m.text();
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
  });
});
