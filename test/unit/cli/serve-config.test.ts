/** serve --config: YAML or JSON with the flag names, validated; relative paths from the file's directory; one clear line per error. */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CommandError } from "../../../src/cli/command.ts";
import { loadServeConfig } from "../../../src/cli/serve-config.ts";

const dir = mkdtempSync(join(tmpdir(), "serve-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

test("every option, in YAML, with relative paths resolved from the file's directory", async () => {
  const path = file(
    "full.yaml",
    `# the site registry
addr: 0.0.0.0:5000
root: data
tls-cert: /etc/stevedore/tls.crt
tls-key: tls.key
htpasswd: htpasswd
read-only: false
no-delete: true
log-format: json
upload-ttl: 12h
admin-addr: 127.0.0.1:5001
admin-token-file: admin-token
gc:
  interval: 24h
  keep: [releases/app-7.1.tar, /srv/lists/images.txt]
  delete-untagged: true
  grace: 2h
  dry-run: false
  retention:
    keep-recent: 3
    keep-within: 30d
    tags: "7\\\\..*"
`,
  );
  expect(await loadServeConfig(path)).toEqual({
    addr: "0.0.0.0:5000",
    root: join(dir, "data"),
    "tls-cert": "/etc/stevedore/tls.crt",
    "tls-key": join(dir, "tls.key"),
    htpasswd: join(dir, "htpasswd"),
    "read-only": false,
    "no-delete": true,
    "log-format": "json",
    "upload-ttl": "12h",
    "admin-addr": "127.0.0.1:5001",
    "admin-token-file": join(dir, "admin-token"),
    gc: {
      interval: "24h",
      keep: [join(dir, "releases/app-7.1.tar"), "/srv/lists/images.txt"],
      "delete-untagged": true,
      grace: "2h",
      "dry-run": false,
      retention: { "keep-recent": 3, "keep-within": "30d", tags: "7\\..*" },
    },
  });
});

test("JSON works too, and an empty file is no options", async () => {
  expect(await loadServeConfig(file("a.json", JSON.stringify({ addr: ":5000", "read-only": true })))).toEqual({ addr: ":5000", "read-only": true });
  expect(await loadServeConfig(file("empty.yaml", "# nothing\n"))).toEqual({});
});

test.each<[string, string, RegExp]>([
  ["unknown option", "adress: 1.2.3.4:5000\n", /: \(top level\): Unrecognized key: "adress"/],
  ["wrong type", "read-only: yes please\n", /: read-only: Invalid input: expected boolean/],
  ["bad duration", "upload-ttl: forever\n", /: upload-ttl: expected a duration such as 24h/],
  ["bad log format", "log-format: xml\n", /: log-format: /],
  ["gc without interval", "gc:\n  grace: 1h\n", /: gc.interval: /],
  ["bad retention pattern", "gc:\n  interval: 1h\n  retention:\n    tags: \"(\"\n", /: gc.retention.tags: not a valid regular expression/],
  ["YAML syntax", "addr: [1, 2\nroot: x\n", /, line \d+: /],
  ["not a mapping", "- a\n- b\n", /expected object/],
])("%s: one clear line", async (_, text, message) => {
  const path = file(`bad-${text.length}.yaml`, text);
  const error = await loadServeConfig(path).catch((e) => e);
  expect(error).toBeInstanceOf(CommandError);
  expect(error.message).toContain(`config file ${JSON.stringify(path)}`);
  expect(error.message).toMatch(message);
  expect(error.message).not.toContain("\n");
});

test("a missing file says so", async () => {
  await expect(loadServeConfig(join(dir, "nope.yaml"))).rejects.toThrow(/Cannot read config file ".*nope\.yaml": no such file$/);
});

test("gc: a grace of 0 and a prefix are accepted", async () => {
  const path = file("gc0.yaml", 'gc:\n  interval: 6h\n  grace: "0"\n  prefix: site\n');
  expect(await loadServeConfig(path)).toEqual({ gc: { interval: "6h", grace: "0", prefix: "site" } });
});

test("the example config in scripts/ validates and shows every option; the unit starts serve with it", async () => {
  const root = join(import.meta.dir, "../../../scripts");
  const example = join(root, "stevedore.yaml");
  const config = await loadServeConfig(example);
  expect(config["admin-addr"]).toBe("127.0.0.1:5001");
  expect(config.gc?.interval).toBe("24h");
  const text = await Bun.file(example).text();
  const { serveConfigSchema } = await import("../../../src/cli/serve-config.ts");
  const gcShape = (serveConfigSchema.shape.gc.unwrap() as unknown as { shape: Record<string, unknown> }).shape;
  const retentionShape = ((gcShape.retention as { unwrap(): { shape: Record<string, unknown> } }).unwrap()).shape;
  for (const key of [...Object.keys(serveConfigSchema.shape), ...Object.keys(gcShape), ...Object.keys(retentionShape)]) {
    expect(text, `scripts/stevedore.yaml should show the option "${key}"`).toMatch(new RegExp(`^ *(# *)?${key}:`, "m"));
  }
  const unit = await Bun.file(join(root, "stevedore.service")).text();
  expect(unit).toMatch(/^ExecStart=\/usr\/local\/bin\/stevedore serve --addr 0\.0\.0\.0:5000 --root \/var\/lib\/stevedore --config \/etc\/stevedore\/stevedore\.yaml /m);
  for (const line of ["User=stevedore", "Restart=on-failure", "StateDirectory=stevedore", "NoNewPrivileges=yes", "ProtectSystem=strict"]) {
    expect(unit).toContain(`\n${line}\n`);
  }
});
