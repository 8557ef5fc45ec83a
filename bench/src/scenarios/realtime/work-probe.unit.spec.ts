import { counterSum, workBetween } from './work-probe';

const EXPOSITION = [
  '# HELP ledgerline_sql_statements_total SQL statements sent.',
  '# TYPE ledgerline_sql_statements_total counter',
  'ledgerline_sql_statements_total{kind="query"} 120',
  'ledgerline_sql_statements_total{kind="exec"} 3',
  'ledgerline_sql_statements_total{kind="transaction"} 40 1700000000000',
  'ledgerline_sql_statements_total_created{kind="query"} 1700000000',
  'ledgerline_sql_commits_total{kind="transaction"} 20',
  'ledgerline_sql_commits_total{kind="implicit"} 5',
  'ledgerline_events_appended_total 7',
  '',
].join('\n');

describe('work probe', () => {
  it('sums every label set of a counter, and no other metric sharing its prefix', () => {
    expect(counterSum(EXPOSITION, 'ledgerline_sql_statements_total')).toBe(163);
    expect(counterSum(EXPOSITION, 'ledgerline_sql_commits_total')).toBe(25);
    expect(counterSum(EXPOSITION, 'ledgerline_events_appended_total')).toBe(7);
  });

  it('refuses a counter that is not there rather than reading it as zero', () => {
    expect(() => counterSum(EXPOSITION, 'ledgerline_sql_rollbacks_total')).toThrow(
      /no ledgerline_sql_rollbacks_total/,
    );
  });

  it('takes the difference of two readings, without database CPU when it was not visible', () => {
    const before = { statements: 10, commits: 4, serverCpuMs: 100, dbCpuMs: 50 };
    expect(
      workBetween(before, { statements: 30, commits: 9, serverCpuMs: 160, dbCpuMs: 80 }),
    ).toEqual({ statements: 20, commits: 5, serverCpuMs: 60, dbCpuMs: 30 });
    expect(
      workBetween(before, { statements: 30, commits: 9, serverCpuMs: 160, dbCpuMs: undefined }),
    ).toEqual({ statements: 20, commits: 5, serverCpuMs: 60 });
  });
});
