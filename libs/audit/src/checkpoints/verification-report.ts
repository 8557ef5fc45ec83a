/** Which kind of check a finding comes from. */
export type CheckName =
  | 'format'
  | 'certificate'
  | 'tree-head'
  | 'earlier-head'
  | 'known-head'
  | 'manifest'
  | 'record'
  | 'inclusion'
  | 'order'
  | 'chain'
  | 'range'
  | 'content'
  | 'leaf'
  | 'truncation'
  /** A row of the audit log read model against its sealed access event. */
  | 'audit-row';

/** One failed check: what failed, and where (record, event, leaf, position or head). */
export interface Finding {
  readonly check: CheckName;
  readonly where: string;
  readonly message: string;
}

/** Collects findings, keeping the first `limit` so a rewritten log does not flood the report. */
export class Findings {
  readonly list: Finding[] = [];
  private dropped = 0;

  constructor(private readonly limit = 500) {}

  fail(check: CheckName, where: string, message: string): void {
    if (this.list.length < this.limit) this.list.push({ check, where, message });
    else this.dropped += 1;
  }

  get count(): number {
    return this.list.length + this.dropped;
  }

  /** The findings, with a last line counting those left out. */
  all(): Finding[] {
    if (this.dropped === 0) return [...this.list];
    return [
      ...this.list,
      {
        check: this.list[this.list.length - 1]!.check,
        where: '(report)',
        message: `${this.dropped} further failure(s) not listed`,
      },
    ];
  }
}

/** Human-readable lines for a report: `FAIL <check> <where>: <message>`. */
export function formatFinding(f: Finding): string {
  return `FAIL ${f.check} ${f.where}: ${f.message}`;
}
