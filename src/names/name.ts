import { namesError } from './codes.js';

/**
 * The grammar of names (TSMP's naming, section V: a device id is the device's name joined
 * to its owner's user id):
 *
 *   user      bob@example.com            local part: a-z 0-9 _ + -   (no dots: a dot
 *                                        separates a device label from its user)
 *   child     laptop.bob@example.com     a device or service owned by bob@example.com
 *   bare      printer, printer.office    a service name claimed by its first key
 *
 * Names are lowercase ASCII, at most 253 characters: no case folding or look-alike
 * characters for the server to get wrong.
 */
export type ParsedName =
  | { form: 'user'; name: string }
  | { form: 'child'; name: string; label: string; user: string }
  | { form: 'bare'; name: string };

export const MAX_NAME_LENGTH = 253;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const LOCAL = /^[a-z0-9_+-]{1,64}$/;

function bad(name: string, why: string): never {
  throw namesError('ROAM_NAMES_BAD_NAME', `"${name.slice(0, 80)}" is not a valid name: ${why}`);
}

function checkDomain(name: string, domain: string): void {
  if (!domain) bad(name, 'nothing after "@"');
  for (const label of domain.split('.'))
    if (!LABEL.test(label))
      bad(name, `"${label}" is not a DNS label (a-z, 0-9 and inner "-", 1 to 63 characters)`);
}

export function parseName(name: string): ParsedName {
  if (name.length === 0) bad(name, 'it is empty');
  if (name.length > MAX_NAME_LENGTH) bad(name, `it is longer than ${MAX_NAME_LENGTH} characters`);
  if (name !== name.toLowerCase()) bad(name, `names are lowercase: use "${name.toLowerCase()}"`);
  const at = name.indexOf('@');
  if (at < 0) {
    checkDomain(name, name);
    return { form: 'bare', name };
  }
  if (name.indexOf('@', at + 1) >= 0) bad(name, 'more than one "@"');
  const left = name.slice(0, at);
  const domain = name.slice(at + 1);
  checkDomain(name, domain);
  const dot = left.indexOf('.');
  const local = dot < 0 ? left : left.slice(dot + 1);
  if (!LOCAL.test(local))
    bad(name, `the user part "${local}" may hold only a-z, 0-9, "_", "+" and "-" (1 to 64)`);
  if (dot < 0) return { form: 'user', name };
  const label = left.slice(0, dot);
  if (!LABEL.test(label))
    bad(name, `the device label "${label}" is not a DNS label (a-z, 0-9 and inner "-")`);
  return { form: 'child', name, label, user: `${local}@${domain}` };
}

/** The user a name belongs to: itself for users and bare names, the parent for children. */
export function ownerOf(parsed: ParsedName): string {
  return parsed.form === 'child' ? parsed.user : parsed.name;
}
