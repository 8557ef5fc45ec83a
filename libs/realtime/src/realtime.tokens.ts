/** The resolved RealtimeSettings. */
export const REALTIME_SETTINGS = Symbol('RealtimeSettings');
/** The RealtimeOperation list the gateway serves besides its own (domain libs' operations). */
export const REALTIME_OPERATIONS = Symbol('RealtimeOperations');
/** The RealtimeFeed: the ordered streams (conversations) a connection follows and resumes. */
export const REALTIME_FEED = Symbol('RealtimeFeed');
/** The RealtimePresence port (libs/presence's PresenceService). */
export const REALTIME_PRESENCE = Symbol('RealtimePresence');
/** The RealtimeTyping port (libs/presence's TypingIndicators). */
export const REALTIME_TYPING = Symbol('RealtimeTyping');
/** RealtimeChannel list: domain libs' pushes to a connection (libs/calls: call state, signals). */
export const REALTIME_CHANNELS = Symbol('RealtimeChannels');
