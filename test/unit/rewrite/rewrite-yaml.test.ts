/** Rewriting image references in manifests and Helm values: every kind, every form, bytes kept. */
import { describe, expect, test } from "bun:test";
import { Origins, parseImageList, RewriteError, rewriteYaml, siteRegistry } from "../../../src/rewrite/index.ts";

const site = siteRegistry("site:5000");
const DIGEST = `sha256:${"ab".repeat(32)}`;

/** Replace each `from` with its `to` in one pass (so a replacement is never replaced again). */
function replaceOnce(text: string, pairs: Record<string, string>): string {
  const keys = Object.keys(pairs).sort((a, b) => b.length - a.length);
  const pattern = new RegExp(keys.map((k) => k.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")).join("|"), "g");
  return text.replace(pattern, (m) => pairs[m]!);
}

interface Case {
  name: string;
  input: string;
  /** Each old value and its new one: the output is the input with exactly these replaced. */
  pairs: Record<string, string>;
  /** Lines (1-based) of the changes, in order. */
  lines: number[];
}

const CASES: Case[] = [
  {
    name: "Pod with init and ephemeral containers",
    input: `apiVersion: v1
kind: Pod
metadata:
  name: debug   # a pod
spec:
  initContainers:
  - name: init
    image: busybox:1.36
  containers:
  - name: app
    image: docker.io/library/nginx:1.25
    ports: [{containerPort: 80}]
  ephemeralContainers:
  - name: debugger
    image: ghcr.io/acme/debug-tools:v2
`,
    pairs: {
      "busybox:1.36": "site:5000/library/busybox:1.36",
      "docker.io/library/nginx:1.25": "site:5000/library/nginx:1.25",
      "ghcr.io/acme/debug-tools:v2": "site:5000/acme/debug-tools:v2",
    },
    lines: [8, 11, 15],
  },
  {
    name: "Deployment",
    input: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 3
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: web
          image: nginx:1.25.3-alpine
          env:
            - name: IMAGE   # not an image field: a value that only looks like one
              value: nginx:1.0
        - name: sidecar
          image: quay.io/prometheus/statsd-exporter@${DIGEST}
`,
    pairs: {
      "nginx:1.25.3-alpine": "site:5000/library/nginx:1.25.3-alpine",
      [`quay.io/prometheus/statsd-exporter@${DIGEST}`]: `site:5000/prometheus/statsd-exporter@${DIGEST}`,
    },
    lines: [15, 20],
  },
  {
    name: "StatefulSet with comments everywhere",
    input: `# The database
apiVersion: apps/v1
kind: StatefulSet   # stateful
metadata:
  name: db
spec:
  serviceName: db
  template:
    spec:
      # first the data
      containers:
      - name: postgres   # the server
        image: postgres:16.2 # pinned minor
        # trailing comment in the container
      - name: metrics
        # comment before the image
        image: quay.io/prometheuscommunity/postgres-exporter:v0.15.0
  volumeClaimTemplates: []
`,
    pairs: {
      "postgres:16.2": "site:5000/library/postgres:16.2",
      "quay.io/prometheuscommunity/postgres-exporter:v0.15.0": "site:5000/prometheuscommunity/postgres-exporter:v0.15.0",
    },
    lines: [13, 17],
  },
  {
    name: "DaemonSet in flow style",
    input: `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: node-exporter, namespace: monitoring}
spec:
  template:
    spec: {hostNetwork: true, containers: [{name: ne, image: quay.io/prometheus/node-exporter:v1.8.1, args: [--path.rootfs=/host]}, {name: proxy, image: "registry.k8s.io/kube-rbac-proxy:v0.18"}]}
`,
    pairs: {
      "quay.io/prometheus/node-exporter:v1.8.1": "site:5000/prometheus/node-exporter:v1.8.1",
      "registry.k8s.io/kube-rbac-proxy:v0.18": "site:5000/kube-rbac-proxy:v0.18",
    },
    lines: [6, 6],
  },
  {
    name: "ReplicaSet with quoted strings",
    input: `apiVersion: apps/v1
kind: ReplicaSet
spec:
  template:
    spec:
      containers:
      - name: "a"
        image: "redis:7.2"
      - name: 'b'
        image: 'bitnami/kubectl:1.29'
      - name: c
        "image": "localhost:5001/tools/probe"
`,
    pairs: {
      "redis:7.2": "site:5000/library/redis:7.2",
      "bitnami/kubectl:1.29": "site:5000/bitnami/kubectl:1.29",
      "localhost:5001/tools/probe": "site:5000/tools/probe",
    },
    lines: [8, 10, 12],
  },
  {
    name: "Job",
    input: `apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: migrate
        image: acme/migrations:2024.05
        command: ["migrate", "up"]
`,
    pairs: { "acme/migrations:2024.05": "site:5000/acme/migrations:2024.05" },
    lines: [12],
  },
  {
    name: "CronJob through its job template",
    input: `apiVersion: batch/v1
kind: CronJob
metadata:
  name: backup
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          initContainers:
          - name: wait
            image: busybox
          containers:
          - name: backup
            image: docker.io/acme/backup:3@${DIGEST}
`,
    pairs: {
      busybox: "site:5000/library/busybox",
      [`docker.io/acme/backup:3@${DIGEST}`]: `site:5000/acme/backup:3@${DIGEST}`,
    },
    lines: [13, 16],
  },
  {
    name: "many documents, a List, CRLF line endings",
    input: [
      "# header comment",
      "---",
      "apiVersion: v1",
      "kind: List",
      "items:",
      "- kind: Pod",
      "  spec:",
      "    containers:",
      "    - image: alpine:3.19",
      "---",
      "# `image:` keys are rewritten anywhere, even in a ConfigMap",
      "apiVersion: v1",
      "kind: ConfigMap",
      "data: {image: not-a-field-of-a-container}",
      "...",
      "---",
      "kind: Pod",
      "spec:",
      "  containers:",
      "  - image: gcr.io/distroless/static:nonroot",
      "",
    ].join("\r\n"),
    pairs: {
      "alpine:3.19": "site:5000/library/alpine:3.19",
      "not-a-field-of-a-container": "site:5000/library/not-a-field-of-a-container",
      "gcr.io/distroless/static:nonroot": "site:5000/distroless/static:nonroot",
    },
    lines: [9, 14, 20],
  },
  {
    name: "Helm values: nested strings and repository/tag maps",
    input: `# Default values for app.
replicaCount: 1

image:
  repository: acme/app   # overridden in CI
  pullPolicy: IfNotPresent
  # Overrides the image tag whose default is the chart appVersion.
  tag: ""

controller:
  image:
    repository: registry.k8s.io/ingress-nginx/controller
    tag: "v1.10.0"
    digest: ${DIGEST}
  admissionWebhooks:
    patch:
      image:
        repository: nginx
        tag: 1.10
  extraInitContainers:
    - name: wait
      image: busybox:1.36

sidecars:
  logger: {image: fluent/fluent-bit:3.0}
`,
    pairs: {
      "acme/app": "site:5000/acme/app",
      "registry.k8s.io/ingress-nginx/controller": "site:5000/ingress-nginx/controller",
      "nginx\n": "site:5000/library/nginx\n",
      "busybox:1.36": "site:5000/library/busybox:1.36",
      "fluent/fluent-bit:3.0": "site:5000/fluent/fluent-bit:3.0",
    },
    lines: [5, 12, 18, 22, 25],
  },
  {
    name: "Bitnami values: registry, repository, tag, digest",
    input: `global:
  imageRegistry: ""
image:
  registry: docker.io
  repository: bitnami/redis
  tag: 7.2.4-debian-12-r9
  digest: ""
sentinel:
  image:
    registry: "quay.io"
    repository: 'bitnami/redis-sentinel'
    tag: 7.2.4
metrics:
  image:
    registry: docker.io
    repository: nginx
    tag: "1.26"
`,
    pairs: {
      "registry: docker.io\n  repository: bitnami/redis": "registry: site:5000\n  repository: bitnami/redis",
      '"quay.io"': '"site:5000"',
      "registry: docker.io\n    repository: nginx": "registry: site:5000\n    repository: library/nginx",
    },
    lines: [4, 10, 15, 16],
  },
];

describe("forward", () => {
  for (const c of CASES) {
    test(c.name, () => {
      const result = rewriteYaml(c.input, "in.yaml", { site });
      expect(result.text).toBe(replaceOnce(c.input, c.pairs));
      expect(result.changes.map((ch) => ch.line)).toEqual(c.lines);
      expect(result.warnings).toEqual([]);
    });
  }

  test("running twice changes nothing the second time", () => {
    for (const c of CASES) {
      const once = rewriteYaml(c.input, "in.yaml", { site }).text;
      const twice = rewriteYaml(once, "in.yaml", { site });
      expect(twice.changes).toEqual([]);
      expect(twice.text).toBe(once);
    }
  });

  test("a prefix goes in front of the path", () => {
    const input = "containers:\n- image: nginx:1.25\n- image: quay.io/x/y@" + DIGEST + "\nimage: {registry: docker.io, repository: bitnami/redis}\n";
    const result = rewriteYaml(input, "in.yaml", { site: siteRegistry("site:5000", "mirror/v7") });
    expect(result.text).toBe(
      "containers:\n- image: site:5000/mirror/v7/library/nginx:1.25\n- image: site:5000/mirror/v7/x/y@" +
        DIGEST +
        "\nimage: {registry: site:5000, repository: mirror/v7/bitnami/redis}\n",
    );
  });

  test("an empty registry field gets the site registry", () => {
    const input = "image:\n  registry:\n  repository: nginx\n  tag: \"1.25\"\n";
    expect(rewriteYaml(input, "in.yaml", { site }).text).toBe("image:\n  registry: site:5000\n  repository: library/nginx\n  tag: \"1.25\"\n");
  });

  test("values that are not references, and forms not rewritten, are warned about and kept", () => {
    const input = `containers:
- image: "{{ .Values.image }}"
- image: ""
- image: 42
- image: "nginx\\x3a1"
- image: |
    nginx:1.25
`;
    const result = rewriteYaml(input, "in.yaml", { site });
    expect(result.text).toBe(input);
    expect(result.changes).toEqual([]);
    expect(result.warnings.map((w) => w.line)).toEqual([2, 5, 6]);
    expect(result.warnings[0]!.message).toContain("not an image reference");
    expect(result.warnings[2]!.message).toContain("left unchanged");
  });

  test("anchors are rewritten where defined; aliases follow them", () => {
    const input = "base: &img nginx:1.25\ncontainers:\n- image: *img\n- image: &other redis\n";
    expect(rewriteYaml(input, "in.yaml", { site }).text).toBe(
      "base: &img nginx:1.25\ncontainers:\n- image: *img\n- image: &other site:5000/library/redis\n",
    );
  });

  test("a byte-order mark and an empty file are fine", () => {
    expect(rewriteYaml("\uFEFFimage: nginx\n", "in.yaml", { site }).text).toBe("\uFEFFimage: site:5000/library/nginx\n");
    expect(rewriteYaml("", "in.yaml", { site })).toEqual({ text: "", changes: [], warnings: [] });
    expect(rewriteYaml("# only a comment\n", "in.yaml", { site }).text).toBe("# only a comment\n");
  });
});

describe("reverse", () => {
  const LIST = `# what the release carried
busybox:1.36
docker.io/library/nginx:1.25
nginx:1.25.3-alpine
ghcr.io/acme/debug-tools:v2
quay.io/prometheus/statsd-exporter@${DIGEST}
postgres:16.2
quay.io/prometheuscommunity/postgres-exporter:v0.15.0
quay.io/prometheus/node-exporter:v1.8.1
registry.k8s.io/kube-rbac-proxy:v0.18
redis:7.2
bitnami/kubectl:1.29
localhost:5001/tools/probe
acme/migrations:2024.05
busybox
docker.io/acme/backup:3
alpine:3.19
not-a-field-of-a-container
gcr.io/distroless/static:nonroot
acme/app
registry.k8s.io/ingress-nginx/controller:v1.10.0
nginx:1.10
fluent/fluent-bit:3.0
docker.io/bitnami/redis:7.2.4-debian-12-r9
quay.io/bitnami/redis-sentinel:7.2.4
nginx:1.26
`;
  const origins = parseImageList(LIST, "images.txt");

  test("forward then reverse with the image list gives the original bytes", () => {
    for (const c of CASES) {
      const forward = rewriteYaml(c.input, "in.yaml", { site }).text;
      const back = rewriteYaml(forward, "in.yaml", { site, reverse: true, origins });
      expect(back.text).toBe(c.input);
      expect(back.warnings).toEqual([]);
    }
  });

  test("with a prefix, round trip too", () => {
    const prefixed = siteRegistry("site:5000", "mirror");
    for (const c of CASES) {
      const forward = rewriteYaml(c.input, "in.yaml", { site: prefixed }).text;
      expect(rewriteYaml(forward, "in.yaml", { site: prefixed, reverse: true, origins }).text).toBe(c.input);
    }
  });

  test("without a list: docker.io, written short as docker prints it", () => {
    const input = `containers:
- image: site:5000/library/nginx:1.25
- image: site:5000/bitnami/redis:7@${DIGEST}
- image: site:5000/prometheus/node-exporter:v1.8.1
- image: site:5000/my.org/tool:1
- image: other:5000/library/nginx:1.25
image: {registry: site:5000, repository: library/nginx, tag: "1.25"}
helm: {image: {repository: site:5000/acme/app}}
`;
    expect(rewriteYaml(input, "in.yaml", { site, reverse: true }).text).toBe(`containers:
- image: nginx:1.25
- image: bitnami/redis:7@${DIGEST}
- image: prometheus/node-exporter:v1.8.1
- image: docker.io/my.org/tool:1
- image: other:5000/library/nginx:1.25
image: {registry: docker.io, repository: nginx, tag: "1.25"}
helm: {image: {repository: acme/app}}
`);
  });

  test("forward then reverse without a list gives the original bytes for docker.io images in short form", () => {
    const input = "spec:\n  containers:\n  - image: nginx:1.25 # web\n  - image: \"bitnami/redis\"\n";
    const forward = rewriteYaml(input, "in.yaml", { site }).text;
    expect(rewriteYaml(forward, "in.yaml", { site, reverse: true }).text).toBe(input);
  });

  test("the list's written form is used: full names stay full", () => {
    const list = parseImageList("docker.io/library/nginx:1.25\nindex.docker.io/library/redis\n", "l.txt");
    const input = "a: {image: site:5000/library/nginx:1.26}\nb: {image: site:5000/library/redis:7}\n";
    expect(rewriteYaml(input, "in.yaml", { site, reverse: true, origins: list }).text).toBe(
      "a: {image: docker.io/library/nginx:1.26}\nb: {image: index.docker.io/library/redis:7}\n",
    );
  });

  test("two registries for one path: narrowed by tag, else an error naming both", () => {
    const list = parseImageList("quay.io/x/y:1\ndocker.io/x/y:2\n", "images.txt");
    const ok = rewriteYaml("image: site:5000/x/y:1\n", "in.yaml", { site, reverse: true, origins: list });
    expect(ok.text).toBe("image: quay.io/x/y:1\n");
    let error: unknown;
    try {
      rewriteYaml("# c\nimage: site:5000/x/y:3\n", "in.yaml", { site, reverse: true, origins: list });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RewriteError);
    expect((error as RewriteError).describe()).toBe(
      'in.yaml:2:8: "site:5000/x/y:3" is ambiguous: it may come from quay.io/x/y (images.txt:1) or docker.io/x/y (images.txt:2)',
    );
    const same = parseImageList("quay.io/x/y:1\ndocker.io/x/y:1\n", "images.txt");
    expect(() => rewriteYaml("image: site:5000/x/y:1\n", "in.yaml", { site, reverse: true, origins: same })).toThrow(
      "may come from quay.io/x/y (images.txt:1) or docker.io/x/y (images.txt:2)",
    );
  });

  test("an image missing from the list is an error", () => {
    const list = parseImageList("nginx:1.25\n", "images.txt");
    expect(() => rewriteYaml("image: site:5000/acme/unknown:1\n", "in.yaml", { site, reverse: true, origins: list })).toThrow(
      '"site:5000/acme/unknown:1" is not in images.txt',
    );
  });

  test("a site reference outside the prefix is warned about and kept", () => {
    const result = rewriteYaml("image: site:5000/library/nginx\n", "in.yaml", { site: siteRegistry("site:5000", "p"), reverse: true });
    expect(result.text).toBe("image: site:5000/library/nginx\n");
    expect(result.warnings).toHaveLength(1);
  });
});

describe("malformed input", () => {
  test("bad YAML is an error with file, line and column", () => {
    const input = "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: nginx\n   name: [unclosed\n";
    let error: unknown;
    try {
      rewriteYaml(input, "pod.yaml", { site });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RewriteError);
    expect((error as RewriteError).source).toBe("pod.yaml");
    expect((error as RewriteError).line).toBe(6);
    expect((error as RewriteError).describe()).toMatch(/^pod\.yaml:6:\d+: invalid YAML: /);
  });

  test("an error in a later document is reported at its line", () => {
    const input = "a: 1\n---\nb: 2\n---\nc: [\n";
    expect(() => rewriteYaml(input, "x.yaml", { site })).toThrow(RewriteError);
    try {
      rewriteYaml(input, "x.yaml", { site });
    } catch (e) {
      expect((e as RewriteError).line).toBeGreaterThanOrEqual(5);
    }
  });

  test("an invalid list entry names its line", () => {
    expect(() => parseImageList("nginx\n\nNot Valid!\n", "images.txt")).toThrow("images.txt:3: ");
  });

  test("the registry and prefix are validated", () => {
    expect(() => siteRegistry("not a host")).toThrow("Invalid registry");
    expect(() => siteRegistry("site:5000", "Upper")).toThrow("Invalid prefix");
    expect(siteRegistry("docker://site:5000/", "/p/")).toEqual({ registry: "site:5000", prefix: "p" });
  });
});

test("origins count what they hold", () => {
  const o = new Origins("x");
  o.add("nginx", "x:1");
  o.add("quay.io/a/b:1", "x:2");
  expect(o.size).toBe(2);
});
