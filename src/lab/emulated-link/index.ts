export type { DirectionName } from './connection.js';
export { EmulatedLink, type LinkEvents, type LinkStats } from './link.js';
export type { EmulatedLinkOptions, HostPort } from './options.js';
