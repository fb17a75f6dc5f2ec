/** Where a webhook may point (src/webhooks/url.ts): https on a public host, in every notation an attacker might try. */
import { describe, expect, it } from "vitest";
import { checkWebhookUrl, parseHost, parseIpv4, parseIpv6 } from "../../../src/webhooks/url";

const refused = (url: string, devMode = false) => expect(checkWebhookUrl(url, devMode).ok, `${url} (dev ${devMode})`).toBe(false);
const accepted = (url: string, devMode = false) => expect(checkWebhookUrl(url, devMode), `${url} (dev ${devMode})`).toMatchObject({ ok: true });

/** Loopback, in the notations the attacker used and a few more. */
const LOOPBACK = [
  "https://127.0.0.1/",
  "https://127.1/",
  "https://2130706433/",
  "https://0x7f000001/",
  "https://0x7f.0.0.1/",
  "https://0177.0.0.1/",
  "https://017700000001/",
  "https://127.255.255.254:8443/x",
  "https://[::1]/",
  "https://[0:0:0:0:0:0:0:1]/",
  "https://[::ffff:7f00:1]/",
  "https://[::ffff:127.0.0.1]/",
  "https://localhost/",
  "https://LOCALHOST./",
  "https://api.localhost/",
  "https://[::127.0.0.1]/",
];

/** Every other internal address or name. */
const OTHER_INTERNAL = [
  // metadata and link-local
  "https://169.254.169.254/latest/meta-data/",
  "https://2852039166/",
  "https://0xa9fea9fe/",
  "https://0251.0376.0251.0376/",
  "https://[::ffff:169.254.169.254]/",
  "https://[::ffff:a9fe:a9fe]/",
  "https://[64:ff9b::169.254.169.254]/",
  "https://[fe80::1]/",
  "https://[fd00:ec2::254]/",
  "https://metadata.google.internal/computeMetadata/v1/",
  "https://metadata/",
  "https://192.0.0.192/",
  "https://100.100.100.200/",
  // private, CGNAT, unique-local, this-network, multicast, reserved
  "https://10.0.0.1/",
  "https://10.255.255.255/",
  "https://172.16.0.1/",
  "https://172.31.255.255/",
  "https://192.168.1.1/",
  "https://100.64.0.1/",
  "https://100.127.255.255/",
  "https://[fc00::1]/",
  "https://[fdff:ffff::1]/",
  "https://0.0.0.0/",
  "https://0/",
  "https://[::]/",
  "https://224.0.0.1/",
  "https://239.255.255.250/",
  "https://[ff02::1]/",
  "https://240.0.0.1/",
  "https://255.255.255.255/",
  "https://[2001:db8::1]/",
  "https://[2002:7f00:1::]/",
  // names that only resolve inside a network
  "https://printer.local/",
  "https://db.corp/",
  "https://host.internal/",
  "https://router.home.arpa/",
  "https://x.test/",
  "https://intranet/",
];

const INTERNAL = [...LOOPBACK, ...OTHER_INTERNAL];

describe("webhook url: a public https host", () => {
  it("accepts https to public names and addresses", () => {
    for (const url of [
      "https://example.com/hook",
      "https://hooks.example.net:8443/a?b=c",
      "https://8.8.8.8/",
      "https://1.1.1.1/",
      "https://172.32.0.1/",
      "https://100.128.0.1/",
      "https://169.253.255.255/",
      "https://[2606:4700:4700::1111]/",
      "https://[::ffff:8.8.8.8]/",
      "https://xn--bcher-kva.example.com/",
    ]) {
      accepted(url);
    }
    expect(checkWebhookUrl("https://0x08080808/h", false)).toEqual({ ok: true, value: "https://8.8.8.8/h" });
  });

  it("refuses loopback, private, link-local, CGNAT, unique-local, metadata, multicast and reserved hosts in every notation", () => {
    for (const url of INTERNAL) refused(url);
  });

  it("the error names the host and why", () => {
    const r = checkWebhookUrl("https://0x7f000001/", false);
    expect(r).toEqual({ ok: false, error: "a webhook url must point to a public host: 127.0.0.1 is a loopback address" });
    expect(checkWebhookUrl("https://metadata.google.internal/", false)).toMatchObject({ ok: false, error: expect.stringContaining(".internal") });
  });

  it("DEV_MODE allows loopback (http or https) and nothing else more", () => {
    for (const url of ["http://localhost:8787/h", "http://127.0.0.1:9/h", "http://127.1/", "http://[::1]:3000/", "https://localhost/", "http://0x7f000001/"])
      accepted(url, true);
    for (const url of LOOPBACK) accepted(url, true);
    // Everything internal but loopback is still refused, and so is plain http to a public host.
    for (const url of [...OTHER_INTERNAL, "http://example.com/", "http://localhost.example.com/"]) refused(url, true);
  });

  it("only http(s), no credentials, no fragment, at most 2,048 characters", () => {
    for (const url of ["ftp://example.com/", "ws://example.com/", "javascript:alert(1)", "https://u:p@example.com/", "https://example.com/#f", "x", ""])
      refused(url);
    refused(`https://example.com/${"a".repeat(2100)}`);
  });
});

describe("address parsing", () => {
  it("IPv4 in the forms WHATWG URL and inet_aton accept", () => {
    expect(parseIpv4("127.0.0.1")).toBe(0x7f000001);
    expect(parseIpv4("127.1")).toBe(0x7f000001);
    expect(parseIpv4("127.0.1")).toBe(0x7f000001);
    expect(parseIpv4("2130706433")).toBe(0x7f000001);
    expect(parseIpv4("0x7f000001")).toBe(0x7f000001);
    expect(parseIpv4("0177.0.0.01")).toBe(0x7f000001);
    expect(parseIpv4("0x")).toBe(0);
    for (const bad of ["256.0.0.1", "1.2.3.4.5", "4294967296", "1..2", "08.0.0.1", "1.2.3.x"]) expect(parseIpv4(bad), bad).toBeUndefined();
  });

  it("IPv6 with :: and a dotted tail", () => {
    expect(parseIpv6("::1")).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
    expect(parseIpv6("::")).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(parseIpv6("::ffff:169.254.169.254")).toEqual([0, 0, 0, 0, 0, 0xffff, 0xa9fe, 0xa9fe]);
    expect(parseIpv6("2001:db8::8:800:200c:417a")).toEqual([0x2001, 0xdb8, 0, 0, 8, 0x800, 0x200c, 0x417a]);
    for (const bad of ["1::2::3", "12345::", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", ":1::", "fe80::1%eth0", "::1.2.3.256"])
      expect(parseIpv6(bad), bad).toBeUndefined();
  });

  it("a name whose last label is a number is an address or nothing", () => {
    expect(parseHost("1.2.3.4.5")).toBeUndefined();
    expect(parseHost("example.com.")).toEqual({ kind: "name", value: "example.com" });
    expect(parseHost("10.0.0.1")).toEqual({ kind: "ipv4", value: 0x0a000001 });
  });
});
