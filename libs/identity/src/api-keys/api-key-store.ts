import { timingSafeEqual } from 'node:crypto';
import { type SqlClient } from '@ledgerline/database';
import {
  NotFoundError,
  ValidationError,
  isUuid,
  isValidTenantId,
  type Clock,
  type IdGenerator,
} from '@ledgerline/kernel';
import { AuthenticationError } from '../identity.errors';
import type { Principal } from '../principal';
import type {
  AuthenticationExpectation,
  Authenticator,
} from '../authentication/authenticator.port';
import { generateApiKey, hashApiKey, parseApiKey } from './api-key-format';
import { announceApiKeyRevoked } from './api-key-revocations';
import { isReservedTenantId } from '../reserved-tenants';

/** An API key as listed: never its secret, never its hash. */
export interface ApiKeyInfo {
  readonly id: string;
  readonly tenantId: string;
  readonly name: string;
  /** The public part of the key (`llk_<prefix>_…`), to tell keys apart. */
  readonly prefix: string;
  readonly roles: readonly string[];
  readonly createdAt: Date;
  readonly revokedAt?: Date;
}

export interface ApiKeyStoreOptions {
  readonly clock: Clock;
  readonly ids: IdGenerator;
  /** Whether policies/roles.yaml defines a role; a key can only be given defined roles. */
  readonly definesRole: (role: string) => boolean;
}

interface ApiKeyRow {
  id: string;
  tenant_id: string;
  name: string;
  prefix: string;
  hash: Uint8Array;
  roles: string[];
  created_at: Date;
  revoked_at: Date | null;
}

const NAME = /^[^\p{Cc}]{1,100}$/u;
const MAX_ROLES = 64;
// Compared against when the prefix is unknown, so that case costs the same hash and comparison.
const NO_HASH = Buffer.alloc(32);

/**
 * API keys of backend services, in PostgreSQL / PGlite (table `ll_api_keys`). Created and revoked
 * by the CLI; each key belongs to one tenant and carries roles from policies/roles.yaml. Only a
 * SHA-256 of the key is stored, so the key is shown once, by `create`, and never again.
 */
export class ApiKeyStore implements Authenticator {
  private constructor(
    private readonly client: SqlClient,
    private readonly options: ApiKeyStoreOptions,
  ) {}

  static open(client: SqlClient, options: ApiKeyStoreOptions): ApiKeyStore {
    return new ApiKeyStore(client, options);
  }

  /** A new key for the tenant. `key` is returned only here: hand it over, then forget it. */
  async create(
    tenantId: string,
    name: string,
    roles: readonly string[],
  ): Promise<{ id: string; key: string }> {
    if (!isValidTenantId(tenantId)) {
      throw new ValidationError(
        'tenant id must be 1-64 letters, digits, "_" or "-", starting with a letter or digit',
        'tenantId',
      );
    }
    if (isReservedTenantId(tenantId)) {
      throw new ValidationError('tenant ids starting with "ledgerline-" are reserved', 'tenantId');
    }
    if (!NAME.test(name)) {
      throw new ValidationError('name must be 1-100 characters without control codes', 'name');
    }
    if (roles.length === 0 || roles.length > MAX_ROLES) {
      throw new ValidationError(`a key needs between 1 and ${MAX_ROLES} roles`, 'roles');
    }
    const unknown = roles.filter((r) => !this.options.definesRole(r));
    if (unknown.length > 0) {
      throw new ValidationError(
        `roles not defined in the roles policy: ${unknown.join(', ')}`,
        'roles',
      );
    }
    const id = this.options.ids.next();
    const { key, prefix } = generateApiKey();
    await this.client.query(
      `insert into ll_api_keys (id, tenant_id, name, prefix, hash, roles, created_at)
       values ($1, $2, $3, $4, $5, $6, $7)`,
      [id, tenantId, name, prefix, hashApiKey(key), [...new Set(roles)], this.options.clock.now()],
    );
    return { id, key };
  }

  /**
   * Revokes a key from now on; revoking it again changes nothing. Requests with it are refused at
   * once, and the connections it holds open on every node are closed (ApiKeyRevocations).
   */
  async revoke(id: string): Promise<ApiKeyInfo> {
    if (!isUuid(id)) throw new NotFoundError('no such API key');
    const rows = await this.client.query<ApiKeyRow>(
      `update ll_api_keys set revoked_at = coalesce(revoked_at, $2)
       where id = $1
       returning id, tenant_id, name, prefix, roles, created_at, revoked_at`,
      [id, this.options.clock.now()],
    );
    const row = rows[0];
    if (!row) throw new NotFoundError('no such API key');
    // Every node closes the connections this key holds open (ApiKeyRevocations). Announced on
    // each revoke, a repeated one included: it costs nothing and catches a node that missed it.
    await announceApiKeyRevoked(this.client, row.id);
    return infoOf(row);
  }

  /** The tenant's keys, revoked ones included, oldest first. */
  async list(tenantId: string): Promise<ApiKeyInfo[]> {
    const rows = await this.client.query<ApiKeyRow>(
      `select id, tenant_id, name, prefix, roles, created_at, revoked_at
       from ll_api_keys where tenant_id = $1 order by created_at, id`,
      [tenantId],
    );
    return rows.map(infoOf);
  }

  async authenticate(
    key: string | undefined,
    expected?: AuthenticationExpectation,
  ): Promise<Principal> {
    if (key === undefined || key === '') throw new AuthenticationError('missing');
    const parsed = parseApiKey(key);
    if (!parsed) throw new AuthenticationError('malformed');
    const rows = await this.client.query<ApiKeyRow>(
      `select id, tenant_id, hash, roles, revoked_at from ll_api_keys where prefix = $1`,
      [parsed.prefix],
      { name: 'identity-api-key-by-prefix' },
    );
    const row = rows[0];
    const matches = timingSafeEqual(hashApiKey(key), row ? Buffer.from(row.hash) : NO_HASH);
    if (!row || !matches) throw new AuthenticationError('unknown_credential');
    // Checked after the hash, so knowing a prefix alone tells nothing about the key's state.
    if (row.revoked_at !== null) throw new AuthenticationError('revoked');
    // A key written straight into the table for a reserved tenant is refused all the same.
    if (isReservedTenantId(row.tenant_id)) throw new AuthenticationError('no_tenant');
    if (expected?.tenantId !== undefined && row.tenant_id !== expected.tenantId) {
      throw new AuthenticationError('wrong_tenant');
    }
    return {
      kind: 'service',
      id: row.id,
      tenantId: row.tenant_id,
      roles: row.roles,
      credentialId: row.id,
    };
  }
}

function infoOf(row: ApiKeyRow): ApiKeyInfo {
  const info: ApiKeyInfo = {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    prefix: row.prefix,
    roles: row.roles,
    createdAt: new Date(row.created_at),
  };
  return row.revoked_at ? { ...info, revokedAt: new Date(row.revoked_at) } : info;
}
