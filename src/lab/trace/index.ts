export { generateTrace, TRACE_KINDS, type TraceKind } from './generate.js';
export { formatTrace, parseTrace } from './parse.js';
export {
  type BandwidthTrace,
  TRACE_OPPORTUNITY_BYTES,
  traceMeanRateBps,
  validateTrace,
} from './trace.js';
