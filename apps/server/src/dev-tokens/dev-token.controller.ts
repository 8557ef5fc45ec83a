import { Body, Controller, HttpCode, Inject, NotFoundException, Post } from '@nestjs/common';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsOptional,
  IsString,
  Length,
  Matches,
} from 'class-validator';
import { DEV_TOKEN_ISSUER, type DevTokenIssuer } from '@ledgerline/identity';

export class DevTokenRequestDto {
  @Matches(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/)
  tenantId!: string;

  @IsString()
  @Length(1, 255)
  userId!: string;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(16)
  @IsString({ each: true })
  roles?: string[];

  @IsOptional()
  @IsIn(['user', 'agent'])
  kind?: 'user' | 'agent';
}

/**
 * Development only: `POST /dev/token` mints a token for any tenant and user, signed by the
 * development issuer the server trusts when LEDGERLINE_DEV_TOKENS is on (never in production).
 * Answers 404 when dev tokens are off, as if the route did not exist.
 */
@Controller('dev')
export class DevTokenController {
  constructor(@Inject(DEV_TOKEN_ISSUER) private readonly issuer: DevTokenIssuer | null) {}

  @Post('token')
  @HttpCode(200)
  async token(@Body() body: DevTokenRequestDto): Promise<{ token: string; expiresAt: string }> {
    if (!this.issuer) throw new NotFoundException();
    const issued = await this.issuer.issue({
      tenantId: body.tenantId,
      userId: body.userId,
      roles: body.roles ?? ['user'],
      kind: body.kind,
    });
    return { token: issued.token, expiresAt: issued.expiresAt.toISOString() };
  }
}
