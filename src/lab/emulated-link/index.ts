export type { DirectionName } from './connection.js';
export type { LinkStats } from './counters.js';
export { EmulatedLink, type LinkEvents } from './link.js';
export type { EmulatedLinkOptions, HostPort } from './options.js';
