import { ArgsType, Field, ID, InputType, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { Type } from 'class-transformer';
import { IsDate, IsInt, IsOptional, Matches, Max, Min, ValidateNested } from 'class-validator';
import { PERMISSION_NAME, type AccessActor, type AccessOutcome } from '@ledgerline/identity';
import { AUDIT_LOG_DEFAULT_PAGE_SIZE, AUDIT_LOG_MAX_PAGE_SIZE } from './audit-api.config';

// Validation here refuses what can never match; the handler checks again (and is the authority).
// Errors name the field and the constraint, never the value.

/** Printable ASCII without spaces, 1 to 256 characters: any id an access record holds. */
const AUDIT_ID = /^[!-~]{1,256}$/;
/** What `encodeAuditCursor` makes (base64url). */
const AUDIT_CURSOR = /^[A-Za-z0-9_-]{1,128}$/;

// ---- enums -------------------------------------------------------------------------------------

export const AccessOutcomeEnum = {
  ALLOWED: 'allowed',
  DENIED: 'denied',
  FAILED: 'failed',
} as const satisfies Record<string, AccessOutcome>;

registerEnumType(AccessOutcomeEnum, {
  name: 'AccessOutcome',
  description:
    'ALLOWED: it happened. DENIED: the access policy refused it. FAILED: it was allowed but did not complete.',
});

export const AuditActorKindEnum = {
  USER: 'user',
  SERVICE: 'service',
  AGENT: 'agent',
  OPERATOR: 'operator',
  ANONYMOUS: 'anonymous',
} as const satisfies Record<string, AccessActor['kind']>;

registerEnumType(AuditActorKindEnum, {
  name: 'AuditActorKind',
  description:
    'Who acted: a user, a backend service (API key), an AI agent, an operator at the CLI, or nobody yet (a refused sign-in).',
});

// ---- outputs -----------------------------------------------------------------------------------

@ObjectType({ description: 'Who acted, as authenticated at the time.' })
export class AuditActor {
  @Field(() => ID)
  id!: string;

  @Field(() => AuditActorKindEnum)
  kind!: AccessActor['kind'];

  @Field(() => [String], { description: 'Tenant-level roles the actor had.' })
  roles!: string[];

  @Field(() => ID, { nullable: true, description: 'The API key that authenticated a service.' })
  credentialId!: string | null;
}

@ObjectType({ description: 'Where an access came from, as far as the server could tell.' })
export class AuditOrigin {
  @Field(() => String, { description: 'The Ledgerline process that served it.' })
  node!: string;

  @Field(() => String, {
    description: '`http`, `graphql-ws`, `realtime`, `cli` or `internal` (no client asked).',
  })
  transport!: string;

  @Field(() => String, { nullable: true })
  clientAddress!: string | null;

  @Field(() => String, { nullable: true })
  userAgent!: string | null;

  @Field(() => String, { nullable: true })
  deviceId!: string | null;
}

@ObjectType({
  description: 'One access event of the audit log. Ids and codes only, never content.',
})
export class AuditLogEntry {
  @Field(() => ID)
  eventId!: string;

  @Field(() => String, { description: 'The event’s global position token in the log.' })
  position!: string;

  @Field(() => String, { description: 'Paging cursor: pass as `after` for the entries after it.' })
  cursor!: string;

  @Field(() => Date, { description: 'When the access happened.' })
  at!: Date;

  @Field(() => Date, { description: 'When its record was appended to the log.' })
  recordedAt!: Date;

  @Field(() => AuditActor)
  actor!: AuditActor;

  @Field(() => String, {
    description:
      'What was done: `phi.history.read`, `access.denied`, `audit.searched`… (the fixed list of access actions).',
  })
  action!: string;

  @Field(() => AccessOutcomeEnum)
  outcome!: AccessOutcome;

  @Field(() => String, {
    nullable: true,
    description: 'Why it was denied or failed (`missing_permission`…).',
  })
  reason!: string | null;

  @Field(() => String, { nullable: true, description: 'The permission checked.' })
  permission!: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      'The request refused or done, when the record names one (`messages`, `editHistory`…): several share one permission.',
  })
  operation!: string | null;

  @Field(() => ID, { nullable: true })
  conversationId!: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'What was acted on when not a conversation (`audit_log`, `api_key`…).',
  })
  resourceType!: string | null;

  @Field(() => [ID], { description: 'The ids touched (message ids of a page, a key id…).' })
  targetIds!: string[];

  @Field(() => [ID], { description: 'The users whose data it was.' })
  subjectUserIds!: string[];

  @Field(() => AuditOrigin, {
    nullable: true,
    description: 'Null only for denials recorded before origins were.',
  })
  origin!: AuditOrigin | null;
}

@ObjectType({ description: 'A page of the audit log, oldest first (in log order).' })
export class AuditLogPage {
  @Field(() => [AuditLogEntry])
  items!: AuditLogEntry[];

  @Field(() => Boolean, { description: 'More entries match after this page.' })
  hasMore!: boolean;

  @Field(() => String, {
    nullable: true,
    description: 'Cursor of the last item: pass as `after` for the next page.',
  })
  endCursor!: string | null;
}

// ---- arguments and inputs ----------------------------------------------------------------------

@InputType({
  description: 'Which access events: a time range (required) and any of the other filters.',
})
export class AuditLogFilter {
  @Field(() => Date, { description: 'Accesses at or after this time.' })
  @IsDate()
  from!: Date;

  @Field(() => Date, { description: 'Accesses before this time.' })
  @IsDate()
  to!: Date;

  @Field(() => ID, {
    nullable: true,
    description: 'Who acted (user, agent, API key or operator id).',
  })
  @IsOptional()
  @Matches(AUDIT_ID)
  actorId?: string;

  @Field(() => ID, { nullable: true, description: 'Whose data it was.' })
  @IsOptional()
  @Matches(AUDIT_ID)
  subjectUserId?: string;

  @Field(() => String, {
    nullable: true,
    description: 'One access action, e.g. `phi.history.read`.',
  })
  @IsOptional()
  // Well-formed here; one the composed libs declare, in the handler (AccessCatalogue).
  @Matches(PERMISSION_NAME)
  action?: string;

  @Field(() => ID, { nullable: true })
  @IsOptional()
  @Matches(AUDIT_ID)
  conversationId?: string;
}

@ArgsType()
export class AuditPageArgs {
  @Field(() => Int, {
    nullable: true,
    description: `Page size, 1 to ${AUDIT_LOG_MAX_PAGE_SIZE} (default ${AUDIT_LOG_DEFAULT_PAGE_SIZE}).`,
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(AUDIT_LOG_MAX_PAGE_SIZE)
  first?: number;

  @Field(() => String, { nullable: true, description: 'Entries after this cursor.' })
  @IsOptional()
  @Matches(AUDIT_CURSOR)
  after?: string;
}

@ArgsType()
export class AuditLogArgs extends AuditPageArgs {
  @Field(() => AuditLogFilter)
  @ValidateNested()
  @Type(() => AuditLogFilter)
  filter!: AuditLogFilter;
}

@ArgsType()
export class DisclosuresArgs extends AuditPageArgs {
  @Field(() => ID, { description: 'The user whose PHI was disclosed.' })
  @Matches(AUDIT_ID)
  subjectUserId!: string;

  @Field(() => Date, { description: 'Accesses at or after this time.' })
  @IsDate()
  from!: Date;

  @Field(() => Date, { description: 'Accesses before this time.' })
  @IsDate()
  to!: Date;
}
