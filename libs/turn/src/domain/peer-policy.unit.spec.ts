import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PeerPolicy } from './peer-policy';

describe('PeerPolicy', () => {
  const policy = new PeerPolicy();

  it.each([
    ['127.0.0.1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback:ipv4_mapped'],
    ['::ffff:7f00:1', 'loopback:ipv4_mapped'],
    ['::ffff:0:127.0.0.1', 'loopback:ipv4_translated'],
    ['64:ff9b::7f00:1', 'loopback:nat64'],
    ['2002:7f00:0001::', 'loopback:6to4'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'ipv4_compatible_unspecified_loopback'],
    ['::1', 'ipv4_compatible_unspecified_loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.5.4', 'private'],
    ['192.168.0.1', 'private'],
    ['100.64.0.1', 'carrier_grade_nat'],
    ['169.254.169.254', 'link_local'],
    ['64:ff9b::a9fe:a9fe', 'link_local:nat64'],
    ['2002:a9fe:a9fe::', 'link_local:6to4'],
    ['fd00::1', 'unique_local'],
    ['fe80::1', 'link_local'],
    ['224.0.0.251', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'reserved_broadcast'],
    ['64:ff9b:1::1', 'nat64_local_use'],
  ])('refuses %s (%s)', (address, reason) => {
    expect(policy.decide(address)).toEqual({ allowed: false, reason });
  });

  it.each([
    '8.8.8.8',
    '172.32.0.1',
    '100.128.0.1',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '2002:808:808::1',
    '2606:4700::1111',
  ])('lets the public address %s through', (address) => {
    expect(policy.decide(address)).toEqual({ allowed: true });
  });

  it('lets an allowlisted range through, and only that range', () => {
    const onPrem = new PeerPolicy(['10.20.0.0/16', 'fd00:1::/48']);
    expect(onPrem.decide('10.20.3.4').allowed).toBe(true);
    expect(onPrem.decide('10.21.0.1').allowed).toBe(false);
    expect(onPrem.decide('fd00:1::9').allowed).toBe(true);
    expect(() => new PeerPolicy(['10.0.0.0/33'])).toThrow(RangeError);
    expect(() => new PeerPolicy(['not-an-address'])).toThrow(RangeError);
  });

  it('renders coturn rules for the same table, allowlist first', () => {
    const rules = new PeerPolicy(['10.20.0.0/16']).coturnPeerRules();
    expect(rules[0]).toBe('allowed-peer-ip=10.20.0.0-10.20.255.255');
    expect(rules).toContain('denied-peer-ip=127.0.0.0-127.255.255.255');
    expect(rules).toContain('denied-peer-ip=0:0:0:0:0:ffff:7f00:0-0:0:0:0:0:ffff:7fff:ffff');
    expect(rules).toContain(
      'denied-peer-ip=2002:7f00:0:0:0:0:0:0-2002:7fff:ffff:ffff:ffff:ffff:ffff:ffff',
    );
  });

  it('is what deploy/coturn/turnserver.conf denies (regenerate the block when the table changes)', () => {
    const conf = readFileSync(join(__dirname, '../../../../deploy/coturn/turnserver.conf'), 'utf8');
    const denied = conf.split('\n').filter((l) => l.startsWith('denied-peer-ip='));
    expect(denied).toEqual(policy.coturnPeerRules());
  });
});
