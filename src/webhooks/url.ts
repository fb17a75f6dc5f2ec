/**
 * Where a webhook may point: `https://` on a public host. Lattice makes the request, and its answer
 * (`lastResponseStatus`) goes back to the project, so an endpoint inside the operator's network (loopback,
 * private, link-local, CGNAT, unique-local, cloud metadata) would let a project probe it. Refused in every
 * notation an IP address can be written in (WHATWG URL reads `2130706433`, `0x7f000001`, `0177.0.0.1` and
 * `127.1` as 127.0.0.1; IPv4-mapped and NAT64 IPv6 addresses are judged by the IPv4 address inside), and
 * names that only resolve inside a network (`localhost`, `*.internal`, `*.local`, single labels, …).
 * With DEV_MODE "true" loopback is allowed too (`http` or `https`), for a receiver on the developer's
 * machine; nothing else more. Checked when an endpoint is created or changed and again before every
 * request (src/webhooks/consumer.ts). A name is not resolved: see docs/SECURITY.md "Known gaps". Pure.
 */
import { err, ok, type Result } from "../result";

export const MAX_URL_LENGTH = 2048;

/** Top-level or trailing labels that never name a public host (RFC 6761, RFC 8375, RFC 7686, and common private suffixes). */
const PRIVATE_SUFFIXES = [
  "localhost",
  "local",
  "internal",
  "localdomain",
  "home.arpa",
  "arpa",
  "test",
  "invalid",
  "example",
  "onion",
  "lan",
  "intranet",
  "corp",
  "home",
  "private",
];

type Host = { kind: "ipv4"; value: number } | { kind: "ipv6"; words: number[] } | { kind: "name"; value: string };

export function checkWebhookUrl(text: string, devMode: boolean): Result<string, string> {
  if (text.length > MAX_URL_LENGTH) return err(`a webhook url may be at most ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return err("the webhook url is not a valid absolute URL");
  }
  if (url.username || url.password) return err("a webhook url may not carry credentials");
  if (url.hash) return err("a webhook url may not have a #fragment");
  if (url.protocol !== "https:" && url.protocol !== "http:") return err(mustBe(devMode));
  const host = parseHost(url.hostname);
  if (!host) return err("the webhook url has no valid host");
  if (devMode && isLoopback(host)) return ok(url.href);
  if (url.protocol !== "https:") return err(mustBe(devMode));
  const why = whyNotPublic(host);
  return why ? err(`a webhook url must point to a public host: ${url.hostname} is ${why}`) : ok(url.href);
}

const mustBe = (devMode: boolean) =>
  devMode ? "a webhook url must be https:// (or http:// to localhost / a loopback address in DEV_MODE)" : "a webhook url must be https://";

/** Why the host is not public, or undefined when it is. */
export function whyNotPublic(host: Host): string | undefined {
  if (host.kind === "ipv4") return ipv4Reason(host.value);
  if (host.kind === "ipv6") return ipv6Reason(host.words);
  const name = host.value;
  if (!name.includes(".")) return "not a fully qualified domain name";
  for (const suffix of PRIVATE_SUFFIXES) if (name === suffix || name.endsWith(`.${suffix}`)) return `under .${suffix}, which is not public`;
  return undefined;
}

function isLoopback(host: Host): boolean {
  if (host.kind === "name") return host.value === "localhost" || host.value.endsWith(".localhost");
  if (host.kind === "ipv4") return host.value >>> 24 === 127;
  const embedded = embeddedIpv4(host.words);
  if (embedded !== undefined) return embedded >>> 24 === 127;
  return host.words.slice(0, 7).every((w) => w === 0) && host.words[7] === 1;
}

/** [first address, prefix length, what it is]: IANA's special-purpose IPv4 registry, plus multicast and reserved. */
const IPV4_BLOCKS: [string, number, string][] = [
  ["0.0.0.0", 8, "a 'this network' address"],
  ["10.0.0.0", 8, "a private address"],
  ["100.64.0.0", 10, "a shared (CGNAT) address"],
  ["127.0.0.0", 8, "a loopback address"],
  ["169.254.0.0", 16, "a link-local (metadata) address"],
  ["172.16.0.0", 12, "a private address"],
  ["192.0.0.0", 24, "an IETF protocol (metadata) address"],
  ["192.0.2.0", 24, "a documentation address"],
  ["192.88.99.0", 24, "a 6to4 relay address"],
  ["192.168.0.0", 16, "a private address"],
  ["198.18.0.0", 15, "a benchmarking address"],
  ["198.51.100.0", 24, "a documentation address"],
  ["203.0.113.0", 24, "a documentation address"],
  ["224.0.0.0", 4, "a multicast address"],
  ["240.0.0.0", 4, "a reserved address"],
];

const IPV4_RANGES = IPV4_BLOCKS.map(([first, bits, why]) => ({ first: parseIpv4(first)!, mask: bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0, why }));

function ipv4Reason(value: number): string | undefined {
  for (const r of IPV4_RANGES) if ((value & r.mask) >>> 0 === r.first) return r.why;
  return undefined;
}

function ipv6Reason(words: number[]): string | undefined {
  const embedded = embeddedIpv4(words);
  if (embedded !== undefined) {
    // NAT64 (64:ff9b::/96) and the local-use 64:ff9b:1::/48 reach IPv4 through a gateway; mapped and compatible forms name it.
    return ipv4Reason(embedded);
  }
  const first = words[0]!;
  if (words.every((w) => w === 0)) return "the unspecified address";
  if (words.slice(0, 7).every((w) => w === 0) && words[7] === 1) return "a loopback address";
  if ((first & 0xfe00) === 0xfc00) return "a unique-local address";
  if ((first & 0xffc0) === 0xfe80) return "a link-local address";
  if ((first & 0xffc0) === 0xfec0) return "a site-local address";
  if ((first & 0xff00) === 0xff00) return "a multicast address";
  // Global unicast is 2000::/3; inside it, documentation, 6to4, Teredo and other IETF assignments are not hosts.
  if ((first & 0xe000) !== 0x2000) return "a reserved address";
  if (first === 0x2001 && words[1] === 0x0db8) return "a documentation address";
  if ((first & 0xfff0) === 0x3ff0) return "a documentation address";
  if (first === 0x2002) return "a 6to4 address";
  if (first === 0x2001 && words[1]! < 0x0200) return "an IETF protocol address";
  return undefined;
}

/** The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d) or NAT64 (64:ff9b::a.b.c.d, 64:ff9b:1::/48) address. */
function embeddedIpv4(words: number[]): number | undefined {
  const tail = ((words[6]! << 16) | words[7]!) >>> 0;
  const zero = (from: number, to: number) => words.slice(from, to).every((w) => w === 0);
  if (zero(0, 5) && words[5] === 0xffff) return tail;
  if (zero(0, 6) && tail > 1) return tail;
  if (words[0] === 0x64 && words[1] === 0xff9b && (zero(2, 6) || words[2] === 1)) return tail;
  return undefined;
}

/** The URL's hostname as an IPv4 address, an IPv6 address, or a lower-case name without trailing dots. */
export function parseHost(hostname: string): Host | undefined {
  if (hostname.startsWith("[")) {
    const words = hostname.endsWith("]") ? parseIpv6(hostname.slice(1, -1)) : undefined;
    return words ? { kind: "ipv6", words } : undefined;
  }
  const name = hostname.toLowerCase().replace(/\.+$/, "");
  if (!name) return undefined;
  // WHATWG URL has already turned every IPv4 notation into dotted decimal; parsing them again keeps this
  // module right on its own (a name whose last label is a number is an address, or nothing).
  const last = name.slice(name.lastIndexOf(".") + 1);
  if (/^(0x[0-9a-f]*|[0-9]+)$/.test(last)) {
    const value = parseIpv4(name);
    return value === undefined ? undefined : { kind: "ipv4", value };
  }
  return { kind: "name", value: name };
}

/** An IPv4 address in any form WHATWG URL (and inet_aton) accepts: 1 to 4 parts, each decimal, octal (0…) or hex (0x…). */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length > 4 || parts.some((p) => p === "")) return undefined;
  const nums: number[] = [];
  for (const p of parts) {
    let n: number;
    if (/^0x[0-9a-f]*$/i.test(p)) n = p.length === 2 ? 0 : Number.parseInt(p.slice(2), 16);
    else if (/^0[0-7]+$/.test(p)) n = Number.parseInt(p.slice(1), 8);
    else if (/^(0|[1-9][0-9]*)$/.test(p)) n = Number(p);
    else return undefined;
    if (!Number.isSafeInteger(n)) return undefined;
    nums.push(n);
  }
  const last = nums.pop()!;
  if (nums.some((n) => n > 255) || last >= 256 ** (4 - nums.length)) return undefined;
  let value = last;
  nums.forEach((n, i) => {
    value += n * 256 ** (3 - i);
  });
  return value >>> 0;
}

/** An IPv6 address (with `::` and a trailing dotted IPv4 part) as eight 16-bit words. */
export function parseIpv6(text: string): number[] | undefined {
  if (text.includes("%")) return undefined; // a zone id names a local interface
  let s = text;
  const lastColon = s.lastIndexOf(":");
  const tail = s.slice(lastColon + 1);
  if (tail.includes(".")) {
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(tail)) return undefined;
    const b = tail.split(".").map(Number);
    if (b.some((x) => x > 255)) return undefined;
    s = `${s.slice(0, lastColon + 1)}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const parse = (part: string) => (part === "" ? [] : part.split(":").map((group) => (/^[0-9a-f]{1,4}$/i.test(group) ? Number.parseInt(group, 16) : Number.NaN)));
  const left = parse(halves[0]!);
  const right = halves.length === 2 ? parse(halves[1]!) : [];
  if ([...left, ...right].some(Number.isNaN)) return undefined;
  const explicit = left.length + right.length;
  if (halves.length === 1 ? explicit !== 8 : explicit > 7) return undefined;
  return [...left, ...new Array<number>(halves.length === 2 ? 8 - explicit : 0).fill(0), ...right];
}
