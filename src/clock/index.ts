export { type Clock, systemClock, wallClock } from './clock.js';
export { ManualClock } from './manual-clock.js';
