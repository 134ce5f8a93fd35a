/**
 * An incremental parser of `text/event-stream` (WHATWG HTML, "Server-sent events"), fed
 * decoded text in chunks of any size. Pure. As the standard says, an event is dispatched at
 * a blank line, `lastEventId` changes only when an event is dispatched, and a block cut off
 * by the end of the stream is discarded: so after a dropped connection `lastEventId` names
 * the last event received whole, and resuming from it neither skips nor repeats one.
 */
export interface SseEvent {
  event: string;
  data: string;
  id: string | undefined;
}

export class SseParser {
  lastEventId: string | undefined;
  retryMs: number | undefined;
  private buffer = '';
  private data: string[] = [];
  private type = '';
  private idBuffer: string | undefined;
  private sawCr = false;

  constructor(private readonly maxLineLength = 1024 * 1024) {}

  *push(chunk: string): Generator<SseEvent> {
    if (chunk === '') return;
    let text = chunk;
    // A CR at the end of the last chunk already ended a line: skip the LF of its CRLF.
    if (this.sawCr && text.startsWith('\n')) text = text.slice(1);
    this.sawCr = false;
    this.buffer += text;
    let start = 0;
    const m = /\r\n|\r|\n/g;
    for (;;) {
      m.lastIndex = start;
      const found = m.exec(this.buffer);
      if (!found) break;
      if (found[0] === '\r' && found.index === this.buffer.length - 1) this.sawCr = true;
      const line = this.buffer.slice(start, found.index);
      start = found.index + found[0].length;
      const event = this.line(line);
      if (event) yield event;
    }
    this.buffer = this.buffer.slice(start);
    if (this.buffer.length > this.maxLineLength) throw new Error('event-stream line too long');
  }

  /** The stream ended: an unfinished event is dropped. */
  reset(): void {
    this.buffer = '';
    this.data = [];
    this.type = '';
    this.idBuffer = this.lastEventId;
    this.sawCr = false;
  }

  private line(line: string): SseEvent | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.type = value;
    else if (field === 'id' && !value.includes('\0')) this.idBuffer = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
    return undefined;
  }

  private dispatch(): SseEvent | undefined {
    this.lastEventId = this.idBuffer;
    const data = this.data;
    const type = this.type;
    this.data = [];
    this.type = '';
    if (data.length === 0) return undefined;
    return { event: type || 'message', data: data.join('\n'), id: this.lastEventId };
  }
}
