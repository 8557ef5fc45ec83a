/**
 * The permissions a role can grant, as checked at the start of a handler. Each lib declares the
 * ones its handlers check in its manifest (`permissions`) and adds them to this interface by
 * module augmentation, so `Permission` names exactly what the composed libs check and a new lib
 * edits no list here (docs/adr/0027):
 *
 *   declare module '@ledgerline/identity' {
 *     interface Permissions extends Record<(typeof FILE_PERMISSIONS)[number], true> {}
 *   }
 *
 * Tenant-level only: who may do what inside one conversation (owner, moderator, member) is the
 * conversation's own state, enforced by its decider after this check passed.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by augmentation
export interface Permissions extends Record<(typeof IDENTITY_PERMISSIONS)[number], true> {}

export type Permission = Extract<keyof Permissions, string>;

/** Identity's own: managing the tenant's API keys. */
export const IDENTITY_PERMISSIONS = ['apikeys.manage'] as const;

/** The shape of permission and access action names: `area.verb`, `area.sub_area.verb`; lower case. */
export const PERMISSION_NAME = /^[a-z][a-z_]*(\.[a-z][a-z_]*){1,3}$/;
