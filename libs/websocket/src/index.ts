export { WS_CLOSE, type WsCloseCode } from './close-codes';
export { refuseUpgrade } from './upgrade-refusal';
export { isOriginAllowed } from './origin-allowlist';
export { runAt } from './run-at';
export { startHeartbeat } from './heartbeat';
export { rawBytes, rawText } from './raw-data';
export { closeAll } from './close-all';
export {
  WebSocketUpgrades,
  WebSocketUpgradesModule,
  upgradePath,
  type UpgradeHandler,
} from './websocket-upgrades';
