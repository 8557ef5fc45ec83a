import type {
  GeneratedDataKey,
  KekDescription,
  KekRotation,
  KekTarget,
  KeyContext,
  KeyProvider,
  WrappedDataKey,
} from './key-provider.port';
import type { TenantKeks } from './tenant-keks';

/** Who `TenantKeks` says recorded a tenant's first KEK. */
export const FIRST_USE = 'first-use';

/**
 * The process's KeyProvider, with new data keys wrapped under the tenant's current KEK as the
 * database records it (TenantKeks), not as this process's configuration names it: every node
 * follows a rotation as soon as it is recorded, without being reconfigured or restarted. A
 * tenant's first data key is made under the configured KEK, which is then recorded as current.
 * Everything else is the wrapped provider's. One query per new data key (a key seals thousands
 * of events), so no copy of the current KEK is cached to go stale.
 */
export class CurrentKekKeyProvider implements KeyProvider {
  constructor(
    readonly inner: KeyProvider,
    private readonly keks: TenantKeks,
  ) {}

  get kind(): KeyProvider['kind'] {
    return this.inner.kind;
  }

  async generateDataKey(context: KeyContext, target?: KekTarget): Promise<GeneratedDataKey> {
    if (target) return this.inner.generateDataKey(context, target);
    const current = await this.keks.current(context.tenantId);
    if (current) {
      return this.inner.generateDataKey(context, {
        kekId: current.kekId,
        kekVersion: current.kekVersion,
      });
    }
    const generated = await this.inner.generateDataKey(context);
    try {
      await this.keks.record(context.tenantId, generated.wrapped, FIRST_USE, { onlyIfNone: true });
    } catch (error) {
      generated.plaintext.fill(0);
      throw error;
    }
    return generated;
  }

  unwrap(wrapped: WrappedDataKey, context: KeyContext): Promise<Buffer> {
    return this.inner.unwrap(wrapped, context);
  }

  rewrap(wrapped: WrappedDataKey, context: KeyContext, target?: KekTarget) {
    return this.inner.rewrap(wrapped, context, target);
  }

  describeKek(tenantId: string): Promise<KekDescription> {
    return this.inner.describeKek(tenantId);
  }

  rotateKek(tenantId: string): Promise<KekRotation> {
    return this.inner.rotateKek(tenantId);
  }

  get retireKekVersion(): KeyProvider['retireKekVersion'] {
    return this.inner.retireKekVersion?.bind(this.inner);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
