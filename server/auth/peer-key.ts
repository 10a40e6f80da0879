// The key a peer's limits are counted under: its IPv4 address, or the /64 network of its IPv6
// address, since one IPv6 host commonly holds a whole /64 and could take a fresh address per try.

/** The 8 groups of an IPv6 address (no zone, no embedded IPv4), or undefined when it is not one. */
function ipv6Groups(address: string): number[] | undefined {
  const halves = address.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === '') return [];
    const groups = part.split(':').map((g) => (/^[0-9a-f]{1,4}$/i.test(g) ? parseInt(g, 16) : NaN));
    return groups.some(Number.isNaN) ? undefined : groups;
  };
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  return [...head, ...new Array<number>(missing).fill(0), ...tail];
}

/**
 * `192.0.2.7` and `::ffff:192.0.2.7` -> `192.0.2.7`; `2001:db8:1:2:a:b:c:d` -> `2001:db8:1:2::/64`;
 * anything unparsable is its own key (and `unknown` when the socket had no address).
 */
export function peerKey(address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown';
  const bare = address.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(bare);
  if (mapped !== null) return mapped[1]!;
  if (!bare.includes(':')) return bare;
  const groups = ipv6Groups(bare.toLowerCase());
  if (groups === undefined) return bare;
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`;
}
